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
    test_distro.py --tool PATH family     every Debian build the tool embeds no
                                          table for: forky 3.13/3.14/3.15,
                                          bullseye 3.9 (chroots), and any other
    test_distro.py --tool PATH dbg        Debian's Py_DEBUG interpreters (sid
                                          python3.14d, bullseye python3.9d, the
                                          host's python3.Xd if installed), as
                                          shipped and stripped in place: a
                                          correct walk or exit 2 naming the
                                          debug build
    test_distro.py --tool FULL loo --loo-build DIR --loo-table NAME
                                          DIR's pyleak-attach, built without
                                          table(s) NAME (tests/env/build-loo,
                                          which this runs first), on a stripped
                                          copy of that very interpreter, no
                                          layout cache; FULL is the complete
                                          build, for the list of tables

Every run is compared with the target's own view (run_e2e.compare: exact
python.version, objects, edges, cycles, garbage, gc state).  layout_source
must not be "dwarf" where there is no DWARF, and in loo must not name a
table left out.  A missing prerequisite (not root, no pyenv
version) is a SKIP with the reason; an available one that fails is not ok.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import envtest
from envtest import targets, run_e2e

SCENARIOS = ['types', 'garbage']
BUILD_LOO = os.path.join(os.path.dirname(envtest.HERE), 'env', 'build-loo')


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


def chroots_ready(tap):
    """Builds the chroots once (a no-op when cached); False (with a SKIP or
    a failure said) when they cannot be had."""
    if os.geteuid() != 0:
        tap.skip('Debian chroot targets', 'needs root (debootstrap, chroot, unshare)')
        return False
    if not targets.chroot_pythons():
        tap.note('building the chroots once (tests/env/build-chroots): about 6 minutes')
    ok, msg = targets.build_chroots()
    return tap.ok(ok, 'tests/env/build-chroots: the chroots are ready (%s)' % targets.CHROOT_CACHE,
                  msg.splitlines()[-15:])


def cmd_chroot(args, tap):
    if not chroots_ready(tap):
        return
    found = targets.chroot_pythons(suites=('trixie', 'sid'))
    tap.ok(any(c['suite'] == 'trixie' and c['minor'] == '3.13' for c in found) and
           {'3.13', '3.14'} <= {c['minor'] for c in found if c['suite'] == 'sid'},
           'chroots hold trixie 3.13 and sid 3.13, 3.14 (3.15 when the mirror has it)',
           ['found: %s' % ', '.join('%s %s' % (c['suite'], c['version']) for c in found)], always=True)
    with tempfile.TemporaryDirectory(prefix='pyleak-distro-') as tmp:
        for c in found:
            if args.python and c['minor'] not in args.python:
                continue
            tag = '%s %s' % (c['suite'], c['version'])
            # modules: the C module states decoded on Debian's own 3.13 and
            # 3.14 builds (doc/internals.md §Module state)
            for s in args.scenario or SCENARIOS + ['modules']:
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


# The modes below judge builds no exact table describes: gc state is in
# every comparison, the gcstate scenario adds a collector that is enabled.
NO_TABLE_SCENARIOS = ['types', 'garbage', 'gcstate']


def versions(found):
    return ', '.join('%s %s' % (c['suite'], c['version']) for c in found) or 'none'


def cmd_family(args, tap):
    """Every Debian interpreter the tool has no table for: the layout must
    come from the family of its minor version, verified against memory."""
    if not chroots_ready(tap):
        return
    tables = targets.tool_tables(args.tool)
    if not tap.ok(tables is not None, 'pyleak-attach -V lists the layout tables it embeds'):
        return
    every = targets.host_debian_pythons() + targets.chroot_pythons()
    found = [c for c in every if targets.table_key(c['version'], True) not in tables]
    suites = {c['suite'] for c in found}
    tap.ok({'forky', 'bullseye'} <= suites and
           any(c['suite'] == 'forky' and c['minor'] == '3.14' for c in found),
           'builds without a table: forky 3.13, 3.14 (3.15 when the mirror has it), bullseye 3.9',
           ['no table for: %s' % versions(found), 'tables: %s' % ' '.join(tables)], always=True)
    with tempfile.TemporaryDirectory(prefix='pyleak-distro-') as tmp:
        for c in found:
            if args.python and c['minor'] not in args.python:
                continue
            tag = '%s %s (no table)' % (c['suite'], c['version'])
            kw = dict(python=c['python'], chroot=c['root']) if c['root'] else dict(python=c['python'])
            for sc in args.scenario or NO_TABLE_SCENARIOS:
                envtest.run_scenario(tap, args.tool, '%s [%s]' % (tag, sc), tmp, sc, kw,
                                     check=no_dwarf_check(expect_path=c['python']))


def cmd_dbg(args, tap):
    """Debian's Py_DEBUG interpreters, with their own DWARF and stripped:
    a walk that matches the oracle, or exit 2 naming the debug build."""
    found = targets.host_debian_pythons(dbg=True)
    if os.geteuid() == 0 and targets.build_chroots()[0]:
        found += targets.chroot_pythons(dbg=True)
    if not tap.ok(found, 'a Debian debug interpreter is installed (python3.X-dbg: /usr/bin/python3.Xd)',
                  ['tests/env/build-chroots installs python3.14-dbg in sid, python3.9-dbg '
                   'in bullseye']):
        return
    tap.note('debug interpreters: %s' % versions(found))
    with tempfile.TemporaryDirectory(prefix='pyleak-distro-') as tmp:
        for c in found:
            if args.python and c['minor'] not in args.python:
                continue
            chroot = dict(chroot=c['root']) if c['root'] else {}
            tag = '%s %s debug build' % (c['suite'], c['version'])
            for sc in args.scenario or SCENARIOS[:1]:
                envtest.run_scenario(tap, args.tool, '%s [%s]' % (tag, sc), tmp, sc,
                                     dict(python=c['python'], **chroot),
                                     refusal='debug build')
            s = targets.StrippedExe(c['python'], tmp, root=c['root'])
            try:
                tag = '%s %s debug build, stripped in place' % (c['suite'], c['version'])
                for sc in args.scenario or SCENARIOS[:1]:
                    envtest.run_scenario(tap, args.tool, '%s [%s]' % (tag, sc), tmp, sc,
                                         s.target_kw(), check=no_dwarf_check(stripped=s),
                                         refusal='debug build')
            finally:
                s.close()


