#!/usr/bin/env python3
"""--heapsnapshot (Chrome DevTools heap snapshot) against the tool's own
answers and the target's (TAP), stdlib only.

    test_heapsnapshot.py --tool PATH [--python 3.12]

One attach writes the snapshot, a dump and the JSON report.  The snapshot
is parsed back by an independent reader (this file: the format's meta,
not the tool's code) and checked:
  - the format: node_count/edge_count match the arrays, every node's
    edge_count sums to the edges, every to_node is a node, every name a
    string;
  - nodes are the dump's objects (same number, order, type names, self
    sizes) and the target's own objects: the ids it reported are nodes
    named by their type;
  - each object's edges are the dump's, labelled as the tool labels them
    (attributes as property edges, items as element edges with the index);
  - the retained sizes a reader computes from the snapshot alone (its own
    dominator tree from node 0) equal the dump's retained column.
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_e2e import Tap, pyenv_pythons  # noqa: E402

TIMEOUT = 300

# Known graph: a ring of Nodes, a list holding a dict holding a str, and
# a garbage cycle (gc disabled, so it stays).  Reports ids on the pipe.
TARGET = textwrap.dedent('''
    import gc, json, os, sys
    gc.disable()
    READY = int(sys.argv[1])
    class Node:
        def __init__(self, name):
            self.name = name
            self.next = None
    ring = [Node('n%d' % i) for i in range(5)]
    for i, n in enumerate(ring):
        n.next = ring[(i + 1) % 5]
    holder = [{'key': 'a value string'}, ring[0]]
    g1, g2 = Node('g1'), Node('g2')
    g1.next, g2.next = g2, g1
    garbage_ids = [id(g1), id(g2)]
    del g1, g2
    os.write(READY, (json.dumps({'ring': [id(n) for n in ring], 'holder': id(holder),
                                 'garbage': garbage_ids}) + '\\n').encode())
    os.close(READY)
    sys.stdin.read()
''')


def dominators(nnodes, succ):
    """Immediate dominators from node 0 (Cooper, Harvey, Kennedy: "A Simple,
    Fast Dominance Algorithm"), over reverse postorder."""
    order, seen, stack = [], [False] * nnodes, [(0, iter(succ[0]))]
    seen[0] = True
    while stack:
        v, it = stack[-1]
        w = next(it, None)
        if w is None:
            order.append(v)
            stack.pop()
        elif not seen[w]:
            seen[w] = True
            stack.append((w, iter(succ[w])))
    rpo = list(reversed(order))
    num = {v: i for i, v in enumerate(rpo)}
    preds = [[] for _ in range(nnodes)]
    for v in rpo:
        for w in succ[v]:
            preds[w].append(v)
    idom = [None] * nnodes
    idom[0] = 0

    def intersect(a, b):
        while a != b:
            while num[a] > num[b]:
                a = idom[a]
            while num[b] > num[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for v in rpo[1:]:
            new = None
            for p in preds[v]:
                if idom[p] is not None:
                    new = p if new is None else intersect(p, new)
            if new is not None and idom[v] != new:
                idom[v] = new
                changed = True
    return idom, rpo


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', required=True)
    ap.add_argument('--python', default='3.12')
    a = ap.parse_args()
    tap = Tap()
    pys = pyenv_pythons()
    py = pys.get(a.python) or next(iter(sorted(pys.values())), None)
    if not py:
        tap.ok(False, 'a pyenv CPython 3.8-3.13 to attach to', ['none installed'])
        return tap.done()
    tmp = tempfile.mkdtemp(prefix='pyleak-hs-')
    r_fd, w_fd = os.pipe()
    target = subprocess.Popen([py, '-c', TARGET, str(w_fd)], pass_fds=(w_fd,),
                              stdin=subprocess.PIPE)
    os.close(w_fd)
    with os.fdopen(r_fd) as rf:
        known = json.loads(rf.readline())
    hs, db, js = (os.path.join(tmp, n) for n in ('t.heapsnapshot', 't.db', 't.json'))
    run = subprocess.run([a.tool, str(target.pid), '--heapsnapshot', hs, '--dump', db,
                          '--json', js], capture_output=True, text=True, timeout=TIMEOUT)
    alive = target.poll() is None
    target.stdin.close()
    target.wait(timeout=60)
    tap.ok(run.returncode == 0, 'one attach writes the heap snapshot, the dump and the JSON '
           '(%s)' % py, [run.stderr[-2000:]])
    tap.ok(alive, 'the target kept running through the attach')
    if run.returncode != 0:
        return tap.done()

    with open(hs, 'rb') as f:
        snap = json.loads(f.read().decode('utf-8'))
    meta = snap['snapshot']['meta']
    nf, ef = len(meta['node_fields']), len(meta['edge_fields'])
    nodes, edges, strings = snap['nodes'], snap['edges'], snap['strings']
    nnodes, nedges = len(nodes) // nf, len(edges) // ef
    f_type, f_name, f_size, f_ec = (meta['node_fields'].index(k) for k in
                                    ('type', 'name', 'self_size', 'edge_count'))
    e_type, e_name, e_to = (meta['edge_fields'].index(k) for k in
                            ('type', 'name_or_index', 'to_node'))
    ntypes, etypes = meta['node_types'][0], meta['edge_types'][0]
    tap.ok(snap['snapshot']['node_count'] == nnodes and snap['snapshot']['edge_count'] == nedges
           and len(nodes) % nf == 0 and len(edges) % ef == 0,
           'node_count %d and edge_count %d match the arrays' % (nnodes, nedges))
    tap.ok(sum(nodes[i * nf + f_ec] for i in range(nnodes)) == nedges,
           'the nodes\' edge_counts add up to the edges')
    tap.ok(all(edges[e * ef + e_to] % nf == 0 and edges[e * ef + e_to] // nf < nnodes
               for e in range(nedges)), 'every to_node is a node')
    tap.ok(all(0 <= nodes[i * nf + f_name] < len(strings) for i in range(nnodes)),
           'every node name is a string')
    tap.ok(all(etypes[edges[e * ef + e_type]] == 'element' or
               0 <= edges[e * ef + e_name] < len(strings) for e in range(nedges)),
           'every edge name is a string (element edges carry their index)')

    con = sqlite3.connect(db)
    objs = con.execute('SELECT o.obj_id, o.addr, t.module || "." || t.qualname, o.size + coalesce(o.native, 0), '
                       'o.retained FROM objects o JOIN types t ON t.type_id = o.type_id '
                       'ORDER BY o.obj_id').fetchall()
    dedges = {}
    for src, dst, lbl, idx, _ in con.execute(
            'SELECT e.src, e.dst, l.text, e.idx, e.ord FROM edges e LEFT JOIN labels l '
            'ON l.label_id = e.label_id UNION ALL '
            # format 6: a numpy view's edge to its base
            'SELECT e.src, e.dst, l.text, e.idx, e.ord FROM untracked_edges e LEFT JOIN labels l '
            'ON l.label_id = e.label_id ORDER BY 1, 5'):
        dedges.setdefault(src, []).append((dst, lbl, idx))
    first = nnodes - len(objs)
    tap.ok(first > 0 and nodes[0 * nf + f_type] == ntypes.index('synthetic'),
           'node 0 and %d synthetic nodes, then one node per dump object (%d)' % (
               first - 1, len(objs)), ['nodes %d, objects %d' % (nnodes, len(objs))])

    def node_name(i):
        return strings[nodes[i * nf + f_name]]
    bad = [o for k, o in enumerate(objs)
           if (ntypes[nodes[(first + k) * nf + f_type]] != 'string' and
               node_name(first + k) != o[2]) or nodes[(first + k) * nf + f_size] != min(o[3], 2**32 - 1)]
    tap.ok(not bad, 'every object node is named by its type and sized as the dump says',
           ['%r' % (b,) for b in bad[:5]])
    by_addr = {o[1]: k for k, o in enumerate(objs)}
    ring_ok = all(a in by_addr and node_name(first + by_addr[a]) == '__main__.Node'
                  for a in known['ring'] + known['garbage'])
    tap.ok(ring_ok, 'the target\'s own Node ids (id()) are __main__.Node nodes')

    # each object's edges, in the dump's order
    starts, pos = [], 0
    for i in range(nnodes):
        starts.append(pos)
        pos += nodes[i * nf + f_ec]
    mism = []
    for k in range(len(objs)):
        i = first + k
        got = []
        for e in range(starts[i], starts[i] + nodes[i * nf + f_ec]):
            t = etypes[edges[e * ef + e_type]]
            name = edges[e * ef + e_name]
            got.append((edges[e * ef + e_to] // nf - first,
                        name if t == 'element' else strings[name], t))
        want = [(d, idx if idx is not None else (lbl[1:] if lbl.startswith('.') else lbl),
                 'element' if idx is not None else 'property' if lbl.startswith('.')
                 else 'internal') for d, lbl, idx in dedges.get(k, [])]
        if got != want:
            mism.append((k, got[:3], want[:3]))
    tap.ok(not mism, 'each object\'s edges are the dump\'s: attributes as property edges, '
           'items as element edges with their index, the rest internal',
           ['%r' % (m,) for m in mism[:5]])
    ring_edges = all(any(to == by_addr[known['ring'][(j + 1) % 5]] and name == 'next'
                         for to, name, _ in
                         [(edges[e * ef + e_to] // nf - first, strings[edges[e * ef + e_name]]
                           if etypes[edges[e * ef + e_type]] != 'element' else None, 0)
                          for e in range(starts[first + by_addr[a]],
                                         starts[first + by_addr[a]] +
                                         nodes[(first + by_addr[a]) * nf + f_ec])])
                     for j, a in enumerate(known['ring']))
    tap.ok(ring_edges, 'each ring Node has a "next" property edge to the next Node')

    succ = [[] for _ in range(nnodes)]
    for i in range(nnodes):
        for e in range(starts[i], starts[i] + nodes[i * nf + f_ec]):
            succ[i].append(edges[e * ef + e_to] // nf)
    idom, rpo = dominators(nnodes, succ)
    reached = len(rpo)
    tap.ok(reached == nnodes, 'node 0 reaches every node (roots and garbage hang from it): '
           '%d of %d' % (reached, nnodes))
    retained = [nodes[i * nf + f_size] for i in range(nnodes)]
    for v in reversed(rpo):
        if v != 0 and idom[v] is not None:
            retained[idom[v]] += retained[v]
    diff = [(k, objs[k][4], retained[first + k]) for k in range(len(objs))
            if retained[first + k] != objs[k][4]]
    tap.ok(not diff, 'retained sizes computed from the snapshot alone equal the tool\'s '
           '(dump objects.retained) for all %d objects' % len(objs),
           ['obj %d: tool %d, snapshot %d' % d for d in diff[:5]])
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
