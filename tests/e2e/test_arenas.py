#!/usr/bin/env python3
"""pymalloc's arenas on the accounting line equal the interpreter's own
figures (TAP).

    test_arenas.py --tool PATH

arenas_target.py writes sys._debugmallocstats() to a file, signals
readiness through a pipe and blocks; the tool snapshots it (copy and fork
modes: the target is stopped, or a frozen child is read, so the heap is the
one the figures describe) and its JSON "memory" must say exactly

    pymalloc_arenas.used == "N arenas * S bytes/arena"
    pymalloc_arenas.free == "# bytes in available blocks"
                            + "K unused pools * P bytes"

(no tolerance: the figures count the same pools of the same frozen heap);
the text line shows them and a dump of the snapshot gives the same figures.
Builds with symbols: pyenv 3.8, 3.10, 3.11 (obmalloc.c's statics by
.symtab, structs by DWARF), 3.12, 3.13 (the interpreter's obmalloc state by
DWARF).  Stripped copies whose layout comes from the generated table of the
same build: pyenv 3.11 without DWARF (.symtab kept), pyenv 3.11 and 3.8
without anything (the statics from the table's runtime-rel lines), pyenv
3.12 without anything.  Unknown (null) with the reason naming what is
missing: Debian's /usr/bin/python3.11 (no .symtab, and its table is not
from that build).  Debian's stripped 3.13-3.15 in the chroots (root:
tests/env/build-chroots), copy mode and a dump, through their tables
(trixie, sid) or families (forky).  Each skipped when not installed.
Readiness through the pipe; no sleeps.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'env'))
import targets  # noqa: E402

import run_e2e  # noqa: E402

TARGET = os.path.join(HERE, 'arenas_target.py')
KNOWN = ['3.8', '3.10', '3.11', '3.12', '3.13']
MODES = ['copy', 'fork']


Tap = run_e2e.Tap


def start(python, stats, env=None, root=None):
    """The target, under chroot root when given (its script and stats file
    then live in the chroot's /tmp: stats is the host's path to it)."""
    r, w = os.pipe()
    full = dict(os.environ)
    full.update(env or {})
    full.pop('PYTHONMALLOC', None)
    argv = [python, TARGET, str(w), stats]
    if root:
        inner = os.path.dirname(stats)[len(root):]
        shutil.copy(TARGET, os.path.dirname(stats))
        argv = [shutil.which('chroot') or '/usr/sbin/chroot', root, python,
                inner + '/' + os.path.basename(TARGET), str(w),
                inner + '/' + os.path.basename(stats)]
        full = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C.UTF-8'}
    p = subprocess.Popen(argv, pass_fds=(w,), stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, env=full)
    os.close(w)
    with os.fdopen(r, 'rb') as f:
        ready = f.read(1) == b'R'
    return p, ready


stop = run_e2e.stop_target


def run_tool(tool, args):
    # no layout cache: a stripped copy shares its build-id with the original,
    # whose DWARF layout a cache would hand it
    env = dict(os.environ, PYLEAK_ATTACH_CACHE_DIR='')
    p = subprocess.run([tool] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600, env=env)
    err = p.stderr.decode('utf-8', 'replace')
    rc = p.returncode
    if 'Sanitizer' in err or 'runtime error:' in err:
        rc = 'sanitizer'
    return rc, p.stdout.decode('utf-8', 'replace'), err


def num(s):
    return int(s.replace(',', ''))


def oracle(path):
    """(used, free, text) from _debugmallocstats' output, or (None, None, text)."""
    with open(path) as f:
        text = f.read()
    a = re.search(r'^(\d+) arenas \* (\d+) bytes/arena\s*=\s*([\d,]+)$', text, re.M)
    b = re.search(r'^# bytes in available blocks\s*=\s*([\d,]+)$', text, re.M)
    c = re.search(r'^(\d+) unused pools \* (\d+) bytes\s*=\s*([\d,]+)$', text, re.M)
    if not (a and b and c):
        return None, None, text
    return num(a.group(3)), num(b.group(1)) + num(c.group(3)), text


def report(tool, pid, mode, tmp, tag):
    jpath = os.path.join(tmp, 'r-%s-%s.json' % (tag, mode))
    rc, out, err = run_tool(tool, ['--json', jpath, '--text', '-', '-q',
                                   '--snapshot', mode, pid])
    rep = None
    if rc in (0, 1):
        with open(jpath) as f:
            rep = json.load(f)
    line = [ln for ln in out.splitlines() if ln.startswith('memory: ')]
    return rc, rep, line[0] if line else '', err


