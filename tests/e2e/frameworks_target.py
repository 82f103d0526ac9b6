"""Framework services with one known leak owner each, for
tests/e2e/test_frameworks.py.

    python3 frameworks_target.py SCENARIO READY_FD

Scenarios (the framework each one runs on):

  flask_cache      Flask: a view stores every page it renders in a
                   module-global cache, __main__._page_cache
  sqla_listeners   SQLAlchemy: a listener per request added to the engine's
                   before_cursor_execute event and never removed
  aiohttp_tasks    aiohttp: a handler starts background tasks that fail; the
                   app keeps them, each holding its exception and traceback
  django_lru       Django: a view calls a functools.lru_cache'd method
  flask_threads    Flask: a view starts a worker thread that never stops
  django_garbage   Django: model instances in reference cycles, collected
                   under gc.DEBUG_SAVEALL into gc.garbage

Each builds its service, leaks N units through the framework, then writes
one JSON line to READY_FD: the owner's path, its id(), and what the
interpreter itself measures of the leak (see measure()).  Then it reads
commands from stdin, one a line: "grow K" leaks K more units and answers
with a new JSON line on stdout; EOF ends it.  The framework a scenario
needs is missing: the line is {"missing": "python3-flask"}.
"""
import functools
import gc
import json
import os
import sys
import threading

N = 400

# What the scenario leaks into; module globals so that the paths are fixed.
_page_cache = {}
app = engine = None
_state = {}


def reachable_size(root, stop):
    """sys.getsizeof() summed over everything reachable from root through
    gc.get_referents(), not crossing the objects in stop (by id).  The
    retained size of root can be no larger."""
    seen = set(stop)
    todo = [root]
    total = count = 0
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        count += 1
        todo.extend(gc.get_referents(o))
    return total, count


def framework_stop():
    """Objects that every service shares and no leak owns: modules, types,
    the modules' dicts.  The reachable-size bound does not cross them."""
    stop = set()
    for m in list(sys.modules.values()):
        stop.add(id(m))
        d = getattr(m, '__dict__', None)
        if d is not None:
            stop.add(id(d))
    for o in gc.get_objects():
        if isinstance(o, type):
            stop.add(id(o))
    return stop


def missing(pkg):
    return {'missing': pkg}


# -- flask_cache ----------------------------------------------------------

def flask_cache_setup():
    try:
        from flask import Flask, jsonify
    except ImportError:
        return None
    global app
    app = Flask('svc')

    @app.route('/page/<int:n>')
    def page(n):
        body = {'n': n, 'body': 'p%d-' % n + 'x' * 200,
                'links': ['/page/%d' % i for i in range(4)]}
        _page_cache['/page/%d' % n] = body
        return jsonify(n=n)

    client = app.test_client()
    _state['next'] = 0

    def grow(k):
        for _ in range(k):
            n = _state['next']
            _state['next'] += 1
            assert client.get('/page/%d' % n).status_code == 200
        return len(_page_cache)
    # each entry: the page dict, its body str, its links list and their 4
    # strs (a str-keyed dict does not visit its keys)
    return grow, lambda: _page_cache, '__main__._page_cache', lambda: [
        o for v in _page_cache.values() for o in [v, v['body'], v['links']] + v['links']]


# -- sqla_listeners --------------------------------------------------------

