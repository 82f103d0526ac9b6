#!/usr/bin/env python3
"""What a new user meets first: bad input, permissions, the pre-flight (TAP).

    test_usage.py --tool PATH inputs    every cheap check refuses before the target is touched
    test_usage.py --tool PATH perm      EPERM names the one cause that applies
    test_usage.py --tool PATH check     --check PID reports and never stops the target
    test_usage.py --tool PATH partial   exit code 1 is explained on stderr

Each bad input of issue #16's list is one test: its exit code, the words of
its message (the cause, and a hint naming the fix), and, where a live target
is given, that the target was never stopped or traced.  Runs under the
system python3, stdlib only; needs root (to switch users) and a pyenv
CPython.
"""
import argparse
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'env'))
sys.path.insert(0, HERE)

import run_e2e  # noqa: E402
from run_e2e import Tap, Target, run_tool, tail, proc_state, tracer_pid  # noqa: E402
import targets  # noqa: E402

NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']


def start_target(tap, tmp, scenario='gcstate', **kw):
    ver, python = run_e2e.preferred_python()
    if python is None:
        tap.skip('a pyenv CPython target', 'no pyenv CPython 3.8-3.13 installed')
        return None
    tgt = targets.EnvTarget(python, scenario, tmp, **kw) if kw else Target(python, scenario, tmp)
    ok, why = tgt.wait_byte(b'R', 120)
    if not ok:
        tap.ok(False, 'target ready', [why])
        tgt.stop()
        return None
    return tgt


def untouched(tgt):
    return proc_state(tgt.pid) not in ('T', 't') and tracer_pid(tgt.pid) == 0


def refused(tap, desc, res, words, tgt=None, absent=(), rc_want=64, max_secs=5.0):
    """One refusal: exit code, every word of `words` (lowercase) in stderr
    with a hint, none of `absent`, nothing on stdout, quick, target untouched."""
    rc, out, err, secs = res
    low = err.lower()
    missing = [w for w in words if w.lower() not in low]
    there = [w for w in absent if w.lower() in low]
    good = (rc == rc_want and not missing and not there and 'hint:' in low and
            out.strip() == '' and secs <= max_secs and (tgt is None or untouched(tgt)))
    d = ['exit %r (want %d) in %.2fs; stdout %d bytes; stderr:' % (rc, rc_want, secs, len(out))]
    d += ['  ' + l for l in tail(err, 8)]
    if missing:
        d.append('missing from the message: %r' % missing)
    if there:
        d.append('must not appear: %r' % there)
    if tgt is not None and not untouched(tgt):
        d.append('the target was left stopped or traced (state %s, TracerPid %d)' % (
            proc_state(tgt.pid), tracer_pid(tgt.pid)))
    return tap.ok(good, desc, d)


