"""Benchmark target: N tracked objects, then wait.

    python target.py N --ready-fd R --cmd-fd C [--grow M]

Objects: pairs of __slots__ instances referring to each other (one cycle per
pair), held by lists of 1000 pairs; every 10th pair also carries a dict.
Writes b"R" to R when built, exits when C reaches EOF.  Each b"G" read
from C builds M more objects of the same shape (default N / 10) into the
module's list GROWN, the leak a later snapshot finds (__main__.GROWN), and
writes b"R" again.
"""
import gc
import os
import sys


GROWN = []


class Item:
    __slots__ = ('peer', 'extra')


def build(n):
    holders = []
    made = 0
    chunk = []
    i = 0
    while made < n:
        a = Item()
        b = Item()
        a.peer = b
        b.peer = a
        made += 2
        if i % 10 == 0:
            a.extra = {'pair': i, 'peer': b}
            made += 1
        else:
            a.extra = None
        b.extra = None
        chunk.append(a)
        i += 1
        if len(chunk) == 1000:
            holders.append(chunk)
            made += 1
            chunk = []
    holders.append(chunk)
    return holders


def main():
    n = int(sys.argv[1])
    opts = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    gc.disable()
    keep = build(n)
    grow = int(opts.get('--grow', n // 10))
    gc.collect()
    os.write(int(opts['--ready-fd']), b'R')
    while True:
        cmd = os.read(int(opts['--cmd-fd']), 64)
        if not cmd:
            break
        for _ in range(cmd.count(b'G')):
            GROWN.extend(build(grow))
            gc.collect()
            os.write(int(opts['--ready-fd']), b'R')
    return len(keep)


if __name__ == '__main__':
    main()
    os._exit(0)             # skip tearing down millions of objects
