"""tests/env/targets.py: run the e2e scenario target under other builds and
isolation, for the distro / container / core / debuginfod tests.

The target itself is H5's tests/e2e/target.py with its pipe protocol
(ready byte b"R", command b"report", done byte b"D", oracle JSON at --out);
EnvTarget subclasses run_e2e.Target, so run_e2e's wait_byte/send/stop and
the oracle comparison (run_e2e.compare, run_e2e.Ctx) work unchanged.

What it adds, each usable alone or combined:
  python=        any interpreter: a pyenv one (pyenv_python), a stripped copy
                 (StrippedCopy: libpython copied and stripped, loaded through
                 LD_LIBRARY_PATH, which beats pyenv's RUNPATH), Debian's
                 /usr/bin/python3.X, or a path inside a chroot
  chroot=DIR     run inside a Debian chroot of tests/env/build-chroots: the
                 target script is copied in, its oracle is read back from
                 DIR/...; the chroot is bind-mounted on an empty directory and
                 /proc mounted, both only in a private mount namespace (the
                 oracle counts /proc/self/task), so nothing is left mounted
                 whatever happens.  This is the container case: the paths in
                 the target's maps name nothing on the host; its files are
                 reachable only through /proc/PID/root or map_files.
  pidns=True     own PID namespace (unshare --pid --fork --kill-child, /proc
                 remounted privately); .pid is the HOST pid, .nspid the pid
                 inside (2 under a tiny sh init, 1 with as_init=True).

Stdlib only; runs under the system python3.  Every wait is bounded.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(os.path.dirname(HERE), 'e2e')
if E2E not in sys.path:
    sys.path.insert(0, E2E)

import run_e2e  # noqa: E402  (H5's harness: Target, compare, Ctx, Tap)

TARGET = run_e2e.TARGET
CHROOT_CACHE = os.environ.get('PYLEAK_CHROOT_CACHE', '/var/cache/pyleak-attach/chroots')
BUILD_CHROOTS = os.path.join(HERE, 'build-chroots')


# ---------------------------------------------------------------------------
# Finding interpreters

def pyenv_python(minor):
    """Path of the newest pyenv CPython minor ('3.12'), or None."""
    return run_e2e.pyenv_pythons().get(minor)


def python_version(python, chroot=None):
    """'3.12.1' as the interpreter says (run in the chroot when given)."""
    cmd = [python, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']
    if chroot:
        cmd = [shutil.which('chroot') or '/usr/sbin/chroot', chroot] + cmd
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL, timeout=60,
                              universal_newlines=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


# Every suite tests/env/build-chroots knows, in its order.
SUITES = ('trixie', 'sid', 'forky', 'bullseye')


def chroot_pythons(suites=SUITES, dbg=False):
    """[{'suite': 'sid', 'root': DIR, 'python': '/usr/bin/python3.14',
    'version': '3.14.10', 'minor': '3.14', 'dbg': False}, ...] from the
    chroots' markers (only chroots build-chroots finished).  dbg=True: the
    Py_DEBUG interpreters ("python-dbg" lines: python3.X-dbg's
    /usr/bin/python3.Xd) instead of the plain ones."""
    found = []
    for suite in suites:
        root = os.path.join(CHROOT_CACHE, suite)
        try:
            with open(os.path.join(root, '.pyleak-chroot')) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            m = re.match(r'^python(-dbg)? (\S+) (\d+\.\d+)\.(\d+)$', line)
            if m and bool(m.group(1)) == dbg:
                found.append({'suite': suite, 'root': root, 'python': m.group(2),
                              'version': '%s.%s' % (m.group(3), m.group(4)),
                              'minor': m.group(3), 'dbg': dbg})
    return found


def host_debian_pythons(dbg=False):
    """The host's Debian interpreters, as chroot_pythons() lists them
    (root None): /usr/bin/python3.X, or with dbg=True python3.X-dbg's
    /usr/bin/python3.Xd."""
    found = []
    for path in sorted(glob.glob('/usr/bin/python3.[0-9]*')):
        if not re.match(r'^python3\.\d+%s$' % ('d' if dbg else ''), os.path.basename(path)):
            continue
        ver = python_version(path)
        if ver and os.access(path, os.X_OK):
            found.append({'suite': 'host', 'root': None, 'python': path, 'version': ver,
                          'minor': ver.rsplit('.', 1)[0], 'dbg': dbg})
    return found


def tool_tables(tool):
    """The keys of the layout tables the tool embeds ('3.13.5-debian', ...)
    from the second line of its -V, or None when it prints none."""
    try:
        out = subprocess.run([tool, '-V'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, timeout=60,
                             universal_newlines=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        if line.startswith('layout tables:'):
            return line.split(':', 1)[1].split()
    return None


def table_key(version, debian):
    """The key a table for this build would have: '3.13.5-debian', '3.12.1'."""
    return version + ('-debian' if debian else '')


def tables_named(keys, name):
    """The keys a -Dleave_out name stands for: itself, or every table of a
    minor version ('3.14')."""
    return [k for k in keys if k == name or k.startswith(name + '.')]


def build_chroots(timeout=900, suites=()):
    """Runs tests/env/build-chroots for SUITES (default: all; a no-op when
    cached).  Returns (ok, message)."""
    if os.geteuid() != 0:
        return False, 'not root: cannot debootstrap or chroot'
    if not shutil.which('debootstrap'):
        return False, 'debootstrap not installed (scripts/setup --deps-only)'
    try:
        p = subprocess.run([BUILD_CHROOTS] + list(suites), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, universal_newlines=True)
    except subprocess.TimeoutExpired:
        return False, 'build-chroots timed out after %ds' % timeout
    return p.returncode == 0, p.stdout.strip()


def libpython_of(python):
    """The libpython the interpreter loads (pyenv: RUNPATH lib dir), or None
    for a static build."""
    ver = os.path.basename(python).replace('python', '')
    cand = os.path.join(os.path.dirname(os.path.dirname(python)), 'lib',
                        'libpython%s.so.1.0' % ver)
    return cand if os.path.exists(cand) else None


def build_id(path):
    """Hex GNU build-id of an ELF file, via readelf -n, or None."""
    try:
        out = subprocess.run(['readelf', '-n', path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=60,
                             universal_newlines=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'Build ID:\s*([0-9a-f]+)', out)
    return m.group(1) if m else None


def has_debug_info(path):
    try:
        out = subprocess.run(['readelf', '-S', '-W', path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=60,
                             universal_newlines=True).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return '.debug_info' in out


class StrippedCopy:
    """A pyenv CPython whose libpython is a stripped copy.

    mode 'debug': strip --strip-debug (keeps .symtab; what a distro's
    -dbgsym split leaves); 'all': strip --strip-all (.dynsym only).  With
    split_debug=True the DWARF is first saved with objcopy --only-keep-debug
    into .debug_file (for the debuginfod fixture).  The interpreter is the
    original pyenv binary, pointed at the copy with LD_LIBRARY_PATH (pyenv
    sets RUNPATH, not RPATH, so LD_LIBRARY_PATH wins); check_maps() proves
    it from /proc/PID/maps."""

    def __init__(self, minor, workdir, mode='debug', split_debug=False):
        self.python = pyenv_python(minor)
        if not self.python:
            raise LookupError('pyenv CPython %s not installed' % minor)
        src = libpython_of(self.python)
        if not src:
            raise LookupError('%s has no shared libpython' % self.python)
        self.libdir = os.path.join(workdir, 'lib-stripped-%s' % minor)
        os.makedirs(self.libdir, exist_ok=True)
        self.lib = os.path.join(self.libdir, os.path.basename(src))
        shutil.copy2(src, self.lib)
        self.debug_file = None
        if split_debug:
            self.debug_file = self.lib + '.debug'
            subprocess.run(['objcopy', '--only-keep-debug', self.lib, self.debug_file],
                           check=True, timeout=120, stdin=subprocess.DEVNULL)
        subprocess.run(['strip', '--strip-debug' if mode == 'debug' else '--strip-all', self.lib],
                       check=True, timeout=120, stdin=subprocess.DEVNULL)
        self.build_id = build_id(self.lib)
        self.env = {'LD_LIBRARY_PATH': self.libdir}

    def check_maps(self, pid):
        """True when process pid has the stripped copy mapped, not the
        original."""
        try:
            with open('/proc/%d/maps' % pid) as f:
                maps = f.read()
        except OSError:
            return False
        return self.lib in maps


class StrippedExe:
    """A stripped copy (strip --strip-all) of a statically linked interpreter,
    such as Debian's /usr/bin/python3.Xd, run where the package put the
    original: a build whose debug info must not be found, which still looks
    like the distribution's (pyinterp.c decides the Debian variant from
    the path).

    In a chroot (root=DIR) the copy is DIR/usr/bin/python3.Xd-stripped,
    run as .python; close() removes it.  On the host the copy is made in
    workdir and bind-mounted over the original only where the target runs
    (.binds, for EnvTarget's binds=): nothing on the host changes."""

    def __init__(self, python, workdir, root=None):
        if root:
            self.lib = root + python + '-stripped'
            self.python = python + '-stripped'
            self.binds = ()
        else:
            self.lib = os.path.join(workdir, os.path.basename(python) + '-stripped')
            self.python = python
            self.binds = ((self.lib, python),)
        shutil.copy2((root or '') + python, self.lib)
        subprocess.run(['strip', '--strip-all', self.lib], check=True, timeout=120,
                       stdin=subprocess.DEVNULL)
        self.root = root

    def target_kw(self):
        """EnvTarget keywords that run the copy."""
        if self.root:
            return dict(python=self.python, chroot=self.root)
        return dict(python=self.python, binds=self.binds)

    def check_maps(self, pid):
        """True when process pid runs an executable without debug info
        (the copy: /proc/PID/exe opens the file it runs, mount included)."""
        return os.path.exists('/proc/%d/exe' % pid) and \
            not has_debug_info('/proc/%d/exe' % pid)

    def close(self):
        try:
            os.unlink(self.lib)
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Processes

def _status(pid):
    return run_e2e.proc_status(pid)


def nspids(pid):
    """NSpid list of a host pid: [host, ..., innermost]."""
    v = _status(pid).get('NSpid', '')
    return [int(x) for x in v.split()] if v else []


def _children(pid):
    kids = []
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        for d in os.listdir('/proc'):
            if d.isdigit() and _status(int(d)).get('PPid') == str(pid):
                kids.append(int(d))
    return kids


def descendants(pid):
    out, todo = [], [pid]
    while todo and len(out) < 1000:
        p = todo.pop()
        for k in _children(p):
            out.append(k)
            todo.append(k)
    return out


class EnvTarget(run_e2e.Target):
    """run_e2e.Target under a chroot and/or its own PID namespace."""

    def __init__(self, python, scenario, tmpdir, env=None, chroot=None, pidns=False,
                 as_init=False, binds=()):
        self.scenario = scenario
        self.chroot = chroot
        self.pidns = pidns
        self.nspid = None
        self.log = os.path.join(tmpdir, 'target-%s.log' % scenario)
        script = TARGET
        out_inner = os.path.join(tmpdir, 'oracle-%s.json' % scenario)
        self.out = out_inner
        self._inner_dir = None
        self._mnt = None
        if chroot:
            self._inner_dir = tempfile.mkdtemp(prefix='pyleak-', dir=os.path.join(chroot, 'tmp'))
            shutil.copy(TARGET, self._inner_dir)
            inner = '/tmp/' + os.path.basename(self._inner_dir)
            script = inner + '/target.py'
            out_inner = inner + '/oracle-%s.json' % scenario
            self.out = os.path.join(self._inner_dir, 'oracle-%s.json' % scenario)
        ready_r, ready_w = os.pipe()
        cmd_r, cmd_w = os.pipe()
        argv = [python, script, scenario, '--ready-fd', str(ready_w), '--cmd-fd', str(cmd_r),
                '--out', out_inner]
        e = dict(os.environ)
        for k in ('PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'PYTHONOPTIMIZE'):
            e.pop(k, None)
        if chroot:
            e = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                 'LC_ALL': 'C.UTF-8'}
        e['PYTHONDONTWRITEBYTECODE'] = '1'
        e.update(env or {})
        if chroot or pidns or binds:
            argv = self._wrap(argv, chroot, pidns, as_init, binds)
        with open(self.log, 'w') as logf:
            self.proc = subprocess.Popen(argv, pass_fds=(ready_w, cmd_r), stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=subprocess.STDOUT, env=e)
        os.close(ready_w)
        os.close(cmd_r)
        self.ready_r = ready_r
        self.cmd_w = cmd_w
        self.pid = self.proc.pid
        self._resolved = not (chroot or pidns or binds)

    def _wrap(self, argv, chroot, pidns, as_init, binds=()):
        """unshare + a small sh that mounts /proc where the target will see
        it (private mount namespace: gone with the target) and runs it.

        A chroot is entered through a bind mount on an empty directory that
        exists only as an empty directory outside the namespace: the paths
        in the target's /proc/PID/maps then name nothing on the host, as for
        a Docker container, so a tool must open /proc/PID/root/... or
        /proc/PID/map_files.  binds: (host dir, dir) pairs mounted over
        existing directories that only the target sees (without a chroot),
        e.g. a debug directory installed "in the container"."""
        pre = ['unshare', '--mount', '--propagation', 'private']
        if pidns:
            pre += ['--pid', '--fork', '--kill-child']
        steps = []
        root = None
        if chroot:
            self._mnt = tempfile.mkdtemp(prefix='pyleak-ctr-')
            root = self._mnt
            steps.append('mount --bind "%s" "%s" || exit 125' % (chroot, root))
            steps.append('mount -t proc proc "%s/proc" || exit 125' % root)
            run = [shutil.which('chroot') or '/usr/sbin/chroot', root] + argv
        else:
            if pidns:
                steps.append('mount -t proc proc /proc || exit 125')
            for src, dst in binds:
                steps.append('mount --bind "%s" "%s" || exit 125' % (src, dst))
            run = argv
        if pidns and not as_init:
            # sh stays pid 1 and reaps; the target is a child, as under
            # tini/dumb-init in a container
            steps.append('"$@" & wait $!')
        else:
            steps.append('exec "$@"')
        return pre + ['/bin/sh', '-c', '; '.join(steps), 'sh'] + run

    def resolve(self, timeout=10):
        """Finds the target's host pid (and pid in its namespace) among the
        wrapper's descendants: the process running target.py."""
        if self._resolved:
            return True
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for p in [self.proc.pid] + descendants(self.proc.pid):
                try:
                    with open('/proc/%d/cmdline' % p, 'rb') as f:
                        cmd = f.read().split(b'\0')
                except OSError:
                    continue
                if any(c.endswith(b'target.py') for c in cmd) and \
                        os.path.basename(cmd[0]).startswith(b'python'):
                    self.pid = p
                    ns = nspids(p)
                    self.nspid = ns[-1] if ns else p
                    self._resolved = True
                    return True
            time.sleep(0.02)    # polling another process's state, bounded
        return False

    def wait_byte(self, expect, timeout):
        ok, why = run_e2e.Target.wait_byte(self, expect, timeout)
        if ok and expect == b'R' and not self.resolve():
            return False, 'target ready but its process was not found under pid %d' % self.proc.pid
        return ok, why

    def stop(self):
        run_e2e.Target.stop(self)
        if self.proc.poll() is None:
            self.proc.kill()        # --kill-child takes the namespace down
            self.proc.wait()
        if self._inner_dir:
            shutil.rmtree(self._inner_dir, ignore_errors=True)
        if self._mnt:
            try:
                os.rmdir(self._mnt)     # empty outside the namespace
            except OSError:
                pass


# ---------------------------------------------------------------------------
# Self-check: python3 tests/env/targets.py  (starts each kind once)

def _selfcheck():
    kinds = []
    with tempfile.TemporaryDirectory(prefix='pyleak-env-') as tmp:
        py = pyenv_python('3.12')
        if py:
            kinds.append(('pyenv 3.12', dict(python=py)))
            kinds.append(('pyenv 3.12 pidns', dict(python=py, pidns=True)))
            s = StrippedCopy('3.12', tmp)
            kinds.append(('stripped 3.12', dict(python=s.python, env=s.env)))
        if os.path.exists('/usr/bin/python3.11'):
            kinds.append(('debian 3.11', dict(python='/usr/bin/python3.11')))
        for c in chroot_pythons():
            kinds.append(('%s %s' % (c['suite'], c['version']), dict(python=c['python'], chroot=c['root'])))
        if chroot_pythons():
            c = chroot_pythons()[-1]
            kinds.append(('%s %s pidns' % (c['suite'], c['version']),
                          dict(python=c['python'], chroot=c['root'], pidns=True)))
        for name, kw in kinds:
            t = EnvTarget(scenario='gcstate', tmpdir=tmp, **kw)
            try:
                ok, why = t.wait_byte(b'R', 60)
                maps = ''
                if ok:
                    with open('/proc/%d/maps' % t.pid) as f:
                        maps = sorted({l.split()[-1] for l in f if 'libpython' in l or 'bin/python' in l})
                print('%-22s ready=%s host pid %s nspid %s %s %s' % (name, ok, t.pid, t.nspid, maps, why))
            finally:
                t.stop()


if __name__ == '__main__':
    _selfcheck()
