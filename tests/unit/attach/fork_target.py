"""Target for the fork-mode safety tests (tests/unit/attach/test-fork.c).

A Python process whose threads sit in the blocking calls a service is
usually caught in, and that records everything a snapshot could disturb:

  2 sleepers       time.sleep() loops
  2 pipe readers   os.read() on a pipe the test feeds with 8-byte messages
  2 cond waiters   threading.Condition.wait(), fed through the command pipe
  2 selectors      select.select() on a socket the test feeds
  heartbeat        1 ms sleeps, longest gap between wake-ups; also polls
                   os.waitpid(-1, WNOHANG) to prove it never sees a child
  main             reads commands (os.read), counts SIGCHLD and the
                   SIGRTMIN the test queues (through the wakeup fd, one byte
                   per delivery, so none is coalesced)

Usage: fork_target.py PIPE_R SOCK0 SOCK1 CMD_R REP_W
Commands on CMD_R, one byte each (+ payload):
  c<8 bytes>  hand a message to the condition waiters
  z           reset the heartbeat's longest gap
  r           write one JSON line of findings to REP_W
  q           exit
"""
import json
import os
import select
import signal
import socket
import sys
import threading
import time

pipe_r, sock0, sock1, cmd_r, rep_w = (int(a) for a in sys.argv[1:6])
lock = threading.Lock()
st = {
    "pipe": 0, "pipe_sum": 0, "sock": 0, "sock_sum": 0, "cond": 0, "cond_sum": 0,
    "sleeps": 0, "beats": 0, "gap_ms": 0.0, "sigchld": 0, "rt": 0,
    "waited": [], "errors": [],
}


def guard(name, fn):
    def run():
        try:
            fn()
        except BaseException as e:   # noqa: B902 - anything is a finding
            with lock:
                st["errors"].append("%s: %r" % (name, e))
    return threading.Thread(target=run, name=name, daemon=True)


def sleeper():
    while True:
        time.sleep(0.003)
        with lock:
            st["sleeps"] += 1


def pipe_reader():
    while True:
        b = os.read(pipe_r, 8)
        if len(b) != 8:
            raise RuntimeError("short pipe read %d" % len(b))
        with lock:
            st["pipe"] += 1
            st["pipe_sum"] += int.from_bytes(b, "little")


def selector(fd):
    s = socket.socket(fileno=fd)
    while True:
        r, _, _ = select.select([s], [], [], 5.0)
        if not r:
            continue
        b = s.recv(8)
        if len(b) != 8:
            raise RuntimeError("short socket read %d" % len(b))
        with lock:
            st["sock"] += 1
            st["sock_sum"] += int.from_bytes(b, "little")


cond = threading.Condition()
queue = []


def cond_waiter():
    while True:
        with cond:
            while not queue:
                cond.wait()
            v = queue.pop(0)
        with lock:
            st["cond"] += 1
            st["cond_sum"] += v


def heartbeat():
    last = time.monotonic()
    n = 0
    while True:
        time.sleep(0.001)
        now = time.monotonic()
        with lock:
            st["beats"] += 1
            st["gap_ms"] = max(st["gap_ms"], (now - last) * 1e3)
        last = now
        n += 1
        if n % 10 == 0:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid:
                    with lock:
                        st["waited"].append(pid)
            except ChildProcessError:
                pass


def on_sigchld(signum, frame):
    with lock:
        st["sigchld"] += 1


def wakeups(fd):
    while True:
        for b in os.read(fd, 512):
            if b == signal.SIGRTMIN:
                with lock:
                    st["rt"] += 1


def read_exact(fd, n):
    b = b""
    while len(b) < n:
        c = os.read(fd, n - len(b))
        if not c:
            sys.exit(0)
        b += c
    return b


def main():
    signal.signal(signal.SIGCHLD, on_sigchld)
    signal.signal(signal.SIGRTMIN, lambda s, f: None)
    wr, ww = os.pipe()
    os.set_blocking(ww, False)
    signal.set_wakeup_fd(ww, warn_on_full_buffer=False)
    threads = [guard("sleep%d" % i, sleeper) for i in range(2)]
    threads += [guard("pipe%d" % i, pipe_reader) for i in range(2)]
    threads += [guard("cond%d" % i, cond_waiter) for i in range(2)]
    threads += [guard("select0", lambda: selector(sock0)),
                guard("select1", lambda: selector(sock1)),
                guard("heartbeat", heartbeat),
                guard("wakeups", lambda: wakeups(wr))]
    for t in threads:
        t.start()
    os.write(rep_w, b"ready\n")
    while True:
        try:
            c = read_exact(cmd_r, 1)
        except BaseException as e:   # noqa: B902
            with lock:
                st["errors"].append("main: %r" % (e,))
            continue
        if c == b"c":
            v = int.from_bytes(read_exact(cmd_r, 8), "little")
            with cond:
                queue.append(v)
                cond.notify()
        elif c == b"z":
            with lock:
                st["gap_ms"] = 0.0
        elif c == b"r":
            with lock:
                line = json.dumps(st, sort_keys=True) + "\n"
            os.write(rep_w, line.encode())
        elif c == b"q":
            return


main()
