#!/usr/bin/python3
"""tests/bench/browser-keys.py: keypress to redrawn screen, per screen.

    tests/bench/browser-keys.py [--tool PATH] [--objects 1000000] [--python PATH]
                                [--dump FILE]

Starts a target with about --objects tracked objects (Node pairs in
cycles, lists, dicts, some garbage) under pyenv CPython 3.12, writes a dump
of it once (or uses --dump FILE), then opens the browser on the dump in a
pseudo-terminal (120x40) and, for every screen, times each key from the
write of the key to the end of the terminal output it causes (output that
pauses for 30 ms is taken as finished; the pause is not counted).  Prints
one line per key: screen, key, milliseconds; the first visit of a screen
(which builds its rows and sorts them) is listed apart from moves within it.
Figures only: nothing is asserted.
"""
import argparse
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

TARGET = r'''
import gc, os, sys
gc.disable()
class Node:
    __slots__ = ('next', 'name')
class Leaky:
    pass
n = int(sys.argv[1])
keep = []
pairs = n // 4
for i in range(pairs):
    a = Node(); b = Node(); a.next = b; b.next = a; a.name = b.name = None
    keep.append(a)
lists = [[i] for i in range(n // 8)]
dicts = [{'k': i} for i in range(n // 8)]
for i in range(n // 40):
    x = Leaky(); y = Leaky(); x.o = y; y.o = x
del x, y
os.write(int(sys.argv[2]), b'ready\n')
sys.stdin.read()
'''


def pyenv_python():
    root = os.path.expanduser('~/.pyenv/versions')
    for d in sorted(os.listdir(root), reverse=True) if os.path.isdir(root) else []:
        if d.startswith('3.12'):
            return os.path.join(root, d, 'bin', 'python3')
    return None


def drain(fd, quiet_s=0.03, limit_s=30):
    """Reads until the output pauses; returns (time of last byte, bytes)."""
    last = None
    got = b''
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], quiet_s)
        if not r:
            if last is not None:
                break
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
        last = time.monotonic()
    return last, got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', default=os.path.join(ROOT, 'build', 'ui', 'pyleak-attach'))
    ap.add_argument('--objects', type=int, default=1000000)
    ap.add_argument('--python', default=None)
    ap.add_argument('--dump', default=None)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='pyleak-bench-')
    dump = a.dump
    target = None
    try:
        if not dump:
            py = a.python or pyenv_python()
            if not py:
                print('skip: no pyenv CPython 3.12')
                return 0
            script = os.path.join(tmp, 'target.py')
            open(script, 'w').write(TARGET)
            r, w = os.pipe()
            target = subprocess.Popen([py, script, str(a.objects), str(w)], pass_fds=(w,),
                                      stdin=subprocess.PIPE)
            os.close(w)
            os.read(r, 16)
            dump = os.path.join(tmp, 'bench.db')
            t0 = time.monotonic()
            subprocess.check_call([a.tool, str(target.pid), '--dump', dump, '-q'])
            print('dump of pid %d written in %.0f ms' % (target.pid, (time.monotonic() - t0) * 1e3))
        pid, fd = pty.fork()
        if pid == 0:
            os.environ['TERM'] = 'xterm-256color'
            os.environ['LANG'] = os.environ['LC_ALL'] = 'C.UTF-8'
            os.execv(a.tool, [a.tool, dump, '-q'])
        import fcntl
        import struct
        import termios
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
        t0 = time.monotonic()
        last, _ = drain(fd, quiet_s=0.5, limit_s=600)
        print('open: %.0f ms (reading the dump, indexes, overview)' % ((last - t0) * 1e3))
        plan = [
            ('overview', ['j', 'j', 'J'] and ['j', 'k']),
            ('cycles', ['c', 'j', 'k', '\x1b[6~', '\x1b[5~', '\x1bOF', '\x1bOH', 's', 's', 'l',
                        'j', '\r']),
            ('cycle', ['j', 'j', 'm', '\x7f']),
            ('types', ['t', 'j', 'k', 's', '\r']),
            # a search that matches nothing scans every row (ids, previews)
            ('instances', ['j', '\x1b[6~', '\x1bOF', '\x1bOH', 's', '/', 'z', 'q', '\r', 'n',
                           '\r']),
            ('object', ['j', 'j', '\r', '\x7f', 'p']),
            ('path', ['j', '\x7f']),
            ('garbage', ['g', 'j', '\x1b[6~', '\x1bOF', 's']),
            ('threads', ['T', 'j']),
            ('help', ['?', 'j']),
            ('search', ['t', '/', '_', '_', 'm', 'a', 'i', 'n', '_', '_', '\r', 'n', 'N']),
        ]
        names = {'\x1b[6~': 'PgDn', '\x1b[5~': 'PgUp', '\x1bOF': 'End', '\x1bOH': 'Home',
                 '\r': 'Enter', '\x7f': 'Backspace'}
        worst_move = 0.0
        print('%-10s %-10s %8s' % ('screen', 'key', 'ms'))
        for screen, keys in plan:
            for k in keys:
                t1 = time.monotonic()
                os.write(fd, k.encode())
                last, _ = drain(fd)
                ms = ((last or t1) - t1) * 1e3
                print('%-10s %-10s %8.1f' % (screen, names.get(k, k), ms))
                if k not in ('c', 't', 'g', 'T', '?', '\r', 's', 'l', 'p', 'm', '\x7f'):
                    worst_move = max(worst_move, ms)
        os.write(fd, b'q')
        drain(fd, quiet_s=0.2)
        os.waitpid(pid, 0)
        print('worst move/scroll/search-next key: %.1f ms' % worst_move)
    finally:
        if target:
            target.stdin.close()
            target.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
