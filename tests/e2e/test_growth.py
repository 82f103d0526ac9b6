#!/usr/bin/env python3
"""Growth between snapshots, by owner (TAP), stdlib only.

    test_growth.py --tool PATH [--python 3.12 ...]

A service with known owners (a module-level page cache, a listener list
on an instance that main() holds in a local, and an idle cache that never
grows) is dumped, grows by a known amount on command, and is compared:

  --baseline  PID --baseline OLD.db and NEW.db --baseline OLD.db name the
              growing owners by path in the top 3 (__main__._page_cache,
              svc.listeners), with the growth the target itself reports
              (objects it added, their types), and never the idle cache;
  --watch     while a thread of the target appends without pause, the
              appending owner grew in every interval; the idle one did not.

Readiness and every step go through pipes; nothing sleeps to wait.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_e2e import Tap, pyenv_pythons  # noqa: E402

TIMEOUT = 300

TARGET = textwrap.dedent('''
    import json, sys, threading, time
    _page_cache = {}
    _idle_cache = {('idle%d' % i): [i] for i in range(50)}
    grow_list = []
    class Service:
        def __init__(self):
            self.listeners = []
    def add(svc, n):
        for _ in range(n):
            k = len(_page_cache)
            _page_cache['page%d' % k] = {'body': 'x' * 50, 'n': k}
            svc.listeners.append(lambda e, k=k: k)
    def appender(stop):
        while not stop.is_set():
            grow_list.append({'t': time.monotonic()})
            time.sleep(0.001)
    def main():
        svc = Service()
        stop = threading.Event()
        for line in sys.stdin:
            cmd = line.split()
            if cmd[0] == 'add':
                add(svc, int(cmd[1]))
            elif cmd[0] == 'start':
                threading.Thread(target=appender, args=(stop,), daemon=True).start()
            elif cmd[0] == 'stop':
                stop.set()
            print(json.dumps({'pages': len(_page_cache), 'listeners': len(svc.listeners)}),
                  flush=True)
    main()
''')


class Target:
    def __init__(self, py):
        self.p = subprocess.Popen([py, '-c', TARGET], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)

    def cmd(self, *words):
        self.p.stdin.write(' '.join(str(w) for w in words) + '\n')
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=60)


def run(tool, *args):
    return subprocess.run([tool] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=TIMEOUT)


def owners(report):
    return [o for o in report.get('growth', {}).get('owners', [])]


def check_growth(tap, what, rep, added):
    own = owners(rep)
    top = [o['path'] for o in own[:3]]
    tap.ok('__main__._page_cache' in top and 'svc.listeners' in top,
           '%s: the top 3 growing owners name __main__._page_cache and svc.listeners by path'
           % what, ['top 3: %r' % top])
    by = {o['path']: o for o in own}
    pc, li = by.get('__main__._page_cache'), by.get('svc.listeners')
    tap.ok(pc and pc['growth']['new_objects'] >= added and
           ('%d \u00d7 dict' % added) in pc['growth']['new_types'] and pc['growth']['in_baseline'],
           '%s: the page cache gained the %d dicts the target added (new objects, by type)' % (
               what, added), ['%r' % (pc,)])
    tap.ok(li and ('%d \u00d7 function' % added) in li['growth']['new_types'],
           '%s: the listener list gained the %d functions the target added' % (what, added),
           ['%r' % (li,)])
    tap.ok('__main__._idle_cache' not in by,
           '%s: the idle cache, which did not change, is not reported as grown' % what,
           ['%r' % (by.get('__main__._idle_cache'),)])
    sus = {s['path']: s for s in rep.get('suspects', [])}
    tap.ok(all(s.get('growth') is not None for s in sus.values()) and
           sus.get('__main__._page_cache', {}).get('growth', {}).get('new_objects', 0) >= added,
           '%s: with a baseline every suspect carries its growth' % what,
           ['%r' % ({k: v.get('growth') for k, v in sus.items()},)])


def one_python(tap, tool, v, py, tmp):
    t = Target(py)
    try:
        t.cmd('add', 50)
        old = os.path.join(tmp, 'old-%s.db' % v)
        new = os.path.join(tmp, 'new-%s.db' % v)
        r = run(tool, t.p.pid, '--dump', old, '--force', '-q')
        tap.ok(r.returncode == 0, '%s: baseline dump written' % v, [r.stderr[-1500:]])
        state = t.cmd('add', 300)
        tap.ok(state == {'pages': 350, 'listeners': 350}, '%s: the target added 300 pages and '
               'listeners (it says %r)' % (v, state))
        r = run(tool, t.p.pid, '--baseline', old, '--json', '-', '--dump', new, '-q')
        tap.ok(r.returncode == 0, '%s: PID --baseline OLD.db --json' % v, [r.stderr[-1500:]])
        if r.returncode == 0:
            check_growth(tap, '%s PID --baseline' % v, json.loads(r.stdout), 300)
        r = run(tool, new, '--baseline', old, '--json', '-', '-q')
        tap.ok(r.returncode == 0, '%s: NEW.db --baseline OLD.db --json' % v, [r.stderr[-1500:]])
        if r.returncode == 0:
            check_growth(tap, '%s NEW.db --baseline' % v, json.loads(r.stdout), 300)
        r = run(tool, new, '--baseline', old, '--text', '-', '-q')
        head = r.stdout.splitlines()[:8]
        tap.ok(r.returncode == 0 and head and 'Growth since the baseline' in '\n'.join(head) and
               any('_page_cache' in ln for ln in head),
               '%s: the text report opens with the growth, naming the owner' % v, head)

        t.cmd('start')
        r = run(tool, t.p.pid, '--watch', '0.3', '--count', '4', '--json', '-', '-q')
        t.cmd('stop')
        tap.ok(r.returncode in (0, 1), '%s: --watch 0.3 --count 4 (live snapshots)' % v,
               [r.stderr[-1500:]])
        if r.returncode in (0, 1):
            w = json.loads(r.stdout)['watch']
            by = {o['path']: o for o in w['owners']}
            g = by.get('__main__.grow_list')
            tap.ok(w['snapshots'] == 4 and g and g['every_interval'] and g['intervals_grown'] == 3,
                   '%s: the list a thread appends to grew in every one of the 3 intervals' % v,
                   ['%r' % (w,)])
            tap.ok(not by.get('__main__._idle_cache', {}).get('every_interval'),
                   '%s: the idle cache did not grow in every interval' % v)
    finally:
        t.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', required=True)
    ap.add_argument('--python', action='append', default=[])
    a = ap.parse_args()
    tap = Tap()
    pys = pyenv_pythons()
    want = a.python or ['3.12']
    found = [(v, pys[v]) for v in want if v in pys]
    if not found:
        tap.ok(False, 'a pyenv CPython among %s' % want, ['installed: %r' % sorted(pys)])
        return tap.done()
    tmp = tempfile.mkdtemp(prefix='pyleak-growth-')
    for v, py in found:
        one_python(tap, a.tool, v, py, tmp)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