def run_on_pty(tool, args, env, rows=24, cols=80, timeout=30, keys=None):
    """The tool with a pseudo-terminal as stdin and stdout (so it would
    open the browser); returns (rc, output).  keys: (text to wait for in
    the output, bytes to type then)."""
    import fcntl
    import struct
    import termios
    mfd, sfd = pty.openpty()
    fcntl.ioctl(sfd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    p = subprocess.Popen([tool] + [str(a) for a in args], stdin=sfd, stdout=sfd, stderr=sfd,
                         env=env, close_fds=True)
    os.close(sfd)
    out = b''
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([mfd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(mfd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if keys and keys[0].encode() in out:
                os.write(mfd, keys[1])
                keys = None
        elif p.poll() is not None:
            break
    if p.poll() is None:
        p.kill()
    rc = p.wait()
    os.close(mfd)
    return rc, out.decode('utf-8', 'replace')


# ---------------------------------------------------------------------------
# inputs: refused with exit 64 before the target is opened

def cmd_inputs(args, tap):
    tool = args.tool
    with tempfile.TemporaryDirectory(prefix='pyleak-usage-') as tmp:
        os.chmod(tmp, 0o755)
        tgt = start_target(tap, tmp)
        if tgt is None:
            return
        try:
            inputs_checks(tap, tool, tmp, tgt)
        finally:
            tgt.stop()


def inputs_checks(tap, tool, tmp, tgt):
    pid = tgt.pid
    # --- an existing --dump file without --force
    db = os.path.join(tmp, 'old.db')
    with open(db, 'w') as f:
        f.write('keep me')
    refused(tap, 'existing --dump file without --force: exit 64 before the attach',
            run_tool(tool, ['--dump', db, pid]), ['already exists', db, '--force'], tgt)
    with open(db) as f:
        tap.ok(f.read() == 'keep me', 'the existing dump file is left as it was')

    # --- a missing output directory, named by the user's path
    for opt, name in (('--dump', 'x.db'), ('--json', 'r.json'), ('--text', 'r.txt'),
                      ('--dot', 'c.dot')):
        path = os.path.join(tmp, 'nodir', name)
        refused(tap, '%s into a missing directory: exit 64, names %s' % (opt, path),
                run_tool(tool, [opt, path, pid]),
                [path, 'does not exist', 'mkdir -p'], tgt, absent=['tmp-'])

    # --- an unwritable directory (as nobody: root writes anywhere)
    ro = os.path.join(tmp, 'ro')
    os.mkdir(ro, 0o755)
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        tap.skip('--dump into an unwritable directory', 'needs root and setpriv')
    else:
        path = os.path.join(ro, 'x.db')
        refused(tap, '--dump into a directory nobody cannot write: exit 64, names %s' % path,
                run_tool(tool, ['--dump', path, pid], user=NOBODY),
                [path, 'not writable', 'uid 65534'], tgt, absent=['tmp-'])
    refused(tap, '--json naming a directory: exit 64', run_tool(tool, ['--json', ro, pid]),
            ['is a directory'], tgt)

    # --- budgets: negative, zero, too small to be useful
    for size, words in (('-5', ['positive size', "'-5'"]), ('0', ['--max-memory 0']),
                        ('1K', ['too small', '1m']), ('1000000', ['too small'])):
        res = run_tool(tool, ['--max-memory', size, pid])
        rc, out, err, secs = res
        ok = rc == 64 and all(w.lower() in err.lower() for w in words) and untouched(tgt)
        # a syntax error points at --help; the others say the fix themselves
        ok = ok and ('hint:' in err or 'pyleak-attach --help' in err) and secs <= 5
        tap.ok(ok, '--max-memory %s: exit 64 before the attach' % size,
               ['exit %r, stderr: %s' % (rc, ' | '.join(tail(err, 4)))])
    rc, out, err, secs = run_tool(tool, ['--max-memory', '1M', '--snapshot', 'copy', '--json',
                                         os.path.join(tmp, 'b.json'), pid])
    tap.ok(rc != 64, '--max-memory 1M, the smallest budget, is accepted (exit %r)' % rc,
           ['stderr: ' + ' | '.join(tail(err, 4))])

    # --- two outputs on stdout, or on one file
    for a, b in (('--text', '--json'), ('--json', '--dot'), ('--text', '--dot'),
                 ('--json', '--heapsnapshot')):
        refused(tap, '%s - %s -: exit 64, both would write to stdout' % (a, b),
                run_tool(tool, [a, '-', b, '-', pid]), ['stdout', a, b], tgt)
    same = os.path.join(tmp, 'same')
    refused(tap, '--json F --text F: exit 64, one would overwrite the other',
            run_tool(tool, ['--json', same, '--text', same, pid]), ['both name', same], tgt)

    # --- a dumb terminal: the browser is refused, --text suggested
    env = dict(os.environ, TERM='dumb')
    t0 = time.monotonic()
    rc, out = run_on_pty(tool, [pid], env)
    secs = time.monotonic() - t0
    tap.ok(rc == 64 and '--text' in out and 'dumb' in out and secs < 5 and untouched(tgt),
           'TERM=dumb on a terminal: the browser is refused (exit 64), --text suggested',
           ['exit %r in %.2fs, output: %r' % (rc, secs, out[-400:])])
    env.pop('TERM')
    rc, out = run_on_pty(tool, [pid], env)
    tap.ok(rc == 64 and 'TERM is not set' in out and untouched(tgt),
           'TERM unset on a terminal: refused the same way', ['exit %r, output: %r' % (rc, out[-400:])])


# ---------------------------------------------------------------------------
# perm: a denied attach names the one cause that applies

def denied(tap, desc, res, words, tgt, absent=()):
    """exit 2, one cause: its words, one hint, none of the other causes."""
    refused(tap, desc, res, words + ['permission denied'], tgt,
            absent=list(absent) + ['docker run --security-opt', 'ptrace_scope is'], rc_want=2,
            max_secs=30)
    rc, out, err, secs = res
    hints = [l for l in err.splitlines() if l.startswith('hint:')]
    tap.ok(len(hints) == 1, '%s: one hint, not a list (%d)' % (desc, len(hints)), tail(err, 8))


def cmd_perm(args, tap):
    tool = args.tool
    if os.geteuid() != 0 or not shutil.which('setpriv'):
        tap.skip('permission causes', 'needs root and setpriv (util-linux)')
        return
    with tempfile.TemporaryDirectory(prefix='pyleak-perm-') as tmp:
        os.chmod(tmp, 0o755)
        tgt = start_target(tap, tmp)
        if tgt is None:
            return
        try:
            denied(tap, 'uid 65534 against a root python: "belongs to user root"',
                   run_tool(tool, [tgt.pid], 60, user=NOBODY),
                   ['process %d' % tgt.pid, 'belongs to user root (uid 0)', 'nobody (uid 65534)',
                    'hint: run it as root: sudo'], tgt, absent=['cap-add'])
            # root whose capabilities lack CAP_SYS_PTRACE (a container's
            # default): the root target holds it
            denied(tap, 'root without CAP_SYS_PTRACE against a root python: names the capability',
                   run_tool(tool, [tgt.pid], 60, user=['setpriv', '--bounding-set', '-sys_ptrace']),
                   ['holds capabilities this tool lacks (cap_sys_ptrace)', '--cap-add=SYS_PTRACE'],
                   tgt, absent=['belongs to user'])
        finally:
            tgt.stop()
        # a python that is pid 1 of its own PID namespace, holding a
        # capability the tool lacks (as this machine's init does)
        tgt = start_target(tap, tmp, pidns=True, as_init=True)
        if tgt is None:
            return
        try:
            tap.ok(tgt.nspid == 1, 'the target is pid 1 of its namespace (nspid %r)' % tgt.nspid)
            denied(tap, 'pid 1 of a PID namespace with a capability the tool lacks: "is pid 1"',
                   run_tool(tool, [tgt.pid], 60, user=['setpriv', '--bounding-set', '-sys_ptrace']),
                   ['process %d' % tgt.pid, 'is pid 1, the init process of its pid namespace',
                    'cap_sys_ptrace', 'pgrep -a python'], tgt, absent=['belongs to user'])
        finally:
            tgt.stop()


# ---------------------------------------------------------------------------
# check: the pre-flight reports, and never stops the target

class StopWatch:
    """Polls the target's State and TracerPid on a thread for as long as a
    run lasts: any stop or tracer seen is recorded."""

    def __init__(self, pid):
        import threading
        self.pid = pid
        self.seen = []
        self.polls = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            st = run_e2e.proc_status(self.pid)
            self.polls += 1
            if st.get('State', '?')[:1] in ('T', 't') or st.get('TracerPid', '0') != '0':
                self.seen.append('%s TracerPid %s' % (st.get('State'), st.get('TracerPid')))

    def end(self):
        self._stop.set()
        self._t.join()
        return self.seen


def check_field(out, label):
    m = re.search(r'^%s +(.*)$' % re.escape(label), out, re.M)
    return m.group(1) if m else ''


def cmd_check(args, tap):
    tool = args.tool
    with tempfile.TemporaryDirectory(prefix='pyleak-check-') as tmp:
        os.chmod(tmp, 0o755)
        tgt = start_target(tap, tmp)
        if tgt is None:
            return
        try:
            check_checks(tap, tool, tmp, tgt)
        finally:
            tgt.stop()


def check_checks(tap, tool, tmp, tgt):
    ver, python = run_e2e.preferred_python()
    pid = tgt.pid
    # strace records every ptrace and signal call of the tool: a stop
    # needs one (PTRACE_SEIZE/INTERRUPT, or SIGSTOP) aimed at the target
    trace = os.path.join(tmp, 'strace.out')
    watch = StopWatch(pid)
    # (LeakSanitizer cannot run under strace; the runs below check leaks)
    env = dict(os.environ)
    env['ASAN_OPTIONS'] = (env.get('ASAN_OPTIONS', '') + ':detect_leaks=0').lstrip(':')
    rc, out, err, secs = run_tool(tool, ['--check', pid], 120, env=env,
                                  user=['strace', '-f', '-qq', '-o', trace, '-e',
                                        'trace=ptrace,kill,tgkill,tkill,process_vm_writev'])
    seen = watch.end()
    with open(trace) as f:
        calls = [l.strip() for l in f if re.search(r'(ptrace|kill|tkill|process_vm_writev)\(\w*,? ?%d\b' % pid, l)
                 or re.search(r'kill\(%d\b' % pid, l)]
    tap.ok(rc == 0 and not calls and not seen and watch.polls > 0,
           '--check on a live python: exit 0, no ptrace or signal aimed at the target, never '
           'seen stopped (%d polls of its status)' % watch.polls,
           ['exit %r' % rc, 'calls: %r' % calls[:5], 'seen: %r' % seen[:5]] + tail(out, 12) + tail(err, 4))
    tap.ok(check_field(out, 'process').startswith('%d (' % pid) and 'uid 0' in check_field(out, 'process'),
           '--check: the process line', tail(out, 12))
    tap.ok(check_field(out, 'permission').startswith('ok: this tool runs as root (uid 0) with CAP_SYS_PTRACE'),
           '--check: permission ok, and why', [check_field(out, 'permission')])
    libpy = targets.libpython_of(python) or python
    bid = targets.build_id(os.path.realpath(libpy))
    interp = check_field(out, 'interpreter')
    tap.ok(interp.startswith('CPython %s.' % ver) and bid and ('build-id ' + bid) in interp and
           os.path.basename(libpy) in interp,
           '--check: interpreter version, path and build-id (readelf: %s)' % bid, [interp])
    layout = check_field(out, 'layout')
    tap.ok(layout.split(' ')[0] in ('dwarf', 'debug_offsets') or layout.startswith('table:'),
           '--check: the layout source (%s)' % layout.split(' ')[0], [layout])
    tap.ok(check_field(out, 'verified').startswith('the layout passed the checks'),
           '--check: how the layout was verified', [check_field(out, 'verified')])
    snap = check_field(out, 'snapshot')
    pause = check_field(out, 'pause')
    tap.ok(snap.startswith('auto would use copy: ') and re.match(r'about \d+ ms', pause),
           '--check: what auto would choose and the expected pause', [snap, pause])
    tap.ok('the copy fits' in check_field(out, 'budget') and check_field(out, 'ready').startswith(
           'pyleak-attach %d would pause it about' % pid), '--check: the budget suffices; ready', tail(out, 3))

    # --- problems, each with its fix
    rc2, out2, err2, secs = run_tool(tool, ['--check', pid], 120)
    tap.ok(rc2 == 0 and out2.count('\n') == out.count('\n'),
           '--check without strace: the same report', tail(out2, 3) + tail(err2, 3))
    rc, out, err, secs = run_tool(tool, ['--check', '--snapshot', 'copy', '--max-memory', '1M', pid], 120)
    tap.ok(rc == 2 and re.search(r'^problem: +a copy of .* is over the budget of 1\.0 MiB$', out, re.M) and
           re.search(r'^fix: +--max-memory \d+M or more, or --snapshot fork', out, re.M) and untouched(tgt),
           '--check --snapshot copy --max-memory 1M: the budget problem and its fix, exit 2', tail(out, 6))
    if os.geteuid() == 0 and shutil.which('setpriv'):
        rc, out, err, secs = run_tool(tool, ['--check', pid], 120, user=NOBODY)
        tap.ok(rc == 2 and check_field(out, 'permission') == 'denied' and
               'belongs to user root (uid 0)' in check_field(out, 'problem:') and
               check_field(out, 'fix:').startswith('run it as root: sudo ') and
               check_field(out, 'not ready') != '',
               '--check as nobody: permission denied, the cause and its fix, exit 2', tail(out, 6))
    os.kill(pid, signal.SIGSTOP)
    run_e2e.wait_until(lambda: proc_state(pid) == 'T', 5)
    rc, out, err, secs = run_tool(tool, ['--check', pid], 120)
    os.kill(pid, signal.SIGCONT)
    tap.ok(rc == 2 and 'is stopped' in check_field(out, 'problem:') and
           'kill -CONT %d' % pid in check_field(out, 'fix:'),
           '--check on a SIGSTOPped target: the problem and kill -CONT', tail(out, 6))
    rc, out, err, secs = run_tool(tool, ['--check', '--json', '-', pid], 60)
    tap.ok(rc == 64 and '--check takes a PID and no output option' in err,
           '--check with an output option: usage error 64', tail(err, 3))


# ---------------------------------------------------------------------------
# partial: exit code 1 is said on stderr every time

PARTIAL_LINE = re.compile(r'^pyleak-attach: exit code 1: the result is partial: \d+ inconsistenc(y|ies) '
                          r'in target memory.*"problems"', re.M)


def cmd_partial(args, tap):
    tool = args.tool
    ver, python = run_e2e.preferred_python()
    if python is None:
        tap.skip('exit code 1 explained', 'no pyenv CPython installed')
        return
    with tempfile.TemporaryDirectory(prefix='pyleak-partial-') as tmp:
        os.chmod(tmp, 0o755)
        # target.py corrupt_strdict: a str and a dict a C extension
        # overwrote, found in every snapshot: exit 1, deterministically
        tgt = Target(python, 'corrupt_strdict', tmp)
        ok, why = tgt.wait_byte(b'R', 120)
        if not tap.ok(ok, 'corrupt target ready', [why]):
            tgt.stop()
            return
        try:
            partial_checks(tap, tool, tmp, tgt)
        finally:
            tgt.stop()


def partial_checks(tap, tool, tmp, tgt):
    jp = os.path.join(tmp, 'p.json')
    db = os.path.join(tmp, 'p.db')
    for extra, desc in (([], 'a report to a file'), (['-q'], 'with -q'),
                        (['--dump', db], 'writing a dump')):
        rc, out, err, secs = run_tool(tool, ['--snapshot', 'copy', '--json', jp] + extra + [tgt.pid], 120)
        tap.ok(rc == 1 and PARTIAL_LINE.search(err),
               'exit 1, %s: stderr says what exit code 1 means' % desc,
               ['exit %r' % rc] + tail(err, 6))
    rc, out, err, secs = run_tool(tool, [db, '--text', os.devnull], 120)
    tap.ok(rc == 1 and PARTIAL_LINE.search(err), 'exit 1 reopening that dump: said too',
           ['exit %r' % rc] + tail(err, 6))
    # the browser: said after the terminal is given back
    env = dict(os.environ, TERM='xterm')
    rc, text = run_on_pty(tool, ['--snapshot', 'copy', tgt.pid], env, 30, 100, 120,
                          keys=('pid %d' % tgt.pid, b'q'))
    after = text[text.rfind('\x1b'):] if '\x1b' in text else text
    tap.ok(rc == 1 and PARTIAL_LINE.search(after.replace('\r', '')),
           'exit 1 from the browser: said on stderr after it quits',
           ['exit %r' % rc, repr(after[-600:])])


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tool', required=True, help='path to pyleak-attach')
    ap.add_argument('mode', choices=['inputs', 'perm', 'check', 'partial'])
    args = ap.parse_args()
    tap = Tap()
    if not os.access(args.tool, os.X_OK):
        tap.ok(False, 'pyleak-attach is built', ['not executable: %s' % args.tool])
        return tap.done()
    globals()['cmd_' + args.mode](args, tap)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
