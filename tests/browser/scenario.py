"""Scenario target for the headless browser tests.

Run under a pyenv CPython as:  scenario.py READY_FD
It builds a known graph, writes "ready <pid> <id of the module's globals>"
to READY_FD (the globals hold marker_text, a str whose value the browser
shows) and then obeys
lines on stdin:
    grow N     make N more Node pairs (alive, in cycles); answers "grown"
    quit       exit
Collection is disabled so the garbage stays until the test is over.
"""
import gc
import os
import sys
import threading

gc.disable()


class Node:
    def __init__(self, name):
        self.name = name
        self.next = None


class Leaky:
    """Garbage: pairs nobody refers to."""


keep = []


def make_pairs(n):
    for i in range(n):
        a = Node('a%d' % i)
        b = Node('b%d' % i)
        a.next = b
        b.next = a
        keep.append(a)


make_pairs(5)
for _ in range(3):
    x = Leaky()
    y = Leaky()
    x.other = y
    y.other = x
del x, y

marker_text = 'pyleak-browser-marker'
ev = threading.Event()


def worker(event):
    held_by_worker = Node('worker-local')
    event.wait()
    return held_by_worker


t = threading.Thread(target=worker, args=(ev,), name='worker', daemon=True)
t.start()

ready = int(sys.argv[1])
os.write(ready, b'ready %d %d\n' % (os.getpid(), id(globals())))
for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == 'grow':
        make_pairs(int(cmd[1]))
        os.write(ready, b'grown\n')
    elif cmd[0] == 'quit':
        break
ev.set()
