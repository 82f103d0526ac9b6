#!/usr/bin/env python3
"""Leak suspects name the owner of a known leak by its path (TAP).

    test_suspects.py --tool PATH [--python PY ...] [--demo]

Each scenario of suspects_target.py builds one leak whose owner it knows
(a module-global cache, a listener list on an instance a main() local
holds, a functools.lru_cache on a method, threads never stopped,
gc.garbage under DEBUG_SAVEALL) and reports that owner's id() and the
path a person calls it by.  The JSON report's suspects must name it by
that path among the first three, with the interpreter's id, and the text
report must open with it.  --demo runs demo/leaky_service.py and checks
that the text report's first lines name the demo's leaking owners with
their retained sizes.  Readiness through a pipe; no sleeps.
"""
import argparse
import json
import os
import subprocess
import sys

import run_e2e  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = os.path.join(HERE, 'suspects_target.py')
SCENARIOS = ['global_cache', 'listeners', 'lru_method', 'threads', 'gc_garbage']
PYTHONS = [os.path.expanduser('~/.pyenv/versions/3.11.7/bin/python3.11'),
           os.path.expanduser('~/.pyenv/versions/3.13.0/bin/python3.13'),
           '/usr/bin/python3.11']


Tap = run_e2e.Tap


def start(cmd):
    """Starts a target that writes one line to the fd it is given (the
    pipe's write end) once its leak is built; returns (proc, line)."""
    r, w = os.pipe()
    p = subprocess.Popen(cmd + [str(w)] if '--ready-fd' not in cmd else cmd,
                         pass_fds=(w,), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r, 'rb') as f:
        line = f.readline()
    return p, line


stop = run_e2e.stop_target


def run_tool(tool, args):
    """Exit 1 (a partial result) is accepted; a sanitizer report, which
    also exits 1, is not."""
    p = subprocess.run([tool] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    err = p.stderr.decode('utf-8', 'replace')
    rc = p.returncode
    if 'Sanitizer' in err or 'runtime error:' in err:
        rc = 'sanitizer'
    return rc, p.stdout.decode('utf-8', 'replace'), err


def check_scenario(tap, tool, py, scen):
    tag = '%s %s' % (os.path.basename(py) if not py.startswith('/usr') else 'debian-' +
                     os.path.basename(py), scen)
    p, line = start([py, TARGET, scen])
    try:
        if not line:
            tap.ok(False, '%s: target ready' % tag, 'the target died before it was ready')
            return
        want = json.loads(line)
        rc, out, err = run_tool(tool, ['--json', '-', '-q', p.pid])
        rc2, text, err2 = run_tool(tool, ['--text', '-', '-q', p.pid])
    finally:
        stop(p)
    if rc not in (0, 1) or rc2 not in (0, 1):
        tap.ok(False, '%s: tool ran' % tag, 'exit %r / %r\n%s\n%s' % (rc, rc2, err, err2))
        return
    sus = json.loads(out).get('suspects') or []
    top = [(s['owner'], s['id']) for s in sus[:3]]
    hit = [s for s in sus[:3] if s['owner'] == want['owner']]
    tap.ok(bool(hit), '%s: %s is among the first three suspects, by path' % (tag, want['owner']),
           json.dumps(sus[:5], indent=1, ensure_ascii=False))
    if hit:
        s = hit[0]
        tap.ok(s['id'] == want['id'], '%s: the suspect is the object the interpreter calls %s'
               % (tag, want['owner']), 'tool %r, interpreter %r; top %r' % (s['id'], want['id'], top))
        tap.ok(s['retained'] > 0 and s['objects'] > 0 and s['accumulates']
               and 'growth' in s, '%s: retained, objects and what accumulates' % tag,
               json.dumps(s, ensure_ascii=False))
        if 'root' in want:
            tap.ok(want['root'] in s['root'], '%s: reached from %s' % (tag, want['root']), s['root'])
    first = text.split('\n\n')[0]
    tap.ok(want['owner'] in first and 'Leak suspects' in text.splitlines()[1],
           '%s: the text report opens with the suspects and names it' % tag, first)


def check_demo(tap, tool, py):
    demo = os.path.join(ROOT, 'demo', 'leaky_service.py')
    r, w = os.pipe()
    p = subprocess.Popen([py, demo, '--ready-fd', str(w), '--stdin-stop'], pass_fds=(w,),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r, 'rb') as f:
        line = f.readline()
    try:
        rc, text, err = run_tool(tool, ['--text', '-', '-q', p.pid]) if line else (None, '', '')
    finally:
        stop(p)
    head = text.splitlines()[:12]
    tap.ok(bool(line) and rc in (0, 1), 'demo: the service and the tool ran', err)
    for owner in ('Service.cache', 'Service.listeners'):
        rows = [l for l in head if owner in l]
        tap.ok(bool(rows) and 'retained' in rows[0] and 'main() local svc' in '\n'.join(head),
               'demo: the first lines name %s with its retained size' % owner, '\n'.join(head))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', required=True)
    ap.add_argument('--python', action='append')
    ap.add_argument('--demo', action='store_true')
    args = ap.parse_args()
    tap = Tap()
    pythons = args.python or PYTHONS
    if args.demo:
        py = next((x for x in pythons if os.access(x, os.X_OK)), None)
        print('1..3')
        if py:
            check_demo(tap, args.tool, py)
        else:
            for _ in range(3):
                tap.skip('demo', 'no python')
        return 1 if tap.failed else 0
    print('1..%d' % (len(pythons) * len(SCENARIOS) * 4 + len(pythons)))
    for py in pythons:
        if not os.access(py, os.X_OK):
            for _ in range(len(SCENARIOS) * 4 + 1):
                tap.skip(py, 'not installed')
            continue
        for scen in SCENARIOS:
            check_scenario(tap, args.tool, py, scen)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
