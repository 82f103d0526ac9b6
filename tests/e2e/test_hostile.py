#!/usr/bin/env python3
"""Hostile targets for pyleak-attach (TAP), stdlib only.

    test_hostile.py --tool PATH utf8     tp_name bytes that are no UTF-8; a
                                         busy target under live attaches
    test_hostile.py --tool PATH churn    100 attaches to a target whose
                                         threads map/unmap memory non-stop
    test_hostile.py --tool PATH exit     targets that exit, or shut Python
                                         down, in the middle of an attach

Targets signal readiness through a pipe (never a sleep).  Every --json
output is parsed with json.loads on the raw bytes (strict UTF-8).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_e2e import Tap, preferred_python, pyenv_pythons, wait_until  # noqa: E402

TIMEOUT = 120
BAD = bytes([0xff, 0x80, 0xe2, 0x82, 0x01, 0x1b, 0x5b, 0xc0, 0xaf, 0xed, 0xa0, 0x80])

# Every target: prints 'ready' on fd READY once set up, then runs until
# stdin closes.  SIGTERM exits with status 3 (the exit tests' hook sends it).
PRELUDE = textwrap.dedent('''
    import os, signal, sys, threading, time
    signal.signal(signal.SIGTERM, lambda *a: os._exit(3))
    READY = int(sys.argv[1])
    def ready():
        os.write(READY, b'r')
        os.close(READY)
''')

# A static type's tp_name (a C string in libpython's read-only data) is
# overwritten in place through ctypes, after an mprotect, with bytes that
# are no UTF-8: 0xff, a lone continuation byte, a truncated sequence, a C0
# control and ESC, an overlong form, an encoded surrogate, then a NUL.  A
# heap type gets a __qualname__ (a str) with NUL, ESC and lone surrogates.
UTF8_TARGET = PRELUDE + textwrap.dedent('''
    import ctypes, types
    BAD = bytes([0xff, 0x80, 0xe2, 0x82, 0x01, 0x1b, 0x5b, 0xc0, 0xaf, 0xed, 0xa0, 0x80])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    class Tp(ctypes.Structure):
        _fields_ = [('refcnt', ctypes.c_ssize_t), ('type', ctypes.c_void_p),
                    ('size', ctypes.c_ssize_t), ('name', ctypes.c_void_p)]
    ns_t = types.SimpleNamespace
    name = Tp.from_address(id(ns_t)).name
    assert ctypes.string_at(name) == b'types.SimpleNamespace'
    page = name & ~4095
    assert libc.mprotect(page, 8192, 3) == 0, ctypes.get_errno()
    ctypes.memmove(name + 6, BAD + b'\\0', len(BAD) + 1)
    libc.mprotect(page, 8192, 1)
    nss = [types.SimpleNamespace() for _ in range(3)]
    for n in nss:
        n.me = n            # cycles: the name reaches the cycle text too
    class Heap:
        pass
    Heap.__qualname__ = 'Q\\x00\\x1b[31m\\ud800\\udcffz'
    hs = [Heap() for _ in range(3)]
    for h in hs:
        h.me = h
    ready()
    sys.stdin.read()
''')

# Types and strings created and destroyed all the time by two threads, while
# live attaches read the target: names torn mid-read must not reach --json.
BUSY_TARGET = PRELUDE + textwrap.dedent('''
    stop = False
    def churn(seed):
        n = 0
        while not stop:
            n += 1
            name = 'T\\u00e9\\u4e2d\\U0001f600_%d_%d' % (seed, n) + '\\u00ff' * (n % 7)
            cls = type(name, (), {'s': '\\u00e9' * (n % 50) + chr(0x80 + n % 0x700)})
            objs = [cls() for _ in range(20)]
            for o in objs:
                o.me = o
                o.txt = name * (n % 5)
            del objs, cls
    ts = [threading.Thread(target=churn, args=(i,), daemon=True) for i in range(2)]
    for t in ts:
        t.start()
    ready()
    sys.stdin.read()
    stop = True
''')

# Threads that map, protect and unmap memory without pause, so the target's
# maps/smaps change between two read()s of the tool.
CHURN_TARGET = PRELUDE + textwrap.dedent('''
    import mmap
    stop = False
    def churn(seed):
        keep = []
        n = 0
        libc = None
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        except Exception:
            pass
        while not stop:
            n += 1
            m = mmap.mmap(-1, 4096 * (1 + (n + seed) % 16))
            m[0:1] = b'x'
            keep.append(m)
            if libc is not None and len(m) >= 8192:
                import ctypes
                buf = ctypes.c_char.from_buffer(m)
                a = ctypes.addressof(buf)
                del buf
                libc.mprotect(a, 4096, 1 if n % 2 else 3)
            if len(keep) > 64:
                try:
                    keep.pop(n % 64).close()
                except BufferError:
                    pass
    ts = [threading.Thread(target=churn, args=(i,), daemon=True) for i in range(3)]
    for t in ts:
        t.start()
    ready()
    sys.stdin.read()
    stop = True
''')

# A target that returns from its main module when told (stdin gets a byte)
# and then, after Py_FinalizeEx, sleeps in pause() (a Py_AtExit function):
# a live process whose Python has shut down.
FINALIZED_TARGET = PRELUDE + textwrap.dedent('''
    import ctypes
    libc = ctypes.CDLL(None)
    ctypes.pythonapi.Py_AtExit.argtypes = [ctypes.c_void_p]
    ctypes.pythonapi.Py_AtExit(ctypes.cast(libc.pause, ctypes.c_void_p))
    ready()
    os.read(0, 1)
''')


class Target:
    def __init__(self, python, code, tmp, name):
        path = os.path.join(tmp, name + '.py')
        with open(path, 'w') as f:
            f.write(code)
        r, w = os.pipe()
        self.log = os.path.join(tmp, name + '.log')
        with open(self.log, 'w') as logf:
            self.proc = subprocess.Popen([python, path, str(w)], pass_fds=(w,),
                                         stdin=subprocess.PIPE, stdout=logf,
                                         stderr=subprocess.STDOUT)
        os.close(w)
        self.pid = self.proc.pid
        with os.fdopen(r, 'rb') as rf:
            self.ready = rf.read(1) == b'r'    # EOF if the target died

    def log_text(self):
        try:
            with open(self.log, errors='replace') as f:
                return f.read()[-2000:]
        except OSError:
            return ''

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run(tool, args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run([tool] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT, env=e)
        return p.returncode, p.stdout, p.stderr.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired as ex:
        return 'timeout', ex.stdout or b'', (ex.stderr or b'').decode('utf-8', 'replace')
    except OSError as ex:
        return 'exec failed: %s' % ex, b'', ''


def strict_json(raw):
    """json.loads of the raw bytes: a str decode with errors='strict'
    first, so one invalid UTF-8 byte fails."""
    try:
        return json.loads(raw.decode('utf-8', 'strict')), None
    except (UnicodeDecodeError, ValueError) as e:
        return None, '%s: %s' % (type(e).__name__, e)


def bad_utf8(raw):
    try:
        raw.decode('utf-8', 'strict')
        return None
    except UnicodeDecodeError as e:
        return str(e)


def pythons(args):
    found = pyenv_pythons()
    if args.python:
        return [(v, found[v]) for v in args.python if v in found]
    v, exe = preferred_python()
    return [(v, exe)] if v else []


# ---------------------------------------------------------------------------

def cmd_utf8(args, tap, tmp):
    for ver, python in pythons(args):
        t = Target(python, UTF8_TARGET, tmp, 'utf8-%s' % ver)
        if not tap.ok(t.ready, '%s: hostile-name target ready' % ver, [t.log_text()]):
            t.stop()
            continue
        for mode in ('copy', 'fork', 'live'):
            out = os.path.join(tmp, 'utf8-%s-%s.json' % (ver, mode))
            txt = os.path.join(tmp, 'utf8-%s-%s.txt' % (ver, mode))
            dot = os.path.join(tmp, 'utf8-%s-%s.dot' % (ver, mode))
            rc, _, err = run(args.tool, ['--snapshot', mode, '--objects', '--json', out,
                                         '--text', txt, '--top', 100000, '--dot', dot, '-q', t.pid])
            tag = '%s %s' % (ver, mode)
            if not tap.ok(rc in (0, 1), '%s: attach to the hostile-name target (rc %s)' %
                          (tag, rc), err.splitlines()[-8:]):
                continue
            raw = open(out, 'rb').read()
            doc, why = strict_json(raw)
            tap.ok(doc is not None, '%s: --json is valid UTF-8 and parses' % tag, [why])
            if doc is not None:
                quals = [(t_['module'], t_['qualname']) for t_ in doc['types']]
                want = ('types', BAD.decode('utf-8', 'replace'))
                tap.ok(want in quals, '%s: the hostile tp_name is %r (U+FFFD per bad '
                       'sequence, as Python decodes it)' % (tag, want[1]),
                       [repr(q) for q in quals if q[0] == 'types'])
                want = ('__main__', 'Q\ufffd\x1b[31m\ufffd\ufffdz')
                tap.ok(want in quals, '%s: the hostile __qualname__ is %r' % (tag, want[1]),
                       [repr(q) for q in quals if q[0] == '__main__'])
            tap.ok(b'\x1b' not in raw and b'\x00' not in raw and b'\x01' not in raw,
                   '%s: no raw control byte in the JSON file' % tag)
            for path, what in ((txt, 'text'), (dot, 'DOT')):
                data = open(path, 'rb').read()
                why = bad_utf8(data)
                tap.ok(why is None and b'\x1b' not in data and b'\x00' not in data,
                       '%s: the %s report is valid UTF-8 without ESC/NUL' % (tag, what),
                       [why or 'ESC or NUL in the output'])
            tap.ok(b'\\x1b[31m' in open(txt, 'rb').read(),
                   '%s: the text report shows ESC as \\x1b' % tag)
        t.stop()

        # live attaches to a target creating and dropping types and strings
        t = Target(python, BUSY_TARGET, tmp, 'busy-%s' % ver)
        if not tap.ok(t.ready, '%s: busy target ready' % ver, [t.log_text()]):
            t.stop()
            continue
        bad, runs, failed = [], 0, []
        for i in range(args.live_runs):
            out = os.path.join(tmp, 'busy-%s-%d.json' % (ver, i))
            rc, _, err = run(args.tool, ['--snapshot', 'live', '--objects', '--json', out,
                                         '-q', t.pid])
            runs += 1
            if rc not in (0, 1):
                failed.append('run %d: rc %s: %s' % (i, rc, err.strip()[-300:]))
                continue
            doc, why = strict_json(open(out, 'rb').read())
            if doc is None:
                bad.append('run %d: %s' % (i, why))
            os.unlink(out)
        tap.ok(not bad, '%s: %d live attaches to a busy target: every --json parses as '
               'strict UTF-8' % (ver, runs), bad[:5])
        tap.ok(len(failed) <= runs // 5, '%s: live attaches mostly succeed (%d of %d failed)'
               % (ver, len(failed), runs), failed[:5])
        t.stop()


def cmd_churn(args, tap, tmp):
    ver, python = pythons(args)[0]
    t = Target(python, CHURN_TARGET, tmp, 'churn')
    if not tap.ok(t.ready, '%s: mapping-churn target ready' % ver, [t.log_text()]):
        t.stop()
        return
    modes = ['copy', 'fork', 'auto']
    counts = {m: 0 for m in modes}
    rc2 = []
    others = []
    for i in range(args.churn_runs):
        mode = modes[i % 3]
        # the layout cached after the first attach: the DWARF is not what
        # is tested, and parsing it 100 times would be most of the time
        rc, _, err = run(args.tool, ['--snapshot', mode, '--json', '/dev/null', '-q',
                                     '--max-memory', '4G', t.pid],
                         env={'PYLEAK_ATTACH_CACHE_DIR': os.path.join(tmp, 'cache')})
        counts[mode] += 1
        if rc == 2 or rc == 'timeout':
            rc2.append('run %d (%s): rc %s: %s' % (i, mode, rc, err.strip()[-400:]))
        elif rc not in (0, 1):
            others.append('run %d (%s): rc %s: %s' % (i, mode, rc, err.strip()[-400:]))
        if t.proc.poll() is not None:
            break
    tap.ok(t.proc.poll() is None, 'the churning target survived every attach',
           [t.log_text()])
    tap.ok(not rc2 and not others,
           '%d attaches (copy %d, fork %d, auto %d) to a target that maps and unmaps '
           'without pause: none failed' % (sum(counts.values()), counts['copy'],
                                           counts['fork'], counts['auto']),
           (rc2 + others)[:6])
    t.stop()


def exit_case(args, tap, tmp, ver, python, mode, stage):
    """The tool's hook sends SIGTERM (the target exits with status 3) at
    `stage` and waits until it has exited; then the attach goes on."""
    t = Target(python, PRELUDE + 'ready()\nwhile True:\n    time.sleep(0.05)\n', tmp,
               'exit-%s-%s' % (mode, stage))
    if not tap.ok(t.ready, 'exit target ready', [t.log_text()]):
        t.stop()
        return
    rc, out, err = run(args.tool, ['--snapshot', mode, '--json', '-', t.pid],
                       env={'PYLEAK_ATTACH_TEST_EXIT': stage})
    tag = '%s %s, target exits before the %s' % (ver, mode, stage)
    try:
        gone = t.proc.wait(10) == 3
    except subprocess.TimeoutExpired:
        gone = False
    tap.ok(gone, '%s: the hook made the target exit (status 3)' % tag)
    tap.ok(rc == 2 and b'"objects"' not in out and not out.strip(),
           '%s: rc 2 and no report (rc %s)' % (tag, rc), err.splitlines()[-6:])
    want = 'process %d exited during the attach (exit status 3)' % t.pid
    tap.ok(want in err and 'hint:' in err, '%s: says "%s" with a hint' % (tag, want),
           err.splitlines()[-6:])
    tap.ok(' 0 objects' not in err, '%s: never "0 objects"' % tag, err.splitlines()[-6:])
    t.stop()


def cmd_exit(args, tap, tmp):
    for ver, python in pythons(args):
        if args.only_shutdown:
            shutdown_cases(args, tap, tmp, ver, python)
            continue
        for mode in ('live', 'copy', 'fork'):
            exit_case(args, tap, tmp, ver, python, mode, 'snapshot')
        # after the snapshot only a live attach still needs the process
        exit_case(args, tap, tmp, ver, python, 'live', 'walk')
        for mode in ('copy', 'fork'):
            t = Target(python, PRELUDE + 'ready()\nwhile True:\n    time.sleep(0.05)\n',
                       tmp, 'exit-after-%s' % mode)
            rc, out, err = run(args.tool, ['--snapshot', mode, '--json', '-', '-q', t.pid],
                               env={'PYLEAK_ATTACH_TEST_EXIT': 'walk'})
            doc, why = strict_json(out)
            tap.ok(rc in (0, 1) and doc is not None and doc['coverage']['tracked'] > 100,
                   '%s %s, target exits after the snapshot: the snapshot is still read '
                   '(rc %s, %s objects)' % (ver, mode, rc,
                                            doc['coverage']['tracked'] if doc else '?'),
                   [why or ''] + err.splitlines()[-4:])
            t.stop()
        shutdown_cases(args, tap, tmp, ver, python)


# A thread that collects without pause over a big heap: a collection is
# running at every read.  Sleeps are the target's own work, not waits.
GCBUSY_TARGET = PRELUDE + textwrap.dedent('''
    import gc
    x = [[i] for i in range(300000)]
    def loop():
        while True:
            gc.collect()
    threading.Thread(target=loop, daemon=True).start()
    ready()
    sys.stdin.read()
''')


def cmd_gcbusy(args, tap, tmp):
    """Live mode never gives up on a target that collects all the time: the
    last of its tries is taken as it is, partial (exit 1), and says why."""
    for ver, python in pythons(args):
        t = Target(python, GCBUSY_TARGET, tmp, 'gcbusy')
        if not tap.ok(t.ready, '%s: collecting target ready' % ver, [t.log_text()]):
            t.stop()
            continue
        rc, out, err = run(args.tool, ['--snapshot', 'live', '--json', '-', t.pid])
        doc, why = strict_json(out)
        tap.ok(rc == 1 and doc is not None and doc['gc']['collecting'] is True and
               doc['snapshot']['inconsistencies'] > 0,
               '%s live, a collection at every read: a partial result (exit 1), gc.collecting '
               'true (rc %s)' % (ver, rc), [why or ''] + err.splitlines()[-6:])
        tap.ok('objects it was collecting are missing' in err,
               '%s: stderr says the collection made it partial' % ver, err.splitlines()[-6:])
        tap.ok(t.proc.poll() is None, '%s: the target still runs' % ver)
        t.stop()


def shutdown_cases(args, tap, tmp, ver, python):
    if True:
        # Python shut down, process alive: no success, no "0 objects"
        for mode in ('live', 'copy', 'fork'):
            t = Target(python, FINALIZED_TARGET, tmp, 'final-%s' % mode)
            if not tap.ok(t.ready, 'finalizing target ready', [t.log_text()]):
                t.stop()
                continue
            t.proc.stdin.write(b'g')
            t.proc.stdin.flush()
            # Py_FinalizeEx done: pause() (the Py_AtExit function, system
            # call 34 on x86-64), where the main module sat in read(0)
            def in_pause():
                try:
                    with open('/proc/%d/syscall' % t.pid) as f:
                        return f.read().split()[:1] == ['34']
                except OSError:
                    return False
            if not tap.ok(wait_until(in_pause, 20), 'Python shut down in the target'):
                t.proc.kill()
                t.stop()
                continue
            rc, out, err = run(args.tool, ['--snapshot', mode, '--json', '-', t.pid])
            tag = '%s %s, Python shut down (Py_Finalize ran), process alive' % (ver, mode)
            tap.ok(rc == 2 and not out.strip() and 'shut down' in err and 'hint:' in err
                   and ' 0 objects' not in err,
                   '%s: rc 2, "shut down" with a hint, no report (rc %s)' % (tag, rc),
                   err.splitlines()[-4:])
            t.proc.kill()
            t.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tool', required=True)
    ap.add_argument('mode', choices=['utf8', 'churn', 'exit', 'gcbusy'])
    ap.add_argument('--python', action='append', help='3.X (repeatable)')
    ap.add_argument('--live-runs', type=int, default=12)
    ap.add_argument('--churn-runs', type=int, default=100)
    ap.add_argument('--only-shutdown', action='store_true',
                    help='exit: only the cases that need no test hook')
    args = ap.parse_args()
    tap = Tap()
    if not pythons(args):
        print('1..0 # SKIP no pyenv CPython found')
        return 0
    with tempfile.TemporaryDirectory(prefix='pyleak-hostile-') as tmp:
        {'utf8': cmd_utf8, 'churn': cmd_churn, 'exit': cmd_exit,
         'gcbusy': cmd_gcbusy}[args.mode](args, tap, tmp)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
