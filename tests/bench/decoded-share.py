#!/usr/bin/python3
"""tests/bench/decoded-share.py: how much of a real service's heap is decoded.

    tests/bench/decoded-share.py [--tool PATH] [--python PATH] [SERVICE ...]

Starts each service (default: all) under --python (default Debian's
/usr/bin/python3.11, whose python3-flask, python3-aiohttp, python3-sqlalchemy
and python3-django packages the framework services import), waits for it to
say it is serving (a byte on a pipe), attaches with `pyleak-attach PID --json`
and prints the decoded share of tracked objects (JSON "coverage") and the
types left opaque, most frequent first.  Services:

  stdlib      asyncio TCP server and clients, tasks that kept exceptions,
              worker threads on a queue, thread locals, contextvars, files
              and in-memory io, itertools pipelines, logging
  flask       a Flask app served by werkzeug in a thread, requests made
  aiohttp     an aiohttp web app on its own loop thread, ClientSession requests
  sqlalchemy  an ORM on in-memory SQLite with a session and queries
  django      a configured Django project (auth, contenttypes, sessions) on
              in-memory SQLite with requests through the test client

The issue's target is a decoded share of at least 99.9 %.  A service whose
framework is not installed is reported as skipped.  Figures only.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

COMMON = r'''
import os, sys, threading
def ready():
    os.write(int(sys.argv[1]), b'R')
    threading.Event().wait()
'''

STDLIB = r'''
import asyncio, contextvars, io, itertools, logging, queue, tempfile
log = logging.getLogger('svc')
request_id = contextvars.ContextVar('request_id', default=None)
local = threading.local()
failures = []
files = [tempfile.TemporaryFile('w+'), io.BytesIO(b'x' * 100), io.StringIO('y')]

async def handle(reader, writer):
    request_id.set(id(writer))
    data = await reader.readline()
    writer.write(data)
    await writer.drain()

async def fail(n):
    raise RuntimeError('job %d failed' % n)

async def main(started):
    server = await asyncio.start_server(handle, '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    conns = []
    for i in range(20):
        r, w = await asyncio.open_connection('127.0.0.1', port)
        w.write(b'hello\n')
        await r.readline()
        conns.append((r, w))
    tasks = [asyncio.ensure_future(fail(n)) for n in range(50)]
    await asyncio.gather(*tasks, return_exceptions=True)
    failures.extend(tasks)
    started.set()
    await asyncio.Event().wait()

def worker(q):
    local.name = threading.current_thread().name
    pipeline = itertools.islice(itertools.chain.from_iterable(iter(q.get, None)), 10)
    for item in pipeline:
        pass

q = queue.Queue()
workers = [threading.Thread(target=worker, args=(q,), daemon=True) for _ in range(4)]
for t in workers:
    t.start()
started = threading.Event()
threading.Thread(target=lambda: asyncio.run(main(started)), daemon=True).start()
started.wait()
ready()
'''

FLASK = r'''
from flask import Flask, jsonify, request
from werkzeug.serving import make_server
import urllib.request
app = Flask('svc')
cache = {}
@app.route('/item/<int:n>')
def item(n):
    cache[n] = {'n': n, 'args': dict(request.args)}
    return jsonify(cache[n])
srv = make_server('127.0.0.1', 0, app, threaded=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
for i in range(50):
    urllib.request.urlopen('http://127.0.0.1:%d/item/%d?x=1' % (srv.server_port, i)).read()
ready()
'''

AIOHTTP = r'''
import asyncio
from aiohttp import web, ClientSession
started = threading.Event()
errors = []
async def hello(req):
    return web.json_response({'path': req.path})
async def boom(req):
    raise ValueError('boom')
async def main():
    app = web.Application()
    app.router.add_get('/hello', hello)
    app.router.add_get('/boom', boom)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with ClientSession() as s:
        for i in range(30):
            async with s.get('http://127.0.0.1:%d/hello' % port) as r:
                await r.read()
        tasks = [asyncio.ensure_future(s.get('http://127.0.0.1:%d/boom' % port)) for _ in range(10)]
        await asyncio.gather(*tasks, return_exceptions=True)
        errors.extend(tasks)
        started.set()
        await asyncio.Event().wait()
threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
started.wait()
ready()
'''

SQLALCHEMY = r'''
from sqlalchemy import create_engine, Column, Integer, String, ForeignKey
from sqlalchemy.orm import declarative_base, relationship, Session
Base = declarative_base()
class User(Base):
    __tablename__ = 'users'
    id = Column(Integer, primary_key=True)
    name = Column(String)
    posts = relationship('Post', back_populates='user')
class Post(Base):
    __tablename__ = 'posts'
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey('users.id'))
    user = relationship('User', back_populates='posts')
engine = create_engine('sqlite://')
Base.metadata.create_all(engine)
session = Session(engine)
for i in range(100):
    u = User(name='u%d' % i)
    u.posts = [Post() for _ in range(3)]
    session.add(u)
session.commit()
users = session.query(User).all()
posts = [p for u in users for p in u.posts]
ready()
'''

DJANGO = r'''
import django
from django.conf import settings
settings.configure(
    DEBUG=False, SECRET_KEY='x', ROOT_URLCONF=__name__, ALLOWED_HOSTS=['*'],
    INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth',
                    'django.contrib.sessions'],
    MIDDLEWARE=['django.contrib.sessions.middleware.SessionMiddleware',
                'django.middleware.common.CommonMiddleware',
                'django.contrib.auth.middleware.AuthenticationMiddleware'],
    DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}})
django.setup()
from django.http import JsonResponse
from django.urls import path
from django.core.management import call_command
from django.test import Client
def view(request, n):
    return JsonResponse({'n': n})
urlpatterns = [path('item/<int:n>', view)]
call_command('migrate', verbosity=0)
from django.contrib.auth.models import User
for i in range(20):
    User.objects.create(username='u%d' % i)
c = Client()
for i in range(50):
    c.get('/item/%d' % i)
ready()
'''

SERVICES = {'stdlib': (STDLIB, None), 'flask': (FLASK, 'flask'),
            'aiohttp': (AIOHTTP, 'aiohttp'), 'sqlalchemy': (SQLALCHEMY, 'sqlalchemy'),
            'django': (DJANGO, 'django')}


def has_module(python, mod):
    return subprocess.run([python, '-c', 'import ' + mod], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def measure(tool, python, name, code, tmp):
    r, w = os.pipe()
    src = os.path.join(tmp, 'svc_' + name + '.py')
    with open(src, 'w') as f:
        f.write(COMMON + code)
    p = subprocess.Popen([python, src, str(w)], pass_fds=(w,), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    os.close(w)
    try:
        if os.read(r, 1) != b'R':
            return 'service did not start: ' + p.stderr.read().decode(errors='replace')[-500:]
        out = os.path.join(tmp, name + '.json')
        res = subprocess.run([tool, str(p.pid), '--json', out], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        if res.returncode not in (0, 1):
            return 'pyleak-attach failed: ' + res.stderr.decode(errors='replace')[-500:]
        with open(out) as f:
            rep = json.load(f)
    finally:
        os.close(r)
        p.kill()
        p.wait()
    cov = rep.get('coverage') or {}
    tracked, decoded = cov.get('tracked', 0), cov.get('decoded', 0)
    opaque = sorted((cov.get('opaque_types') or {}).items(), key=lambda kv: -kv[1])
    return '%-10s %s: %d of %d tracked objects decoded = %.3f %% (layout %s); opaque: %s' % (
        name, rep.get('python', {}).get('version', '?'), decoded, tracked,
        100.0 * decoded / tracked if tracked else 0.0,
        rep.get('python', {}).get('layout_source', '?'),
        ', '.join('%s x%d' % kv for kv in opaque) or 'none')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tool', default=os.path.join(ROOT, 'build', 'ui', 'pyleak-attach'))
    ap.add_argument('--python', default='/usr/bin/python3.11')
    ap.add_argument('services', nargs='*', choices=sorted(SERVICES) + [[]], default=[])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix='pyleak-share-') as tmp:
        for name in a.services or sorted(SERVICES):
            code, mod = SERVICES[name]
            if mod and not has_module(a.python, mod):
                print('%-10s skipped: %s does not import %s (Debian: apt install python3-%s)' % (
                    name, a.python, mod, mod))
                continue
            print(measure(a.tool, a.python, name, code, tmp), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
