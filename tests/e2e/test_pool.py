#!/usr/bin/env python3
"""Worker pools and the progress line (TAP), stdlib only.

    test_pool.py --tool PATH pool [--python 3.12]
    test_pool.py --tool PATH progress [--python 3.12]

pool: a pool master (os.fork of a pyenv CPython) with 3 workers and one
non-Python child (cat); worker 1 leaks a known number of objects.  Every
worker answers over a pipe with its pid and its own count of tracked
objects (len(gc.get_objects()) + gc.get_freeze_count(): the tool counts
the permanent generation too).  Checked: --children finds exactly the
master's workers (the cat is left out), each worker's objects equal its
own count, the diverging worker is the leaking one (text and JSON), one
dump per worker (--dump DIR/) that reopens with the same count and merges
with SQLite's ATTACH as the README shows, growth against the pool's
baseline dumps names the leaker with the exact number of objects it
added, PID PID... with one PID that is no CPython reports that worker's
error, reads the others and exits 2, the refusals of a pool's bad
options (exit 64), and that every worker still runs and answers
afterwards.

progress: a target with a million tracked objects; with stderr on a
pseudo-terminal the tool draws its progress line (phase, objects/s);
with stderr a pipe, and with -q on the terminal, it draws none.

Readiness and every step go through pipes; nothing sleeps to wait.
"""
import argparse
import fcntl
import json
import os
import pty
import re
import select
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_e2e import Tap, pyenv_pythons, run_tool, check_sanitizer, tail  # noqa: E402

LEAK = 60000           # dicts, each with a list: 2 tracked objects apiece
LEAK_MORE = 20000
LEAKER = 1

MASTER = textwrap.dedent('''
    import gc, json, os, subprocess, sys

    _leak = []
    _cache = {('k%d' % i): [i] for i in range(500)}

    def worker(rfd, wfd):
        # no collection may untrack anything between a count and a snapshot
        gc.collect()
        gc.disable()
        while True:
            cmd = os.read(rfd, 200)
            if not cmd:
                os._exit(0)
            parts = cmd.split()
            if parts[0] == b'leak':
                for i in range(int(parts[1])):
                    _leak.append({'i': i, 'v': [i]})
            n = len(gc.get_objects()) + gc.get_freeze_count()
            os.write(wfd, b'%d %d\\n' % (os.getpid(), n))

    def main():
        workers = []
        for idx in range(int(sys.argv[1])):
            a_r, a_w = os.pipe()
            b_r, b_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(a_w)
                os.close(b_r)
                worker(a_r, b_w)
            os.close(a_r)
            os.close(b_w)
            workers.append((pid, a_w, os.fdopen(b_r, 'rb', buffering=0)))
        helper = subprocess.Popen(['cat'], stdin=subprocess.PIPE)

        def ask(i, cmd):
            pid, w, r = workers[i]
            os.write(w, cmd.encode())
            line = r.readline().split()
            return {str(int(line[0])): int(line[1])}

        for line in sys.stdin:
            cmd = line.split()
            if cmd[0] == 'pids':
                out = {'workers': [w[0] for w in workers], 'helper': helper.pid}
            elif cmd[0] == 'count':
                out = {}
                for i in range(len(workers)):
                    out.update(ask(i, 'count'))
            elif cmd[0] == 'leak':
                out = ask(int(cmd[1]), 'leak %s' % cmd[2])
            print(json.dumps(out), flush=True)
        helper.stdin.close()
        helper.wait()

    main()
''')