def sqla_listeners_setup():
    try:
        from sqlalchemy import create_engine, event, text
    except ImportError:
        return None
    global engine
    engine = create_engine('sqlite://')
    made = []

    def grow(k):
        for _ in range(k):
            # a per-request audit hook that holds the request's payload:
            # registered on every request, never removed
            payload = ['q%d' % len(made) + 'x' * 100] * 4

            def audit(conn, cursor, statement, params, context, executemany, payload=payload):
                return len(payload)
            event.listen(engine, 'before_cursor_execute', audit)
            made.append(None)
        with engine.connect() as c:
            c.execute(text('select 1'))
        return len(made)

    def owner():
        return engine.dispatch.before_cursor_execute.listeners
    def exclusive():
        # each listener: SQLAlchemy's wrapper, its closure and cell, the
        # audit function in it, its defaults and the payload they hold
        out = []
        for f in owner():
            cells = [c for c in (f.__closure__ or ()) if getattr(c.cell_contents, '__name__',
                                                                 '') == 'audit']
            for c in cells:
                a = c.cell_contents
                out += [f, f.__closure__, c, a, a.__defaults__, a.__defaults__[0],
                        a.__defaults__[0][0]]
        return out
    return grow, owner, '__main__.engine.dispatch.before_cursor_execute.listeners', exclusive


# -- aiohttp_tasks ---------------------------------------------------------

def aiohttp_tasks_setup():
    try:
        import asyncio
        from aiohttp import web, ClientSession
    except ImportError:
        return None
    global app
    started = threading.Event()
    loop_box = {}

    async def job(n):
        blob = ['job%d' % n + 'e' * 100] * 3
        raise RuntimeError('background job %d failed' % n, blob)

    async def handler(req):
        t = asyncio.ensure_future(job(len(req.app['failed'])))
        req.app['failed'].append(t)
        await asyncio.gather(t, return_exceptions=True)
        return web.json_response({'n': len(req.app['failed'])})

    async def serve():
        global app
        app = web.Application()
        app['failed'] = []
        app.router.add_get('/job', handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, '127.0.0.1', 0)
        await site.start()
        loop_box['port'] = site._server.sockets[0].getsockname()[1]
        loop_box['loop'] = asyncio.get_running_loop()
        loop_box['session'] = ClientSession()
        started.set()
        await asyncio.Event().wait()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    started.wait()

    async def requests(k):
        for _ in range(k):
            async with loop_box['session'].get('http://127.0.0.1:%d/job' % loop_box['port']) as r:
                await r.read()

    def grow(k):
        asyncio.run_coroutine_threadsafe(requests(k), loop_box['loop']).result()
        return len(app['failed'])

    def exclusive():
        # each task, the exception it keeps, its args and payload, and the
        # traceback's entries
        out = []
        for t in app['failed']:
            e = t.exception()
            out += [t, e, e.args, e.args[1], e.args[1][0]]
            tb = e.__traceback__
            while tb is not None:
                out.append(tb)
                tb = tb.tb_next
        return out
    return grow, lambda: app['failed'], "__main__.app._state['failed']", exclusive


# -- django_lru ------------------------------------------------------------

def django_setup():
    try:
        import django
        from django.conf import settings
    except ImportError:
        return None
    settings.configure(
        DEBUG=False, SECRET_KEY='x', ROOT_URLCONF=__name__, ALLOWED_HOSTS=['*'],
        INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth'],
        MIDDLEWARE=['django.middleware.common.CommonMiddleware'],
        DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}})
    django.setup()
    return django


urlpatterns = []


class Catalog:
    @functools.lru_cache(maxsize=None)
    def render(self, n):
        return {'n': n, 'html': '<p>%d</p>' % n + 'x' * 200, 'tags': ['t%d' % n] * 4}


catalog = Catalog()


def django_lru_setup():
    if not django_setup():
        return None
    from django.http import JsonResponse
    from django.urls import path
    from django.test import Client

    def view(request, n):
        return JsonResponse({'len': len(catalog.render(n)['html'])})
    urlpatterns.append(path('item/<int:n>', view))
    client = Client()
    _state['next'] = 0

    def grow(k):
        for _ in range(k):
            assert client.get('/item/%d' % _state['next']).status_code == 200
            _state['next'] += 1
        return Catalog.render.cache_info().currsize

    def owner():
        # the wrapper's cache: the dict its own tp_traverse visits
        return [o for o in gc.get_referents(Catalog.__dict__['render'])
                if type(o) is dict and len(o) == Catalog.render.cache_info().currsize][0]

    def exclusive():
        # each entry: its key tuple, the result dict, its html str, tags
        # list and tag str
        return [o for k, v in owner().items()
                for o in (k, v, v['html'], v['tags'], v['tags'][0])]
    return grow, owner, '__main__.Catalog.render', exclusive