def loo_interpreter(key, tmp, strip):
    """(tag, EnvTarget keywords, stripped copy or None) for the build a
    table describes, or (None, reason, None) when this machine lacks it.
    Debian tables: the host's or a chroot's python3.X, stripped as shipped;
    upstream tables: a stripped copy of that pyenv build's libpython."""
    version, debian = key.split('-')[0], key.endswith('-debian')
    minor = version.rsplit('.', 1)[0]
    if debian:
        for c in targets.host_debian_pythons() + targets.chroot_pythons():
            if c['version'] == version:
                kw = dict(python=c['python'], chroot=c['root']) if c['root'] else dict(python=c['python'])
                return '%s %s' % (c['suite'], version), kw, None
        return None, 'no Debian python %s here (host, chroots: %s)' % (
            version, versions(targets.chroot_pythons())), None
    py = targets.pyenv_python(minor)
    if not py or targets.python_version(py) != version:
        return None, 'pyenv CPython %s not installed' % version, None
    s = targets.StrippedCopy(minor, tmp, mode=strip)
    return 'pyenv %s stripped-%s' % (version, strip), dict(python=s.python, env=s.env), s


def loo_check(left, stripped):
    """layout_source names neither DWARF nor a table the build left out."""
    def check(tap, report, t):
        no_dwarf_check(stripped=stripped)(tap, report, t)
        src = str((report.get('python') or {}).get('layout_source'))
        words = set(re.split(r'[+,:;() ]+', src))
        tap.ok(not words & set(left), '%s: layout_source %r names no left-out table (%s)' % (
            t.scenario, src, ', '.join(left)))
    return check


def build_loo(tap, args):
    """Builds (or brings up to date) the leave-one-out binary; its path or
    None."""
    tool = os.path.join(args.loo_build, 'ui', 'pyleak-attach')
    p = subprocess.run([BUILD_LOO, args.loo_build, args.loo_table], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900,
                       universal_newlines=True)
    if not tap.ok(p.returncode == 0 and os.access(tool, os.X_OK),
                  'tests/env/build-loo %s %s' % (args.loo_build, args.loo_table),
                  p.stdout.splitlines()[-15:]):
        return None
    return tool


def cmd_loo(args, tap):
    if not (args.loo_build and args.loo_table):
        tap.ok(False, 'loo needs --loo-build DIR and --loo-table NAME')
        return
    full = targets.tool_tables(args.tool)
    left = targets.tables_named(full or [], args.loo_table)
    if not tap.ok(left, 'the complete build (%s) has table(s) %s' % (args.tool, args.loo_table),
                  ['its tables: %s' % ' '.join(full or ['(none listed by -V)'])]):
        return
    tool = build_loo(tap, args)
    if not tool:
        return
    kept = targets.tool_tables(tool) or []
    if not tap.ok(set(kept) == set(full) - set(left),
                  '%s -V: every table but %s' % (tool, ', '.join(left)),
                  ['embeds: %s' % ' '.join(kept)], always=True):
        return
    if any(k.endswith('-debian') for k in left) and os.geteuid() == 0:
        targets.build_chroots()
    with tempfile.TemporaryDirectory(prefix='pyleak-loo-') as tmp:
        for key in left:
            tag, kw, stripped = loo_interpreter(key, tmp, args.strip)
            if not tag:
                tap.skip('%s left out: the build it describes' % key, kw)
                continue
            tag = 'without %s: %s' % (args.loo_table, tag)
            for sc in args.scenario or NO_TABLE_SCENARIOS:
                # an empty PYLEAK_ATTACH_CACHE_DIR and --no-cache: no layout
                # an earlier run cached can stand in for the left-out table
                envtest.run_scenario(tap, tool, '%s [%s]' % (tag, sc), tmp, sc, kw,
                                     tool_env={'PYLEAK_ATTACH_CACHE_DIR': ''},
                                     extra_tool_args=['--no-cache'],
                                     check=loo_check(left, stripped))


def main():
    args = envtest.parse_args(__doc__, lambda ap: (
        ap.add_argument('mode', choices=['chroot', 'debian', 'stripped', 'refused', 'family', 'dbg',
                                         'loo']),
        ap.add_argument('--loo-build', help='loo: the build directory without the table(s)'),
        ap.add_argument('--loo-table', help='loo: the -Dleave_out name (3.13.0, 3.14)'),
        ap.add_argument('--python', action='append', help='3.X (repeatable)'),
        ap.add_argument('--strip', choices=['debug', 'all'], default='debug',
                        help='strip --strip-debug (default) or --strip-all')))
    tap = envtest.Tap()
    if envtest.tool_ok(tap, args.tool):
        {'chroot': cmd_chroot, 'debian': cmd_debian, 'stripped': cmd_stripped,
         'refused': cmd_refused, 'family': cmd_family, 'dbg': cmd_dbg,
         'loo': cmd_loo}[args.mode](args, tap)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
