#!/usr/bin/env python3
"""Native buffers count in retained sizes, once, and the accounting line
says what the RSS holds (TAP).

    test_native.py --tool PATH

native_target.py builds a list holding numpy arrays (owning ones, views
sharing a base, views of bases the list reaches only through views),
bytearrays and array.arrays, and reports the list's id and the
interpreter's own figure for it: sys.getsizeof of the list and its items
plus the nbytes of each distinct owning array reached only through views.
The tool's retained size of that list must be within TOLERANCE of it (a
view counted twice adds megabytes), the same from a dump of the snapshot,
and the accounting line must be there, with an RSS above the Python
objects and buffers it explains.  numpy on Debian's python3.11 (with
python3-numpy); bytearray and array.array also on pyenv builds whose DWARF
describes them.  Readiness through a pipe; no sleeps.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import run_e2e  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, 'native_target.py')
# What the interpreter's own figure cannot see: objects Python code cannot
# reach, e.g. a memoryview's managed buffer (128 bytes).
TOLERANCE_BYTES = 4096
CASES = [('/usr/bin/python3.11', 'numpy'),
         ('/usr/bin/python3.11', 'buffers'),
         (os.path.expanduser('~/.pyenv/versions/3.12.1/bin/python3.12'), 'buffers'),
         (os.path.expanduser('~/.pyenv/versions/3.8.18/bin/python3.8'), 'buffers')]


Tap = run_e2e.Tap


def start(cmd):
    r, w = os.pipe()
    p = subprocess.Popen(cmd + [str(w)], pass_fds=(w,), stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL)
    os.close(w)
    with os.fdopen(r, 'rb') as f:
        line = f.readline()
    return p, line


stop = run_e2e.stop_target


def run_tool(tool, args):
    p = subprocess.run([tool] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    err = p.stderr.decode('utf-8', 'replace')
    rc = p.returncode
    if 'Sanitizer' in err or 'runtime error:' in err:
        rc = 'sanitizer'
    return rc, p.stdout.decode('utf-8', 'replace'), err


def retained_of(report, oid):
    for o in report.get('objects', []):
        if o['id'] == oid:
            return o['retained']
    return None


def check(tap, tool, py, scen, tmp):
    tag = '%s %s' % ('debian-python3.11' if py.startswith('/usr') else os.path.basename(py),
                     scen)
    if not os.access(py, os.X_OK):
        tap.skip('%s: target' % tag, '%s not installed' % py)
        return
    if scen == 'numpy' and subprocess.run([py, '-c', 'import numpy'],
                                          stderr=subprocess.DEVNULL).returncode:
        tap.ok(False, '%s: numpy importable' % tag,
               'install python3-numpy (scripts/setup installs it)')
        return
    p, line = start([py, TARGET, scen])
    dump = os.path.join(tmp, '%s-%s.db' % (os.path.basename(py), scen))
    try:
        if not line:
            tap.ok(False, '%s: target ready' % tag, 'the target died before it was ready')
            return
        want = json.loads(line)
        rc, out, err = run_tool(tool, ['--json', '-', '--objects', '-q', p.pid])
        rc2, text, err2 = run_tool(tool, ['--text', '-', '-q', p.pid])
        rc3, _, err3 = run_tool(tool, ['--dump', dump, '-q', p.pid])
    finally:
        stop(p)
    if rc not in (0, 1) or rc2 not in (0, 1) or rc3 not in (0, 1):
        tap.ok(False, '%s: tool ran' % tag, 'exit %r/%r/%r\n%s\n%s\n%s' %
               (rc, rc2, rc3, err, err2, err3))
        return
    rep = json.loads(out)
    got = retained_of(rep, want['id'])
    tol = max(TOLERANCE_BYTES, want['retained'] // 1000)
    tap.ok(got is not None and abs(got - want['retained']) <= tol,
           '%s: the list retains its buffers once (tool %r, interpreter %d, tolerance %d)'
           % (tag, got, want['retained'], tol),
           'layout %s; memory %s' % (rep['python']['layout_source'], rep.get('memory')))
    mem = rep.get('memory') or {}
    tap.ok(mem.get('buffers', 0) > 0 and mem.get('rss') is not None and
           mem['rss'] > mem['python_objects'] + mem['buffers'] and
           mem['unexplained'] == mem['rss'] - mem['python_objects'] - mem['buffers'],
           '%s: memory: rss above python_objects + buffers, the rest unexplained' % tag,
           json.dumps(mem))
    memline = [ln for ln in text.splitlines() if ln.startswith('memory: RSS ')]
    tap.ok(len(memline) == 1 and 'not explained by Python objects' in memline[0] and
           'buffers' in memline[0], '%s: the text report has the accounting line' % tag,
           '\n'.join(memline) or text[:2000])
    rc4, dout, derr = run_tool(tool, ['--json', '-', '--objects', '-q', dump])
    drep = json.loads(dout) if rc4 in (0, 1) else {}
    tap.ok(retained_of(drep, want['id']) == got and drep.get('memory') == rep.get('memory'),
           '%s: the dump gives the same retained size and accounting' % tag,
           'exit %r %s; dump %r / %r' % (rc4, derr[:500], retained_of(drep, want['id']),
                                         drep.get('memory')))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', required=True)
    a = ap.parse_args()
    tap = Tap()
    with tempfile.TemporaryDirectory() as tmp:
        for py, scen in CASES:
            check(tap, a.tool, py, scen, tmp)
    print('1..%d' % tap.n)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