# -- flask_threads ---------------------------------------------------------

class Worker(threading.Thread):
    def __init__(self, ev, n):
        super().__init__(daemon=True, name='worker-%d' % n)
        self.ev = ev
        self.buf = ['w%d-%d' % (n, i) + 'x' * 40 for i in range(50)]

    def run(self):
        self.ev.wait()


def flask_threads_setup():
    try:
        from flask import Flask, jsonify
    except ImportError:
        return None
    global app
    app = Flask('svc')
    ev = threading.Event()
    workers = []

    @app.route('/start')
    def start():
        w = Worker(ev, len(workers))
        w.start()
        workers.append(None)
        return jsonify(n=len(workers))

    client = app.test_client()

    def grow(k):
        for _ in range(k):
            assert client.get('/start').status_code == 200
        return len(workers)

    def exclusive():
        # each worker's buffer list and its strs
        return [o for t in threading._active.values() if isinstance(t, Worker)
                for o in [t.buf] + t.buf]
    return grow, lambda: threading._active, 'threading._active', exclusive


# -- django_garbage --------------------------------------------------------

def django_garbage_setup():
    if not django_setup():
        return None
    from django.contrib.auth.models import User
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    made = []

    def grow(k):
        for i in range(k):
            n = len(made)
            a = User(username='a%d' % n, first_name='f%d' % n + 'f' * 100)
            b = User(username='b%d' % n, first_name='g%d' % n + 'g' * 100)
            a.peer, b.peer = b, a
            made.append(None)
        del a, b
        gc.collect()
        return len(made)

    def exclusive():
        # each user, its model state, names
        return [o for u in gc.garbage if isinstance(u, User)
                for o in (u, u._state, u.username, u.first_name)]
    return grow, lambda: gc.garbage, 'gc.garbage', exclusive


SCENARIOS = {
    'flask_cache': ('python3-flask', flask_cache_setup),
    'sqla_listeners': ('python3-sqlalchemy', sqla_listeners_setup),
    'aiohttp_tasks': ('python3-aiohttp', aiohttp_tasks_setup),
    'django_lru': ('python3-django', django_lru_setup),
    'flask_threads': ('python3-flask', flask_threads_setup),
    'django_garbage': ('python3-django', django_garbage_setup),
}


def measure(owner, units, exclusive):
    """The interpreter's view of the leak: its units; the objects the
    target created for the leak alone, which nothing else refers to (a
    floor for the owner's retained objects and bytes); everything
    gc.get_referents() reaches from the owner short of modules and types
    (a ceiling)."""
    gc.collect()
    o = owner()
    mine = {id(x): x for x in exclusive()}
    reach, reach_n = reachable_size(o, framework_stop())
    return {'id': id(o), 'units': units, 'len': len(o),
            'exclusive': sum(sys.getsizeof(x) for x in mine.values()),
            'min_objects': len(mine), 'reachable': reach, 'reachable_objects': reach_n}


def main(scenario, fd):
    pkg, setup = SCENARIOS[scenario]
    got = setup()
    if got is None:
        os.write(fd, (json.dumps(missing(pkg)) + '\n').encode())
        return
    grow, owner, path, exclusive = got
    units = grow(N)
    info = measure(owner, units, exclusive)
    info['owner'] = path
    os.write(fd, (json.dumps(info) + '\n').encode())
    os.close(fd)
    for line in sys.stdin:
        cmd = line.split()
        if cmd and cmd[0] == 'grow':
            units = grow(int(cmd[1]))
            info = measure(owner, units, exclusive)
            info['owner'] = path
            print(json.dumps(info), flush=True)


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
