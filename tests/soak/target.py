"""Self-checking target for tests/soak/soak: 32 threads that notice
anything an attach does to them.

  8 nanosleepers   libc nanosleep(1 ms) through ctypes: an EINTR is returned
                   to us, not retried by Python (PEP 475 only covers
                   Python's own wrappers), so every one is counted
  6 pollers        libc poll() on a pipe nobody writes, 3 ms timeout: same
  6 pipe readers   libc read() of 8-byte sequence numbers that a feeder
                   thread writes; a gap, a repeat or a short read is an
                   invariant violation, an EINTR is counted
  1 feeder         writes the sequence numbers (one pipe per reader)
  8 mutators       each owns a dict of lists it rewrites and a running sum;
                   the sum is checked after every change (violation if off);
                   they also drop reference cycles, so the GC lists move
                   and the heap has garbage to find
  1 waiter         os.waitpid(-1, WNOHANG) every ms: the target never forks,
                   so every child it sees is foreign (a snapshot's fork
                   leaking out); ECHILD is the normal answer
  1 wakeups        counts signal deliveries through signal.set_wakeup_fd
                   (one byte per delivery, never coalesced)
  main             reads one-byte commands and answers with JSON
                   = 32 threads.

Every thread but main and wakeups blocks the signals the soak sends, so an
EINTR in them can only come from the attach.  SIGCHLD is counted too (a
foreign child's death).

Usage: target.py CMD_R REP_W
Commands: 'r' writes one JSON line of counters to REP_W; 'q' exits.
"""
import ctypes
import ctypes.util
import errno
import json
import os
import signal
import sys
import threading
import time

cmd_r, rep_w = int(sys.argv[1]), int(sys.argv[2])
SIGS = {signal.SIGUSR1, signal.SIGUSR2, signal.SIGRTMIN, signal.SIGCHLD}

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class Pollfd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short),
                ("revents", ctypes.c_short)]


lock = threading.Lock()
st = {"eintr": 0, "violations": 0, "foreign_children": 0, "sigchld": 0,
      "usr1": 0, "usr2": 0, "rt": 0, "sleeps": 0, "polls": 0, "reads": 0,
      "mutations": 0, "waits": 0, "threads_dead": 0, "errors": []}


def bump(key, n=1):
    with lock:
        st[key] += n


def guard(name, fn, *args):
    def run():
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGS)
        try:
            fn(*args)
        except BaseException as e:   # noqa: B902 - anything is a finding
            with lock:
                st["threads_dead"] += 1
                st["errors"].append("%s: %r" % (name, e))
    return threading.Thread(target=run, name=name, daemon=True)


def nanosleeper():
    ts = Timespec(0, 1000000)
    rem = Timespec()
    while True:
        if libc.nanosleep(ctypes.byref(ts), ctypes.byref(rem)) != 0:
            if ctypes.get_errno() == errno.EINTR:
                bump("eintr")
            else:
                raise OSError(ctypes.get_errno(), "nanosleep")
        bump("sleeps")


def poller(fd):
    p = Pollfd(fd, 1, 0)   # POLLIN
    while True:
        r = libc.poll(ctypes.byref(p), 1, 3)
        if r < 0:
            if ctypes.get_errno() == errno.EINTR:
                bump("eintr")
                continue
            raise OSError(ctypes.get_errno(), "poll")
        if r > 0:
            bump("violations")   # nobody writes this pipe
        bump("polls")


def reader(fd):
    buf = ctypes.create_string_buffer(8)
    want = 0
    while True:
        n = libc.read(fd, buf, 8)
        if n < 0:
            if ctypes.get_errno() == errno.EINTR:
                bump("eintr")
                continue
            raise OSError(ctypes.get_errno(), "read")
        if n != 8 or int.from_bytes(buf.raw, "little") != want:
            bump("violations")
            want = int.from_bytes(buf.raw, "little")
        want += 1
        bump("reads")


def feeder(fds):
    seq = [0] * len(fds)
    while True:
        for i, fd in enumerate(fds):
            os.write(fd, seq[i].to_bytes(8, "little"))
            seq[i] += 1
        time.sleep(0.001)


class Node:
    def __init__(self, v):
        self.v = v
        self.peer = None


def mutator(k):
    data = {i: list(range(i, i + 8)) for i in range(64)}
    total = sum(sum(v) for v in data.values())
    n = 0
    while True:
        key = n % 64
        old = data[key]
        new = [x + 1 for x in old]
        data[key] = new
        total += len(new)
        n += 1
        if sum(sum(v) for v in data.values()) != total:
            bump("violations")
            total = sum(sum(v) for v in data.values())
        # a reference cycle dropped at once: garbage for the collector
        a, b = Node(n), Node(k)
        a.peer, b.peer = b, a
        if n % 4 == 0:
            bump("mutations", 4)
            time.sleep(0.001)


def waiter():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid:
                bump("foreign_children")
        except ChildProcessError:
            pass
        bump("waits")
        time.sleep(0.001)


def wakeups(fd):
    names = {signal.SIGUSR1: "usr1", signal.SIGUSR2: "usr2",
             signal.SIGRTMIN: "rt", signal.SIGCHLD: "sigchld"}
    while True:
        for b in os.read(fd, 512):
            if b in names:
                bump(names[b])


def main():
    for s in SIGS:
        signal.signal(s, lambda n, f: None)
    wr, ww = os.pipe()
    os.set_blocking(ww, False)
    signal.set_wakeup_fd(ww, warn_on_full_buffer=False)
    threads = [guard("nanosleep%d" % i, nanosleeper) for i in range(8)]
    for i in range(6):
        r, _w = os.pipe()
        threads.append(guard("poll%d" % i, poller, r))
    feeds = []
    for i in range(6):
        r, w = os.pipe()
        feeds.append(w)
        threads.append(guard("read%d" % i, reader, r))
    threads.append(guard("feeder", feeder, feeds))
    threads += [guard("mutate%d" % i, mutator, i) for i in range(8)]
    threads.append(guard("waiter", waiter))
    # wakeups must see the signals: it does not block them (guard does)
    threads.append(threading.Thread(target=wakeups, args=(wr,), name="wakeups",
                                    daemon=True))
    for t in threads:
        t.start()
    # main takes signals too; only it and wakeups leave them unblocked
    assert len(threads) + 1 == 32, len(threads)
    os.write(rep_w, b"ready\n")
    while True:
        c = os.read(cmd_r, 1)
        if c in (b"", b"q"):
            return
        if c == b"r":
            with lock:
                d = dict(st)
                d["errors"] = list(st["errors"])
            d["threads"] = threading.active_count()
            os.write(rep_w, (json.dumps(d, sort_keys=True) + "\n").encode())


main()
