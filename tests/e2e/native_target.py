"""A target holding native buffers, for tests/e2e/test_native.py.

    python native_target.py SCENARIO READY_FD

SCENARIO:
  numpy    a list of numpy arrays: two owning arrays, views of them, views
           of two more arrays the list holds only through views (one a
           view of a view), plus a bytearray and an array.array
  buffers  a list of large bytearrays and array.arrays and a memoryview of
           one of them (no numpy: any CPython)

Builds the list, then writes one JSON line to READY_FD: the list's id and
the interpreter's own figure for what it holds: sys.getsizeof of the list
and of every item (numpy's __sizeof__ counts an owning array's data, a
bytearray's and an array's their allocation) plus the nbytes of each
distinct owning array reached only through views, counted once; and blocks
until its stdin reaches EOF.
"""
import array
import json
import os
import sys


def numpy_case():
    import numpy as np

    bases = [np.full((1000, 250), i, dtype=np.float64) for i in range(4)]  # 2 MB each
    held = [bases[0], bases[1]]
    # views sharing a base: two per base, and a view of a view
    for b in bases:
        held.append(b[10:20])
        held.append(b[:, 3])
    held.append(held[-2][2:5])
    held.append(np.arange(100000, dtype=np.int32))      # owning, 1-d, 400 kB
    held.append(bytearray(3000000))
    held.append(array.array('d', range(100000)))
    return held, bases


def owners(held):
    """nbytes of the distinct owning arrays the list reaches only through
    views, as numpy itself sees them (base chains, OWNDATA)."""
    import numpy as np

    ids = {id(x) for x in held}
    seen, extra = set(), 0
    for x in held:
        if not isinstance(x, np.ndarray) or x.flags.owndata:
            continue
        b = x
        while isinstance(b, np.ndarray) and not b.flags.owndata and b.base is not None:
            b = b.base
        if isinstance(b, np.ndarray) and b.flags.owndata and id(b) not in ids \
                and id(b) not in seen:
            seen.add(id(b))
            extra += b.nbytes
    return extra


def buffers_case():
    held = [bytearray(2000000 + i) for i in range(3)]
    held += [array.array('i', range(250000)), array.array('b', bytes(1500000))]
    held.append(memoryview(held[0]))
    return held


def main():
    scen, fd = sys.argv[1], int(sys.argv[2])
    keep = None
    if scen == 'numpy':
        held, keep = numpy_case()
        del keep[:]         # the list holds bases[2] and [3] only through views
        extra = owners(held)
    else:
        held = buffers_case()
        extra = 0
    want = {'id': id(held),
            'retained': sys.getsizeof(held) + sum(sys.getsizeof(x) for x in held) + extra,
            'extra': extra, 'n': len(held)}
    with os.fdopen(fd, 'w') as f:
        f.write(json.dumps(want) + '\n')
    sys.stdin.read()


if __name__ == '__main__':
    main()
