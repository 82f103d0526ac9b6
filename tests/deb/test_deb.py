#!/usr/bin/env python3
"""The Debian package, built from the repository and used on Debian 12 (TAP).

    test_deb.py [--src DIR] [--keep DIR]

1. Copies the files git tracks (their working-tree contents) into a
   temporary directory and builds there with `dpkg-buildpackage -us -uc -b`
   (DEB_BUILD_OPTIONS="parallel=2 nocheck"): never in the source tree.
2. lintian on the .changes: any E: fails (warnings are shown).
3. The .deb holds /usr/bin/pyleak-attach and its Depends name the runtime
   libraries (${shlibs:Depends} worked).
4. Installs it with `apt-get install ./x.deb` into a throwaway overlay of the
   bookworm minbase chroot (tests/env/build-chroots bookworm: python3.11
   only), so apt has to resolve the Depends, then from inside the chroot
   runs `pyleak-attach --version` and a real attach to a python3.11 started
   in the same chroot, compared with that interpreter's own view
   (run_e2e.compare).

The whole test runs in a private mount namespace (it re-executes itself
under `unshare --mount`): the overlay and /proc mounted for the chroot
vanish with it, whatever happens, and the cached chroot is never written.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, 'tests', 'e2e'))

import envtest  # noqa: E402
from envtest import targets, run_e2e  # noqa: E402

NS_MARK = 'PYLEAK_DEB_TEST_IN_NS'
BUILD_TIMEOUT = 1500
CHROOT_ENV = {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL': 'C.UTF-8',
              'DEBIAN_FRONTEND': 'noninteractive'}
# What ${shlibs:Depends} must resolve to: the libraries meson.build links.
RUNTIME_LIBS = ['libdw1', 'libelf1', 'libncursesw6', 'libsqlite3-0']


def run(cmd, timeout, cwd=None, env=None):
    """(rc, combined output); a timeout or a failed exec is an rc string."""
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, universal_newlines=True, errors='replace')
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ''
        if isinstance(out, bytes):
            out = out.decode('utf-8', 'replace')
        return 'timeout after %ds' % timeout, out
    except OSError as e:
        return 'exec failed: %s' % e, ''


def in_chroot(root, argv, timeout=300):
    return run([shutil.which('chroot') or '/usr/sbin/chroot', root] + argv, timeout,
               env=CHROOT_ENV)


def project_version(src):
    with open(os.path.join(src, 'meson.build')) as f:
        m = re.search(r"version\s*:\s*'([^']+)'", f.read())
    return m.group(1) if m else None


def clean_copy(src, dst):
    """The tracked files as they are in the working tree: what a commit of
    it would build, without build directories or other leftovers."""
    rc, out = run(['git', '-C', src, 'ls-files', '-z'], 60)
    if rc != 0:
        return 'git ls-files failed (%s): %s' % (rc, out.strip())
    n = 0
    for rel in out.split('\0'):
        if not rel or not os.path.lexists(os.path.join(src, rel)):
            continue            # deleted in the working tree, not committed yet
        os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel), follow_symlinks=False)
        n += 1
    return None if n else 'git ls-files listed no file in %s' % src


def build(tap, src, tmp):
    """Returns (path of the .deb, path of the .changes) or None."""
    copy = os.path.join(tmp, 'src')
    os.mkdir(copy)
    err = clean_copy(src, copy)
    if not tap.ok(err is None, 'clean copy of the tracked files', [err]):
        return None
    env = dict(os.environ, DEB_BUILD_OPTIONS='parallel=2 nocheck')
    rc, out = run(['dpkg-buildpackage', '-us', '-uc', '-b'], BUILD_TIMEOUT, cwd=copy, env=env)
    debs = [d for d in glob.glob(os.path.join(tmp, 'pyleak-attach_*.deb'))]
    changes = glob.glob(os.path.join(tmp, 'pyleak-attach_*.changes'))
    if not tap.ok(rc == 0 and len(debs) == 1 and len(changes) == 1,
                  'dpkg-buildpackage -us -uc -b builds pyleak-attach_*.deb',
                  ['exit %r, debs %r; output tail:' % (rc, [os.path.basename(d) for d in debs])] +
                  run_e2e.tail(out, 40)):
        return None
    tap.note('dpkg-buildpackage output tail:\n' + '\n'.join(run_e2e.tail(out, 8)))
    return debs[0], changes[0]


def check_lintian(tap, changes):
    rc, out = run(['lintian', '--fail-on', 'error', '--display-info', changes], 600)
    errors = [ln for ln in out.splitlines() if ln.startswith('E:')]
    tap.ok(rc == 0 and not errors, 'lintian reports no error',
           ['exit %r; lintian says:' % (rc,)] + out.splitlines()[-40:])
    tap.note('lintian (all of it):\n' + (out.strip() or '(nothing)'))


def check_contents(tap, deb, version):
    rc, info = run(['dpkg-deb', '-f', deb, 'Package', 'Version', 'Architecture', 'Depends'], 60)
    fields = dict(re.findall(r'^(\S+): (.*)$', info, re.M))
    depends = [d.split()[0] for d in fields.get('Depends', '').split(', ') if d]
    tap.ok(rc == 0 and fields.get('Version') == version,
           'package version %s is the project version %s' % (fields.get('Version'), version),
           [info])
    tap.ok(set(RUNTIME_LIBS) <= set(depends),
           'Depends names the runtime libraries (${shlibs:Depends})',
           ['missing: %s' % ', '.join(sorted(set(RUNTIME_LIBS) - set(depends))),
            'Depends: %s' % fields.get('Depends')])
    rc, files = run(['dpkg-deb', '-c', deb], 60)
    tap.ok(rc == 0 and re.search(r' \./usr/bin/pyleak-attach$', files, re.M),
           'the package installs /usr/bin/pyleak-attach', [files])
    tap.note('%s: %d bytes; contents:\n%s' % (os.path.basename(deb), os.path.getsize(deb),
                                              files.strip()))


def overlay(lower, tmp):
    """A writable view of the cached chroot whose writes land in tmp:
    overlayfs, or a copy where the kernel refuses it.  Returns (root, how)."""
    root = os.path.join(tmp, 'root')
    for d in ('upper', 'work', 'root'):
        os.mkdir(os.path.join(tmp, d))
    rc, out = run(['mount', '-t', 'overlay', 'overlay', '-o',
                   'lowerdir=%s,upperdir=%s/upper,workdir=%s/work' % (lower, tmp, tmp), root], 60)
    if rc == 0:
        return root, 'overlayfs'
    rc2, out2 = run(['cp', '-a', '--reflink=auto', lower + '/.', root], 600)
    if rc2 != 0:
        raise OSError('neither an overlay (%s) nor a copy (%s) of %s' % (
            out.strip(), out2.strip(), lower))
    return root, 'copy (overlayfs refused: %s)' % out.strip()


def install(tap, deb, root):
    shutil.copy(deb, os.path.join(root, 'tmp'))
    inner = '/tmp/' + os.path.basename(deb)
    rc, out = in_chroot(root, ['apt-get', 'install', '-y', '-q', '--no-install-recommends',
                               inner], 600)
    if not tap.ok(rc == 0, 'apt-get install %s in the bookworm chroot' % inner,
                  ['exit %r; output tail:' % (rc,)] + run_e2e.tail(out, 30)):
        return False
    rc, out = in_chroot(root, ['dpkg-query', '-W', '-f', '${Package} ${Status}\\n',
                               'pyleak-attach'] + RUNTIME_LIBS, 60)
    installed = [ln.split()[0] for ln in out.splitlines() if ln.endswith('install ok installed')]
    return tap.ok(set(['pyleak-attach'] + RUNTIME_LIBS) <= set(installed),
                  'apt resolved the Depends: the package and its libraries are installed',
                  ['dpkg-query: exit %r' % (rc,), out])


def check_version(tap, root, version):
    rc, out = in_chroot(root, ['pyleak-attach', '--version'], 60)
    tap.ok(rc == 0 and out.splitlines()[:1] == ['pyleak-attach %s' % version],
           'in the chroot, pyleak-attach --version says %s' % version,
           ['exit %r: %r' % (rc, out)])


def check_attach(tap, root, tmp, version):
    """python3.11 started in the chroot (EnvTarget: its own mount namespace
    and /proc), the installed tool run in the same chroot, whose /proc
    main_in_ns mounted."""
    tag = 'bookworm deb'
    t = targets.EnvTarget(python='/usr/bin/python3.11', scenario='types', tmpdir=tmp, chroot=root)
    try:
        ok, why = t.wait_byte(b'R', 120)
        if not tap.ok(ok, '%s: python3.11 target ready in the chroot' % tag, [why, t.log_text()]):
            return
        work = tempfile.mkdtemp(prefix='pyleak-deb-', dir=os.path.join(root, 'tmp'))
        inner_json = '/tmp/%s/report.json' % os.path.basename(work)
        rc, out = in_chroot(root, ['pyleak-attach', '--text', '-', '--json', inner_json,
                                   '--objects', '--all-cycles', str(t.pid)],
                            run_e2e.TOOL_TIMEOUT)
        report, jerr = envtest.load_json(os.path.join(work, 'report.json'))
        if not tap.ok(rc == 0 and report is not None,
                      '%s: chroot DIR pyleak-attach %d --text - --json F exits 0' % (tag, t.pid),
                      ['exit %r; %s; output:' % (rc, jerr or 'json ok')] + run_e2e.tail(out, 20)):
            return
        py = report.get('python') or {}
        tap.ok(py.get('version') == '3.11.2' and str(py.get('path', '')).endswith('python3.11'),
               '%s: the report names the chroot\'s python3.11' % tag, [repr(py)])
        head = 'pyleak-attach %s: pid %d, CPython 3.11.2' % (version, t.pid)
        size = r'[\d.]+ [KMG]?i?B\s+'
        row = re.search(r'^\s+\d+\s+%s(%s)?builtins\.dict$' % (size, size), out, re.M)
        tap.ok(head in out.splitlines() and row is not None,
               '%s: the text report on stdout: "%s" and a types-by-size row' % (tag, head),
               run_e2e.tail(out, 30))
        tap.note('%s: text report head:\n%s' % (tag, '\n'.join(out.splitlines()[:6])))
        t.send(b'report')
        ok, why = t.wait_byte(b'D', 300)
        if not tap.ok(ok, '%s: oracle computed by the target' % tag, [why]):
            return
        oracle, oerr = envtest.load_json(t.out)
        if tap.ok(oracle is not None, '%s: oracle readable' % tag, [oerr]):
            run_e2e.compare(tap, tag, run_e2e.Ctx(oracle, report), t.pid)
    finally:
        t.stop()


def main_in_ns(args, tap):
    version = project_version(args.src)
    tmp = tempfile.mkdtemp(prefix='pyleak-deb-', dir=args.keep)
    root = None
    try:
        built = build(tap, args.src, tmp)
        if not built:
            return
        deb, changes = built
        check_lintian(tap, changes)
        check_contents(tap, deb, version)
        lower = os.path.join(targets.CHROOT_CACHE, 'bookworm')
        if not os.path.isfile(os.path.join(lower, '.pyleak-chroot')):
            tap.note('building the bookworm chroot once (tests/env/build-chroots bookworm)')
        ok, msg = targets.build_chroots(suites=['bookworm'])
        if not tap.ok(ok, 'tests/env/build-chroots bookworm: chroot ready', msg.splitlines()[-15:]):
            return
        root, how = overlay(lower, tmp)
        tap.note('chroot: %s of %s' % (how, lower))
        rc, out = run(['mount', '-t', 'proc', 'proc', os.path.join(root, 'proc')], 60)
        if not tap.ok(rc == 0, 'mount /proc in the chroot (private namespace)', [out]):
            return
        if install(tap, deb, root):
            check_version(tap, root, version)
            check_attach(tap, root, tmp, version)
    finally:
        if root:
            # the namespace would drop them at exit, but rmtree must not
            # walk into /proc or the merged view first
            run(['umount', '-R', '-l', root], 60)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--src', default=SRC, help='the repository (default: this one)')
    ap.add_argument('--keep', help='build in a new directory under KEEP and leave it there')
    args = ap.parse_args()
    tap = run_e2e.Tap()
    if os.geteuid() != 0:
        tap.skip('Debian package in a chroot', 'needs root (chroot, mount, apt-get in the chroot)')
        print('1..%d' % tap.n)
        return 0
    if os.environ.get(NS_MARK) != '1':
        unshare = shutil.which('unshare')
        if not unshare:
            tap.ok(False, 'unshare is installed (util-linux; scripts/setup --deps-only)')
            print('1..%d' % tap.n)
            return 1
        os.environ[NS_MARK] = '1'
        sys.stdout.flush()
        os.execv(unshare, [unshare, '--mount', '--propagation', 'private', sys.executable,
                           os.path.abspath(__file__)] + sys.argv[1:])
    missing = [t for t in ('dpkg-buildpackage', 'dh', 'lintian', 'git', 'debootstrap')
               if not shutil.which(t)]
    if tap.ok(not missing, 'build tools installed',
              ['missing: %s (scripts/setup --deps-only installs them)' % ', '.join(missing)]):
        main_in_ns(args, tap)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