class Master:
    def __init__(self, py, n):
        self.p = subprocess.Popen([py, '-c', MASTER, str(n)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.pid = self.p.pid

    def cmd(self, *words):
        self.p.stdin.write(' '.join(str(w) for w in words) + '\n')
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        return json.loads(line) if line else None

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait(timeout=120)


def run(tool, *args):
    rc, out, err, _ = run_tool(tool, list(args))
    return rc, out, err


def workers_of(rep):
    return {str(w['pid']): w for w in rep['pool']['workers']}


def check_pool_report(tap, what, rep, pids, counts, leaker):
    ws = workers_of(rep)
    tap.ok(sorted(ws) == sorted(pids) and len(rep['pool']['workers']) == len(pids),
           '%s: the pool is exactly the master\'s workers' % what,
           ['tool %r, master %r' % (sorted(ws), sorted(pids))])
    bad = {p: (ws.get(p, {}).get('objects'), counts[p]) for p in pids
           if ws.get(p, {}).get('objects') != counts[p]}
    tap.ok(not bad, '%s: each worker\'s objects = len(gc.get_objects()) + '
           'gc.get_freeze_count() as the worker reports it' % what,
           ['pid: (tool, worker) %r' % bad])
    rbad = {p: w.get('report', {}).get('pid') for p, w in ws.items()
            if not w.get('report') or str(w['report'].get('pid')) != p or
            sum(g['objects'] for g in w['report'].get('generations', [])) != w['objects']}
    tap.ok(not rbad, '%s: each worker carries its own full report (its pid, generations '
           'summing to its objects)' % what, ['%r' % rbad])
    div = [str(d['pid']) for d in rep['pool']['diverging']]
    tap.ok(div == [leaker], '%s: the diverging worker is the leaking one (%s)' % (what, leaker),
           ['diverging %r' % rep['pool']['diverging'], 'median %r' % rep['pool']['median']])
    top = [s['path'] for s in ws.get(leaker, {}).get('suspects', [])[:1]]
    tap.ok(top == ['__main__._leak'], '%s: the leaker\'s top suspect is __main__._leak' % what,
           ['%r' % ws.get(leaker, {}).get('suspects')])


def check_alive(tap, what, m, pids, before):
    now = m.cmd('count')
    tap.ok(now is not None and sorted(now) == sorted(pids) and now == before,
           '%s: every worker still runs and answers over its pipe, its objects unchanged' % what,
           ['now %r, before %r' % (now, before)])


MERGE_SQL = '''
create temp view fleet as
  select (select value from main.meta where key = 'host') as host,
         (select value from main.meta where key = 'pid') as pid, * from main.v_objects
  union all
  select (select value from w2.meta where key = 'host'),
         (select value from w2.meta where key = 'pid'), * from w2.v_objects;
'''


def check_merge(tap, dumps, pids, ws):
    """The README's recipe: one dump opened, another ATTACHed, one view."""
    a, b = dumps
    try:
        db = sqlite3.connect('file:%s?mode=ro' % a, uri=True)
        db.execute("attach ? as w2", ('file:%s?mode=ro' % b,))
        db.executescript(MERGE_SQL)
        rows = db.execute("select pid, sum(gen != 'untracked') from fleet "
                          "group by host, pid").fetchall()
        db.close()
    except sqlite3.Error as e:
        rows = ['error: %s' % e]
    want = sorted((int(p), ws[p]['objects']) for p in pids)
    tap.ok(sorted((int(r[0]), r[1]) for r in rows if isinstance(r, tuple)) == want,
           'two dumps merged with ATTACH (README): tracked objects per pid = the pool report\'s',
           ['rows %r, want %r' % (rows, want)])


def cmd_pool(a, tap, py, tmp):
    tool = a.tool
    m = Master(py, 3)
    try:
        info = m.cmd('pids')
        pids = [str(p) for p in info['workers']]
        leaker = pids[LEAKER]
        m.cmd('leak', LEAKER, LEAK)
        counts = m.cmd('count')
        tap.note('master %d, workers %s, helper (cat) %d, counts %r' % (
            m.pid, pids, info['helper'], counts))

        ddir = os.path.join(tmp, 'base')
        os.mkdir(ddir)
        jpath, tpath = os.path.join(tmp, 'pool.json'), os.path.join(tmp, 'pool.txt')
        rc, out, err = run(tool, '--children', m.pid, '--json', jpath, '--text', tpath,
                           '--dump', ddir + '/')
        tap.ok(rc == 0, '--children MASTER --json --text --dump DIR/: exit 0',
               ['exit %r' % rc] + tail(err))
        rep = None
        if rc == 0:
            with open(jpath) as f:
                rep = json.load(f)
            check_pool_report(tap, '--children', rep, pids, counts, leaker)
            tap.ok('process %d (cat)' % info['helper'] in err and 'left out' in err,
                   'the master\'s non-Python child is left out, and said so', tail(err))
            with open(tpath) as f:
                text = f.read()
            marked = [ln.split()[0] for ln in text.splitlines() if ln.endswith('<- diverges')]
            tap.ok(marked == [leaker] and ('Diverging: worker %s:' % leaker) in text and
                   all(('==== worker %s ' % p) in text for p in pids),
                   'text: the table marks the leaker alone, says why, then each worker\'s '
                   'report', text.splitlines()[:12])
        check_alive(tap, 'after --children', m, pids, counts)

        dumps = [os.path.join(ddir, 'pyleak-attach-%s.db' % p) for p in pids]
        tap.ok(all(os.path.exists(d) for d in dumps), 'one dump per worker: DIR/pyleak-attach-PID.db',
               ['%r' % sorted(os.listdir(ddir))])
        if os.path.exists(dumps[LEAKER]):
            rc, out, err = run(tool, dumps[LEAKER], '--json', '-', '-q')
            objs = json.loads(out)['coverage']['tracked'] if rc == 0 else None
            tap.ok(objs == counts[leaker], 'the leaker\'s dump reopens with its objects',
                   ['exit %r, tracked %r, want %r' % (rc, objs, counts[leaker])] + tail(err))
        if rep and all(os.path.exists(d) for d in dumps[:2]):
            check_merge(tap, dumps[:2], pids[:2], workers_of(rep))

        # growth against the pool's baseline: only the leaker added objects
        added = m.cmd('leak', LEAKER, LEAK_MORE)
        counts2 = m.cmd('count')
        rc, out, err = run(tool, '--children', m.pid, '--baseline', ddir + '/', '--json', '-',
                           '-q')
        tap.ok(rc == 0, '--children --baseline DIR/ --json -: exit 0', ['exit %r' % rc] + tail(err))
        if rc == 0:
            rep2 = json.loads(out)
            ws = workers_of(rep2)
            grown = {p: (ws[p].get('growth') or {}).get('objects') for p in ws}
            want = {p: counts2[p] - counts[p] for p in pids}
            tap.ok(grown == want and want[leaker] == 2 * LEAK_MORE,
                   'growth since the baseline dumps = what each worker says it added',
                   ['tool %r, workers %r (leak said %r)' % (grown, want, added)])
            div = rep2['pool']['diverging']
            tap.ok([str(d['pid']) for d in div] == [leaker] and
                   'growth_objects' in [x['metric'] for x in div[0]['metrics']] and
                   ws[leaker]['growth']['owner'] == '__main__._leak',
                   'the leaker diverges by its growth too, under __main__._leak',
                   ['%r' % div, '%r' % ws[leaker].get('growth')])
        check_alive(tap, 'after --baseline', m, pids, counts2)

        check_browser(tap, tool, m, pids, leaker)
        check_alive(tap, 'after the browser', m, pids, counts2)

        # PID PID...: a PID that is no CPython is that worker's error
        cat = str(info['helper'])
        rc, out, err = run(tool, pids[0], cat, pids[2], '--json', '-', '-q')
        rep3 = json.loads(out) if out.strip() else None
        ws = workers_of(rep3) if rep3 else {}
        tap.ok(rc == 2 and ws.get(cat, {}).get('error') and
               'not a CPython process' in ws[cat]['error'] and
               ws.get(pids[0], {}).get('objects') == counts2[pids[0]] and
               ws.get(pids[2], {}).get('objects') == counts2[pids[2]] and
               ('worker %s' % cat) in err,
               'PID PID PID with one non-Python PID: its error is reported, the others are '
               'read, exit 2 (the worst)',
               ['exit %r' % rc, '%r' % {p: (w.get('objects'), w.get('error')) for p, w in ws.items()}]
               + tail(err))
        check_alive(tap, 'after PID PID PID', m, pids, counts2)

        # refused before any worker is touched
        for args, words, desc in [
                (['--children', m.pid, '--dump', os.path.join(tmp, 'one.db')], ['%p', 'DIR/'],
                 '--dump FILE without %p'),
                (['--children', m.pid, '--dump', ddir + '/'], ['already exists', '--force'],
                 '--dump DIR/ whose worker dumps exist'),
                ([pids[0], pids[1], '--watch', '1'], ['--watch takes one PID'], '--watch'),
                ([pids[0], pids[0]], ['given twice'], 'a PID given twice'),
                (['--children', m.pid, pids[0]], ['unexpected argument'], '--children and a PID'),
        ]:
            rc, out, err = run(tool, *args)
            tap.ok(rc == 64 and all(w in err for w in words),
                   'pool refused with exit 64: %s' % desc, ['exit %r' % rc] + tail(err))
        rc, out, err = run(tool, '--children', info['helper'], '--json', '-')
        tap.ok(rc == 2 and 'no CPython descendant' in err and 'hint:' in err,
               '--children of a process with no Python child: exit 2, said so', tail(err))
    finally:
        m.close()


def pty_session(tool, args, script, rows=40, cols=150, timeout=300):
    """The tool on a pseudo-terminal (stdin, stdout, stderr); script: a
    list of (text to wait for, keys to type then).  Returns (exit code,
    everything received, the steps reached)."""
    mfd, sfd = pty.openpty()
    fcntl.ioctl(sfd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    cmd = [tool] + [str(x) for x in args]
    env = dict(os.environ, TERM='xterm-256color')
    p = subprocess.Popen(cmd, stdin=sfd, stdout=sfd, stderr=sfd, env=env, close_fds=True)
    os.close(sfd)
    out, mark, step = b'', 0, 0
    while True:
        r, _, _ = select.select([mfd], [], [], timeout)
        if not r:
            break
        try:
            chunk = os.read(mfd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        while step < len(script) and script[step][0].encode() in out[mark:]:
            mark = out.index(script[step][0].encode(), mark) + len(script[step][0])
            os.write(mfd, script[step][1])
            step += 1
    if p.poll() is None:
        p.kill()
    rc = p.wait()
    os.close(mfd)
    text = out.decode('utf-8', 'replace')
    check_sanitizer(cmd, rc, text.replace('\r\n', '\n'))
    return rc, text, step


def check_browser(tap, tool, m, pids, leaker):
    """--children on a terminal: the Workers screen first, the leaker
    marked; Enter on the second worker (the leaker) browses its snapshot;
    W lists the workers again, that one marked as browsed."""
    script = [('<- diverges', b'j\r'), ('worker %s (2 of 3)' % leaker, b'W'),
              ('(browsing)', b'q')]
    rc, text, step = pty_session(tool, ['--children', m.pid, '-q'], script)
    tap.ok(rc == 0 and step == len(script),
           'browser: a pool opens on the Workers screen marking the leaker; Enter on it '
           'browses its snapshot; W lists the workers again',
           ['exit %r, reached step %d of %d' % (rc, step, len(script))] +
           [ln for ln in text.replace('\r', '\n').splitlines() if ln.strip()][-15:])


# The line is drawn at every count the walk reports, from the start: by
# default it waits a second and then ticks every 200 ms, and a fast machine
# walks a million objects inside either (ui/progress.c)
SYNC = {'PYLEAK_ATTACH_TEST_PROGRESS': 'sync'}


def run_stderr_pty(tool, args, env=None):
    """The tool with stderr on a pseudo-terminal, stdin and stdout not:
    (exit code, what the terminal received)."""
    mfd, sfd = pty.openpty()
    fcntl.ioctl(sfd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    cmd = [tool] + [str(x) for x in args]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sfd,
                         env=dict(os.environ, **(env or {})))
    os.close(sfd)
    out = b''
    while True:
        r, _, _ = select.select([mfd], [], [], 600)
        if not r:
            break
        try:
            chunk = os.read(mfd, 65536)
        except OSError:       # EIO: the slave side is closed
            break
        if not chunk:
            break
        out += chunk
    rc = p.wait()
    os.close(mfd)
    text = out.decode('utf-8', 'replace')
    check_sanitizer(cmd, rc, text.replace('\r\n', '\n'))
    return rc, text


PROGRESS_LINE = re.compile(r'(pyleak-attach: (worker \d+/\d+ \(pid \d+\): )?|(\[\d+/\d+ pid \d+\] )?)'
                           r'(stop/copy|walk|analyse|write): ')
# a walk's line, full or compact (a terminal too narrow for the full one):
# the count of the total, the rate and the estimate
WALK_COUNT = re.compile(r'walk: ([\d,]+ of [\d,]+ objects, [\d,]+ objects/s, about |'
                        r'[\d.]+[kM]?/[\d.]+[kM]?, [\d.]+[kMG]?/s, )[\d.]+ (s|min) left')

BIG = textwrap.dedent('''
    import sys
    big = [[i] for i in range(1000000)]
    print('ready', flush=True)
    sys.stdin.read()
''')


def cmd_progress(a, tap, py, tmp):
    tool = a.tool
    t = subprocess.Popen([py, '-c', BIG], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        tap.ok(t.stdout.readline().strip() == 'ready', 'a target with a million tracked objects')
        rc, text = run_stderr_pty(tool, [t.pid, '--text', '/dev/null'], SYNC)
        lines = [x for x in text.split('\r') if x.startswith(('pyleak-attach: walk: ', 'walk: '))]
        tap.ok(rc == 0 and any(WALK_COUNT.search(x) for x in lines),
               'stderr a terminal: the progress line is drawn in place (\\r) with the phase, '
               'the count, objects/s and an estimate, within 80 columns', ['exit %r; walk lines %r' % (rc, lines[-3:])] +
               tail(text.replace('\r', '\\r\n'), 12))
        drawn = [x for x in text.split('\r') if PROGRESS_LINE.match(x)]
        tap.ok(drawn and all(len(x.rstrip()) < 80 for x in drawn),
               'the progress line fits the 80 columns of the terminal',
               ['%r' % x for x in drawn if len(x.rstrip()) >= 80][:5])
        rc, out, err, _ = run_tool(tool, [t.pid, '--text', '/dev/null'],
                                   env=dict(os.environ, **SYNC))
        tap.ok(rc == 0 and '\r' not in err and 'objects/s' not in err and 'walk:' not in err,
               'stderr a pipe: no progress line, even drawn at once', ['exit %r' % rc] + tail(err))
        rc, text = run_stderr_pty(tool, [t.pid, '--text', '/dev/null', '-q'], SYNC)
        tap.ok(rc == 0 and text == '', '-q on a terminal: nothing on stderr, even drawn at once',
               ['exit %r; %r' % (rc, text[-500:])])
        # a pool of two: the second worker's walk draws its line too
        t2 = subprocess.Popen([py, '-c', BIG], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
        try:
            tap.ok(t2.stdout.readline().strip() == 'ready', 'a second such target: a pool of two')
            rc, text = run_stderr_pty(tool, [t.pid, t2.pid, '--text', '/dev/null'], SYNC)
            heads = ('pyleak-attach: worker 2/2 (pid %d): walk: ' % t2.pid,
                     '[2/2 pid %d] walk: ' % t2.pid)
            lines = [x for x in text.split('\r') if x.startswith(heads)]
            tap.ok(rc == 0 and any(WALK_COUNT.search(x) for x in lines),
                   'a pool: the line names the worker (2/2, its pid) before its phase',
                   ['exit %r; worker 2 lines %r' % (rc, lines[-3:])] +
                   tail(text.replace('\r', '\\r\n'), 12))
        finally:
            t2.stdin.close()
            t2.wait(timeout=60)
    finally:
        t.stdin.close()
        t.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', required=True)
    ap.add_argument('--python', default='3.12')
    ap.add_argument('what', choices=['pool', 'progress'])
    a = ap.parse_args()
    tap = Tap()
    pys = pyenv_pythons()
    if a.python not in pys:
        tap.ok(False, 'a pyenv CPython %s' % a.python, ['installed: %r' % sorted(pys)])
        return tap.done()
    with tempfile.TemporaryDirectory(prefix='pyleak-pool-') as tmp:
        (cmd_pool if a.what == 'pool' else cmd_progress)(a, tap, pys[a.python], tmp)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
