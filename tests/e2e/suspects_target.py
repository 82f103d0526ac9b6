"""A target with one known leak owner, for tests/e2e/test_suspects.py.

    python suspects_target.py SCENARIO READY_FD

SCENARIO is global_cache, listeners, lru_method, threads or gc_garbage.
Builds the leak, then writes one JSON line to READY_FD: the id of the
owner as the interpreter itself sees it and the path a person would call
it by, and blocks until its stdin reaches EOF.  Python 3.8+, stdlib only.
"""
import functools
import gc
import json
import os
import sys
import threading

N = 2000

_page_cache = {}


def global_cache():
    for i in range(N):
        _page_cache['/page/%d' % i] = {'body': 'x' * 200 + str(i), 'hits': [i] * 8}
    return {'owner': '__main__._page_cache', 'id': id(_page_cache)}


class Service:
    def __init__(self):
        self.listeners = []
        self.name = 'svc'

    def on(self, cb):
        self.listeners.append(cb)


class Store:
    @functools.lru_cache(maxsize=None)
    def lookup(self, k):
        return [k] * 64


class Worker(threading.Thread):
    def __init__(self, ev):
        super().__init__(daemon=True)
        self.ev = ev
        # str objects, not one buffer: native buffers are not counted yet
        self.buf = ['w%d' % i + 'x' * 40 for i in range(2000)]

    def run(self):
        self.ev.wait()


class Node:
    def __init__(self):
        self.peer = None
        self.payload = bytearray(1000)


def wait_and_report(fd, info):
    os.write(fd, (json.dumps(info) + '\n').encode())
    os.close(fd)
    sys.stdin.buffer.read()


def main(scenario, fd):
    keep = []
    if scenario == 'global_cache':
        info = global_cache()
    elif scenario == 'listeners':
        svc = Service()
        for i in range(N):
            data = bytearray(500 + i % 7)
            svc.on(lambda d=data: len(d))
        info = {'owner': 'Service.listeners', 'root': 'main() local svc',
                'id': id(svc.listeners)}
    elif scenario == 'lru_method':
        st = Store()
        for i in range(N):
            st.lookup(i)
        keep.append(st)
        # the owner is the wrapper's cache: the dict of N entries that the
        # wrapper's own tp_traverse visits
        cache = [o for o in gc.get_referents(Store.__dict__['lookup'])
                 if type(o) is dict and len(o) == N]
        info = {'owner': '__main__.Store.lookup', 'id': id(cache[0]) if cache else None}
    elif scenario == 'threads':
        ev = threading.Event()
        for _ in range(24):
            Worker(ev).start()
        info = {'owner': 'threading._active', 'id': id(threading._active)}
    elif scenario == 'gc_garbage':
        gc.set_debug(gc.DEBUG_SAVEALL)
        for _ in range(N):
            a, b = Node(), Node()
            a.peer, b.peer = b, a
        del a, b
        gc.collect()
        info = {'owner': 'gc.garbage', 'id': id(gc.garbage)}
    else:
        raise SystemExit('unknown scenario %r' % scenario)
    wait_and_report(fd, info)


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
