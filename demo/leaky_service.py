"""A small request-handling "service" that leaks reference cycles steadily.

    python leaky_service.py [--ready-fd N] [--rate PER_SECOND]

Each request gets a Response; the two refer to each other (request.response,
response.request), so every handled pair is a cycle.  Most pairs are dropped
after handling and wait for the collector (garbage); a "response cache"
keyed by Request keeps some alive for ever, together with on_done callbacks
(closures over the request) registered in a listeners list: that cache is
the leak, and it grows with every request.  A few handlers also raise and
keep the exception, whose traceback holds the handler frame, whose locals
hold the exception.

Writes "ready PID" to --ready-fd once the first batch is handled, then keeps
serving until SIGTERM/SIGINT or until its stdin reaches EOF if --stdin-stop.
Runs on CPython 3.8+ with the standard library only.
"""
import argparse
import gc
import os
import signal
import sys
import threading
import time


class Request:
    __slots__ = ('rid', 'path', 'headers', 'response', '__weakref__')

    def __init__(self, rid, path):
        self.rid = rid
        self.path = path
        self.headers = {'x-request-id': str(rid), 'accept': 'application/json'}
        self.response = None


class Response:
    def __init__(self, request, status, body):
        self.request = request          # request.response -> self: a cycle
        self.status = status
        self.body = body


class HandlerError(Exception):
    pass


class Service:
    def __init__(self):
        self.cache = {}                 # Request -> Response, never evicted: the leak
        self.listeners = []             # callbacks closing over their request
        self.errors = []                # exceptions kept with their tracebacks
        self.handled = 0

    def handle(self, rid):
        req = Request(rid, '/items/%d' % (rid % 97))
        try:
            if rid % 50 == 0:
                raise HandlerError('backend timeout for %s' % req.path)
            resp = Response(req, 200, {'id': rid, 'items': list(range(rid % 7))})
        except HandlerError as e:
            resp = Response(req, 504, {'error': str(e)})
            self.errors.append(e)       # e.__traceback__ -> frame -> req -> resp -> e
            resp.error = e
        req.response = resp
        if rid % 10 == 0:
            self.cache[req] = resp

            def on_done(status=resp.status):
                return req.path, status
            self.listeners.append(on_done)
        self.handled += 1
        return resp.status


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument('--ready-fd', type=int)
    ap.add_argument('--rate', type=float, default=500.0, help='requests per second')
    ap.add_argument('--stdin-stop', action='store_true', help='stop at EOF on stdin')
    args = ap.parse_args(argv[1:])

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    if args.stdin_stop:
        def watch_stdin():
            while sys.stdin.buffer.read(4096):
                pass
            stop.set()
        threading.Thread(target=watch_stdin, daemon=True).start()

    svc = Service()
    rid = 0
    for _ in range(1000):               # warm up: a visible leak before "ready"
        rid += 1
        svc.handle(rid)
    if args.ready_fd is not None:
        os.write(args.ready_fd, b'ready %d\n' % os.getpid())
        os.close(args.ready_fd)
    period = 1.0 / args.rate if args.rate > 0 else 0
    while not stop.is_set():
        rid += 1
        svc.handle(rid)
        if period:
            stop.wait(period)           # pacing, not synchronisation
    sys.stderr.write('leaky_service: handled %d requests, %d cached, %d tracked objects\n'
                     % (svc.handled, len(svc.cache), len(gc.get_objects())))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
