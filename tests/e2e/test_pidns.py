#!/usr/bin/env python3
"""A target in its own PID namespace, attached by its host pid (TAP).

    test_pidns.py --tool PATH

The target runs under `unshare --pid --fork` (a small sh is pid 1 there, the
target a child, as under tini in a container), once with a pyenv CPython and
once in a sid chroot (container case: own PID and mount namespace, files only
through /proc/PID/root).  The user gives the host pid; the report must carry
it as "pid" and, once the CLI reports it, the pid inside the namespace
("pid_in_namespace" or "nspid").  Then the usual oracle comparison.
"""
import os
import sys
import tempfile

import envtest
from envtest import targets

NS_KEYS = ('pid_in_namespace', 'nspid')


def ns_check(tap, report, t):
    tap.ok(report.get('pid') == t.pid and t.nspid and t.nspid != t.pid,
           'report pid is the host pid %d (the target is pid %s inside its namespace)' % (t.pid, t.nspid),
           ['report pid %r' % report.get('pid')])
    key = next((k for k in NS_KEYS if k in report), None)
    if key is None:
        tap.skip('report shows the pid inside the namespace',
                 'the JSON report has no %s field yet' % ' / '.join(NS_KEYS))
    else:
        tap.ok(report.get(key) == t.nspid, 'report %s = %d, the pid inside the namespace' % (key, t.nspid),
               ['report %s %r' % (key, report.get(key))])


def main():
    args = envtest.parse_args(__doc__)
    tap = envtest.Tap()
    if not envtest.tool_ok(tap, args.tool):
        return tap.done()
    if os.geteuid() != 0:
        tap.skip('PID namespace targets', 'needs root (unshare --pid)')
        return tap.done()
    py = targets.pyenv_python('3.12') or targets.pyenv_python('3.11')
    with tempfile.TemporaryDirectory(prefix='pyleak-pidns-') as tmp:
        if not py:
            tap.skip('pyenv target in a PID namespace', 'no pyenv CPython 3.12/3.11 installed')
        else:
            for s in args.scenario or ['garbage']:
                envtest.run_scenario(tap, args.tool, 'pidns pyenv', tmp, s,
                                     dict(python=py, pidns=True), check=ns_check)
        sid = [c for c in targets.chroot_pythons() if c['suite'] == 'sid']
        if not sid:
            # A fresh machine: build them here too (build-chroots serialises
            # on a lock with test_distro.py's build, and is cached after).
            built, msg = targets.build_chroots(timeout=1100)
            tap.ok(built, 'tests/env/build-chroots: chroots ready', msg.splitlines()[-10:])
            sid = [c for c in targets.chroot_pythons() if c['suite'] == 'sid']
        if not sid:
            tap.skip('sid chroot target in a PID namespace',
                     'no chroot built (tests/env/build-chroots; test_distro.py chroot builds it)')
        else:
            c = sid[-1]
            for s in args.scenario or ['garbage']:
                envtest.run_scenario(tap, args.tool, 'pidns+chroot sid %s' % c['version'], tmp, s,
                                     dict(python=c['python'], chroot=c['root'], pidns=True),
                                     check=ns_check)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
