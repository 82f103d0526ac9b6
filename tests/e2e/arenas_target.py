"""Target of test_arenas.py: pymalloc's own account of its arenas.

    python arenas_target.py FD OUT

Builds small objects and frees a third of them (pools with free blocks),
writes sys._debugmallocstats() (the interpreter's own figures) to OUT,
then writes b'R' to the pipe FD and blocks reading stdin until EOF (into
a buffer made beforehand), so the heap the tool snapshots is the one the
figures describe: nothing between the stats and the block allocates or
frees (calls of functions bound beforehand, returning cached small ints).
"""
import os
import sys


def build():
    keep = []
    for i in range(40000):
        keep.append((i, str(i), [i], {'k': i}))
    for i in range(0, len(keep), 3):
        keep[i] = None
    return keep


data = build()
w = int(sys.argv[1])
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
saved = os.dup(2)
# made before the stats: os.read would allocate its result (a 48-byte
# block) before it blocks, inside the snapshot but after the figures
stdin = open(0, 'rb', buffering=0, closefd=False)
buf = bytearray(1)
# looked up before the stats: an attribute lookup goes through the type
# attribute cache, which holds a reference to the name it caches.  A first
# lookup (os.write was one) replaces the entry in its slot, a slot that
# depends on the hash seed or addresses, and frees the old name if only
# the cache held it: with PYTHONHASHSEED=1621, 3.8 freed
# '_bootstrap_external' (an 80-byte block) after the figures, and the
# tool rightly saw 80 bytes more free
dup2, write, readinto = os.dup2, os.write, stdin.readinto
os.dup2(fd, 2)
sys._debugmallocstats()
dup2(saved, 2)
write(w, b'R')
while readinto(buf):
    pass