def check_known(tap, tool, tag, python, tmp, env=None, mapped=None, modes=MODES, root=None):
    """The tool's arenas equal the interpreter's figures in every mode and
    from a dump."""
    if not python or not os.access((root or '') + python, os.X_OK):
        tap.skip('%s: pymalloc arenas' % tag, '%s not installed' % python)
        return
    name = re.sub(r'[^A-Za-z0-9.]+', '-', tag)
    stats = os.path.join(tmp, 'stats-%s.txt' % name)
    if root:
        stats = os.path.join(tempfile.mkdtemp(prefix='pyleak-arenas-', dir=root + '/tmp'),
                             'stats-%s.txt' % name)
    p, ready = start(python, stats, env, root)
    dump = os.path.join(tmp, 'dump-%s.db' % name)
    try:
        if not tap.ok(ready and (mapped is None or mapped(p.pid)),
                      '%s: target ready (the build meant)' % tag):
            return
        used, free, text = oracle(stats)
        if not tap.ok(used is not None, '%s: _debugmallocstats has the arena lines' % tag,
                      text[:3000]):
            return
        for mode in modes:
            rc, rep, line, err = report(tool, p.pid, mode, tmp, name)
            mem = (rep or {}).get('memory') or {}
            got = mem.get('pymalloc_arenas')
            tap.ok(rc in (0, 1) and got == {'used': used, 'free': free},
                   '%s %s: pymalloc arenas used %r, free %r (interpreter: %d, %d; layout %s)'
                   % (tag, mode, got and got.get('used'), got and got.get('free'), used, free,
                      ((rep or {}).get('python') or {}).get('layout_source')),
                   'exit %r; memory %s; layout %s\n%s' % (
                       rc, json.dumps(mem), ((rep or {}).get('python') or {}).get('layout_source'),
                       err[-2000:]))
            tap.ok('pymalloc arenas ' in line and ' of them free' in line and
                   'unknown' not in line.split('pymalloc arenas')[-1],
                   '%s %s: the text accounting line shows them' % (tag, mode), line or err[-2000:])
        rc, _, err = run_tool(tool, ['--dump', dump, '-q', '--snapshot', 'copy', p.pid])
    finally:
        stop(p)
    rc2, out, err2 = run_tool(tool, ['--json', '-', '-q', dump])
    drep = json.loads(out) if rc in (0, 1) and rc2 in (0, 1) else {}
    got = (drep.get('memory') or {}).get('pymalloc_arenas')
    tap.ok(got == {'used': used, 'free': free},
           '%s: the dump gives the same arenas' % tag,
           'exit %r/%r; %r\n%s\n%s' % (rc, rc2, drep.get('memory'), err[-1000:], err2[-1000:]))


def check_unknown(tap, tool, tag, python, env, want, tmp, mapped=None):
    """The arenas are unknown (null) and the reason contains every phrase of want."""
    if not python or not os.access(python, os.X_OK):
        tap.skip('%s: pymalloc arenas unknown' % tag, '%s not installed' % python)
        return
    stats = os.path.join(tmp, 'stats-%s.txt' % tag.replace(' ', '-'))
    p, ready = start(python, stats, env)
    try:
        if not tap.ok(ready and (mapped is None or mapped(p.pid)),
                      '%s: target ready (the build meant)' % tag):
            return
        rc, rep, line, err = report(tool, p.pid, 'copy', tmp, tag.replace(' ', '-'))
    finally:
        stop(p)
    mem = (rep or {}).get('memory') or {}
    why = mem.get('pymalloc_arenas_why') or ''
    tap.ok(rc in (0, 1) and 'pymalloc_arenas' in mem and mem['pymalloc_arenas'] is None and
           all(w in why for w in want),
           '%s: pymalloc arenas unknown, because %s' % (tag, why or '?'),
           'exit %r; want %r; memory %s\n%s' % (rc, want, json.dumps(mem), err[-2000:]))
    tap.ok(('pymalloc arenas unknown (%s)' % why) in line,
           '%s: the text accounting line says why' % tag, line or err[-2000:])


def stripped(tap, minor, mode, tmp, tag):
    try:
        return targets.StrippedCopy(minor, tmp, mode=mode)
    except (LookupError, OSError, subprocess.SubprocessError) as e:
        tap.skip('%s: pymalloc arenas' % tag, str(e))
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', required=True)
    a = ap.parse_args()
    tap = Tap()
    with tempfile.TemporaryDirectory() as tmp:
        for minor in KNOWN:
            check_known(tap, a.tool, 'pyenv %s' % minor, targets.pyenv_python(minor), tmp)
        # stripped, layout from the generated table of the same build:
        # obmalloc.c's statics by .symtab (--strip-debug) or, without it,
        # by the table's runtime-rel lines (--strip-all); 3.12's state needs
        # no symbol at all
        for minor, mode in (('3.11', 'debug'), ('3.11', 'all'), ('3.8', 'all'),
                            ('3.12', 'all')):
            tag = 'pyenv %s stripped (%s)' % (minor, mode)
            s = stripped(tap, minor, mode, tmp, tag)
            if s:
                check_known(tap, a.tool, tag, s.python, tmp, s.env, s.check_maps, ['copy'])
        check_unknown(tap, a.tool, 'debian python3.11', '/usr/bin/python3.11', None,
                      ['/usr/bin/python3.11 has no .symtab', 'obmalloc.c'], tmp)
        # Debian's stripped 3.13+ in the chroots: the interpreter's obmalloc
        # state placed by the shipped tables (sid, trixie) or the family
        # (forky), no symbol at all
        chroots = []
        if os.geteuid() == 0 and targets.build_chroots()[0]:
            chroots = targets.chroot_pythons()
        tap.ok(chroots or os.geteuid() != 0, 'the Debian chroots are built',
               'tests/env/build-chroots failed: see its log')
        for c in chroots:
            if c['minor'] in ('3.13', '3.14', '3.15'):
                try:
                    check_known(tap, a.tool, '%s %s' % (c['suite'], c['version']), c['python'],
                                tmp, modes=['copy'], root=c['root'])
                finally:
                    for d in glob.glob(c['root'] + '/tmp/pyleak-arenas-*'):
                        shutil.rmtree(d, ignore_errors=True)
    print('1..%d' % tap.n)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
