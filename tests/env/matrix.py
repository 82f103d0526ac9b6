#!/usr/bin/env python3
"""tests/env/matrix.py: build x layout source x oracle result, for every
CPython build this machine has, as a Markdown table (README, "Supported
Pythons").

Rows: each pyenv CPython (with its DWARF, then with libpython stripped of
it), the host's Debian python3.X, every chroot's python3.X
(tests/env/build-chroots: trixie, sid, forky, bullseye), Debian's debug
interpreters python3.Xd (as shipped and stripped), and, for each
leave-one-out build found (build-loo-NAME/ui/pyleak-attach, made by
tests/env/build-loo), the builds whose tables it left out, stripped.
Each row runs one e2e scenario (default types) and compares the tool
with the target's own view (run_e2e.compare, as tests/e2e/test_distro.py
does): "pass (N checks)", "FAIL k/N: first failed check", or "refused:
the tool's message".  No layout cache is used.  Prints; never fails.

    tests/env/matrix.py [--tool build/ui/pyleak-attach] [--scenario types]
                        [--loo DIR]... (default: every build-loo-*/ here)
Root for the chroots; stdlib only.
"""
import argparse
import glob
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'e2e'))
import envtest  # noqa: E402
import test_distro  # noqa: E402  (loo_interpreter)
from envtest import targets, run_e2e  # noqa: E402


class Record(run_e2e.Tap):
    """A Tap that prints nothing and keeps the results."""

    def __init__(self):
        run_e2e.Tap.__init__(self)
        self.results = []

    def ok(self, cond, desc, diag=(), always=False):
        self.n += 1
        self.failed += not cond
        self.results.append((bool(cond), desc, [str(d) for d in diag]))
        return cond

    def ok_or_todo(self, cond, todo, desc, reason, diag=()):
        return self.ok(cond or todo, desc, diag)

    def skip(self, desc, why):
        pass

    def note(self, line):
        pass


def refused(msg):
    """The tool's first line, without the run's temporary paths."""
    return 'refused: ' + re.sub(r' \(/[^)]*\)', '', msg[len('pyleak-attach: '):])


def verdict(rec, report):
    for cond, desc, diag in rec.results:
        if 'refused (exit 2)' in desc:
            msg = next((d for d in diag if d.startswith('pyleak-attach:')), desc)
            return refused(msg)
    if report is None:
        msg = next((d for _, _, diag in rec.results for d in diag
                    if d.startswith('pyleak-attach:')), None)
        if msg:
            return refused(msg)
    bad = [desc for cond, desc, _ in rec.results if not cond]
    if bad:
        return 'FAIL %d/%d: %s' % (len(bad), len(rec.results), bad[0])
    return 'pass (%d checks)' % len(rec.results)


def rows(tmp, tool, loos):
    """(build, tool label, tool path, EnvTarget keywords, cleanup or None)."""
    for minor, py in sorted(run_e2e.pyenv_pythons().items(),
                            key=lambda kv: tuple(map(int, kv[0].split('.')))):
        ver = targets.python_version(py)
        yield 'pyenv %s (DWARF)' % ver, 'complete', tool, dict(python=py), None
        try:
            s = targets.StrippedCopy(minor, tmp, mode='debug')
            yield 'pyenv %s stripped' % ver, 'complete', tool, dict(python=s.python, env=s.env), None
        except (LookupError, OSError):
            pass
    for c in targets.host_debian_pythons() + targets.chroot_pythons():
        kw = dict(python=c['python'], chroot=c['root']) if c['root'] else dict(python=c['python'])
        yield 'Debian %s %s' % (c['suite'], c['version']), 'complete', tool, kw, None
    for c in targets.host_debian_pythons(dbg=True) + targets.chroot_pythons(dbg=True):
        chroot = dict(chroot=c['root']) if c['root'] else {}
        name = 'Debian %s %s debug build' % (c['suite'], c['version'])
        yield name, 'complete', tool, dict(python=c['python'], **chroot), None
        s = targets.StrippedExe(c['python'], tmp, root=c['root'])
        yield name + ', stripped in place', 'complete', tool, s.target_kw(), s.close
    full = targets.tool_tables(tool) or []
    for d in loos:
        loo_tool = os.path.join(d, 'ui', 'pyleak-attach')
        kept = targets.tool_tables(loo_tool)
        if kept is None:
            continue
        left = [k for k in full if k not in kept]
        for key in left:
            tag, kw, _ = test_distro.loo_interpreter(key, tmp, 'debug')
            if tag:
                yield tag + ' (table %s)' % key, 'without ' + ', '.join(left), loo_tool, kw, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--tool', default=os.path.join(ROOT, 'build', 'ui', 'pyleak-attach'))
    ap.add_argument('--scenario', default='types')
    ap.add_argument('--loo', action='append', help='a leave-one-out build directory')
    a = ap.parse_args()
    if not os.access(a.tool, os.X_OK):
        sys.exit('matrix: no tool at %s (build it: ./scripts/setup)' % a.tool)
    loos = a.loo if a.loo is not None else sorted(glob.glob(os.path.join(ROOT, 'build-loo-*')))
    # the harness prints sanitizer reports whole on stdout: they go to
    # stderr here, so stdout stays the table
    out, sys.stdout = sys.stdout, sys.stderr
    print = lambda *a: (out.write(' '.join(map(str, a)) + '\n'), out.flush())  # noqa: E731
    print('| build | pyleak-attach | layout source | oracle (%s) |' % a.scenario)
    print('|---|---|---|---|')
    with tempfile.TemporaryDirectory(prefix='pyleak-matrix-') as tmp:
        for build, label, tool, kw, cleanup in rows(tmp, a.tool, loos):
            rec = Record()
            try:
                report = envtest.run_scenario(rec, tool, build, tmp, a.scenario, kw,
                                              tool_env={'PYLEAK_ATTACH_CACHE_DIR': ''},
                                              extra_tool_args=['--no-cache'], refusal='debug build')
            finally:
                if cleanup:
                    cleanup()
            src = ((report or {}).get('python') or {}).get('layout_source') or '-'
            print('| %s | %s | `%s` | %s |' % (build, label, src,
                                               verdict(rec, report).replace('|', '/')))


if __name__ == '__main__':
    main()
