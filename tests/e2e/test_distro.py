#!/usr/bin/env python3
"""Distribution and stripped CPythons against pyleak-attach (TAP).

    test_distro.py --tool PATH chroot     Debian trixie 3.13 and sid 3.13/3.14/3.15
                                          in chroots (container case: the
                                          binaries are reachable only through
                                          /proc/PID/root); builds the chroots
                                          once (tests/env/build-chroots)
    test_distro.py --tool PATH debian     the host's /usr/bin/python3.11 (stripped)
    test_distro.py --tool PATH stripped   pyenv 3.8-3.13 with libpython stripped
                                          of its DWARF (a copy made here)
    test_distro.py --tool PATH refused    pyenv 2.7, 3.6, 3.7: clear refusal

Every run is compared with the target's own view (run_e2e.compare: exact
python.version, objects, edges, cycles, garbage).  layout_source must not be
"dwarf" where there is no DWARF.  A missing prerequisite (not root, no pyenv
version) is a SKIP with the reason; an available one that fails is not ok.
"""
import os
import shutil
import sys
import tempfile

import envtest
from envtest import targets, run_e2e

SCENARIOS = ['types', 'garbage']


def no_dwarf_check(expect_path=None, stripped=None):
    def check(tap, report, t):
        py = report.get('python') or {}
        src = py.get('layout_source')
        tap.ok(isinstance(src, str) and src and src != 'dwarf',
               '%s: layout_source names a provider other than dwarf (no DWARF here): %r' % (
                   t.scenario, src))
        if expect_path:
            tap.ok(str(py.get('path', '')).endswith(expect_path),
                   '%s: python.path is the path the target sees (%s)' % (t.scenario, expect_path),
                   ['python.path %r' % py.get('path')])
        if stripped:
            tap.ok(stripped.check_maps(t.pid), '%s: the target runs the stripped copy %s' % (
                t.scenario, stripped.lib), ['/proc/%d/maps does not show it' % t.pid])
    return check


def cmd_chroot(args, tap):
    if os.geteuid() != 0:
        tap.skip('Debian chroot targets', 'needs root (debootstrap, chroot, unshare)')
        return
    if not targets.chroot_pythons():
        tap.note('building the chroots once (tests/env/build-chroots): about 3 minutes')
    ok, msg = targets.build_chroots()
    if not tap.ok(ok, 'tests/env/build-chroots: trixie and sid chroots ready', msg.splitlines()[-15:]):
        return
    found = targets.chroot_pythons()
    tap.ok(any(c['suite'] == 'trixie' and c['minor'] == '3.13' for c in found) and
           {'3.13', '3.14'} <= {c['minor'] for c in found if c['suite'] == 'sid'},
           'chroots hold trixie 3.13 and sid 3.13, 3.14 (3.15 when the mirror has it)',
           ['found: %s' % ', '.join('%s %s' % (c['suite'], c['version']) for c in found)], always=True)
    with tempfile.TemporaryDirectory(prefix='pyleak-distro-') as tmp:
        for c in found:
            if args.python and c['minor'] not in args.python:
                continue
            tag = '%s %s' % (c['suite'], c['version'])
            for s in args.scenario or SCENARIOS:
                envtest.run_scenario(tap, args.tool, tag, tmp, s,
                                     dict(python=c['python'], chroot=c['root']),
                                     check=no_dwarf_check(expect_path=c['python']))


def cmd_debian(args, tap):
    py = '/usr/bin/python3.11'
    if not os.access(py, os.X_OK):
        tap.skip('Debian bookworm python3.11', '%s not installed' % py)
        return
    dbg = targets.has_debug_info(py)
    with tempfile.TemporaryDirectory(prefix='pyleak-distro-') as tmp:
        for s in args.scenario or SCENARIOS[:1]:
            envtest.run_scenario(tap, args.tool, 'debian %s' % targets.python_version(py), tmp, s,
                                 dict(python=py), check=None if dbg else no_dwarf_check())


def cmd_stripped(args, tap):
    found = run_e2e.pyenv_pythons()
    if not found:
        tap.skip('stripped pyenv copies', 'no pyenv CPython 3.8-3.13 installed')
        return
    for tool in ('strip', 'objcopy', 'readelf'):
        if not shutil.which(tool):
            tap.ok(False, '%s installed (binutils)' % tool)
            return
    with tempfile.TemporaryDirectory(prefix='pyleak-distro-') as tmp:
        for minor in sorted(found, key=lambda v: tuple(map(int, v.split('.')))):
            if args.python and minor not in args.python:
                continue
            try:
                s = targets.StrippedCopy(minor, tmp, mode=args.strip)
            except (LookupError, OSError) as e:
                tap.ok(False, 'stripped copy of pyenv %s' % minor, [str(e)])
                continue
            tap.ok(not targets.has_debug_info(s.lib), 'pyenv %s: copy %s has no .debug_info' % (
                minor, os.path.basename(s.lib)))
            kind = 'with debug offsets' if tuple(map(int, minor.split('.'))) >= (3, 13) else \
                'without debug offsets'
            tag = 'stripped-%s %s (%s)' % (args.strip, minor, kind)
            for sc in args.scenario or SCENARIOS[:1]:
                envtest.run_scenario(tap, args.tool, tag, tmp, sc, dict(python=s.python, env=s.env),
                                     check=no_dwarf_check(stripped=s))


REFUSED = ['2.7', '3.6', '3.7']


def cmd_refused(args, tap):
    import glob
    import subprocess
    root = run_e2e.pyenv_root()
    for minor in REFUSED:
        exes = sorted(glob.glob(os.path.join(root, 'versions', minor + '.*', 'bin', 'python' + minor)))
        if not exes:
            tap.skip('refuses CPython %s' % minor, 'no pyenv %s installed' % minor)
            continue
        p = subprocess.Popen([exes[-1], '-c', 'import sys; sys.stdin.read()'], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            run_e2e.wait_until(lambda: 'python' in open('/proc/%d/maps' % p.pid).read(), 10)
            rc, out, err, secs = run_e2e.run_tool(args.tool, ['--json', '-', p.pid], 60)
            low = err.lower()
            tap.ok(rc == 2 and minor in err and ('support' in low) and out.strip() == '',
                   'CPython %s refused: exit 2, names the version and what is supported' % minor,
                   ['exit %r; stderr:' % (rc,)] + run_e2e.tail(err, 6))
        finally:
            p.stdin.close()
            p.wait(10)
    tap.skip('refuses a free-threaded build', 'no free-threaded CPython here (Debian ships none; '
             'symbols/ unit tests cover the refusal)')


def main():
    args = envtest.parse_args(__doc__, lambda ap: (
        ap.add_argument('mode', choices=['chroot', 'debian', 'stripped', 'refused']),
        ap.add_argument('--python', action='append', help='3.X (repeatable)'),
        ap.add_argument('--strip', choices=['debug', 'all'], default='debug',
                        help='strip --strip-debug (default) or --strip-all')))
    tap = envtest.Tap()
    if envtest.tool_ok(tap, args.tool):
        {'chroot': cmd_chroot, 'debian': cmd_debian, 'stripped': cmd_stripped,
         'refused': cmd_refused}[args.mode](args, tap)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
