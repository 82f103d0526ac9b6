"""The in-target cycle search of tests/bench/compare (benchmark only).

What pyrasite / memray-attach style tools (run through gdb) and objgraph
style tools (imported in-process) do to find reference cycles:
gc.get_objects() + gc.get_referents() for every object + an iterative
Tarjan over the tracked-object graph.  Run with exec() and a fresh globals
dict holding OUT (the path of the JSON result); touches nothing global.
Writes {"objects", "edges", "sccs", "cycle_objects", "seconds"} to OUT.
"""


def _scan(out):
    import array
    import gc
    import json
    import time

    t0 = time.monotonic()
    objs = gc.get_objects()
    n = len(objs)
    index = {}
    for i, o in enumerate(objs):
        index[id(o)] = i
    get = index.get
    referents = gc.get_referents
    off = array.array('q', [0])
    dst = array.array('q')
    push = dst.append
    for o in objs:
        for r in referents(o):
            j = get(id(r))
            if j is not None:
                push(j)
        off.append(len(dst))
    del index

    idx = array.array('q', [-1]) * n
    low = array.array('q', [0]) * n
    onstack = bytearray(n)
    stack = array.array('q')
    cs_v = array.array('q')
    cs_e = array.array('q')
    counter = 0
    sccs = 0
    cyc = 0
    for s in range(n):
        if idx[s] != -1:
            continue
        idx[s] = low[s] = counter
        counter += 1
        stack.append(s)
        onstack[s] = 1
        cs_v.append(s)
        cs_e.append(off[s])
        while cs_v:
            v = cs_v[-1]
            e = cs_e[-1]
            if e < off[v + 1]:
                cs_e[-1] = e + 1
                w = dst[e]
                if idx[w] == -1:
                    idx[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    onstack[w] = 1
                    cs_v.append(w)
                    cs_e.append(off[w])
                elif onstack[w] and idx[w] < low[v]:
                    low[v] = idx[w]
                continue
            cs_v.pop()
            cs_e.pop()
            if cs_v:
                u = cs_v[-1]
                if low[v] < low[u]:
                    low[u] = low[v]
            if low[v] == idx[v]:
                size = 0
                while True:
                    w = stack.pop()
                    onstack[w] = 0
                    size += 1
                    if w == v:
                        break
                if size > 1 or v in dst[off[v]:off[v + 1]]:
                    sccs += 1
                    cyc += size
    res = {'objects': n, 'edges': len(dst), 'sccs': sccs, 'cycle_objects': cyc,
           'seconds': time.monotonic() - t0}
    del objs
    with open(out + '.tmp', 'w') as f:
        json.dump(res, f)
    import os
    os.replace(out + '.tmp', out)


_scan(OUT)  # noqa: F821 (given by the caller's globals)
