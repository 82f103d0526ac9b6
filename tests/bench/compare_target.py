"""Target for tests/bench/compare (CPython 3.12; benchmark only, not a test).

    python compare_target.py N --ready-fd R --cmd-fd C --resp-fd A [--mix realistic|bench]

Builds about N gc-tracked objects, starts a heartbeat thread, writes one line
"R {json}" to A (the fd R is only closed by the harness to notice an early
death), then serves line commands read from C, answering one JSON line on A:

  reset            zero the heartbeat statistics            -> {"ok": true}
  gap              heartbeat statistics since the last reset -> {"max_gap_ms", "stalled_ms", "beats", "window_s"}
  scan SCRIPT OUT  run SCRIPT (compare_scan.py) here, in the main thread with
                   the GIL, as objgraph-style tools do; it writes OUT
                                                            -> {"seconds": ...}
  EOF              exit (os._exit: no teardown of millions of objects)

Heartbeat: a thread that sleeps 1 ms in a loop and records the longest gap
between two consecutive wake-ups (time.monotonic), and the time lost in gaps
longer than 2 ms ("stalled_ms"): while ptrace or gdb stops the process, or a
C call holds the GIL, the thread cannot wake.

Mixes (gc is disabled once built, so no collection disturbs the figures):
  realistic  per record: an instance with a __dict__ (name, value, tags, meta,
             link), its tags list and its meta dict (3 tracked objects); every
             10th record is in a 2-cycle (record -> meta -> record), every
             50th record links to the previous one and back (a 4-object
             cycle through two metas); records are held by lists of 1000.
  bench      tests/bench/target.py's build() (H5's __slots__ pairs).
"""
import gc
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Record:
    def __init__(self, i, tags, meta):
        self.name = 'rec'
        self.value = i
        self.tags = tags
        self.meta = meta
        self.link = None


def build_realistic(n):
    holders = []
    chunk = []
    made = 0
    prev = None
    i = 0
    while made < n:
        tags = ['a', 'b']
        meta = {'id': i, 'tags': tags}        # refers to a tracked list: tracked
        r = Record(i, tags, meta)
        made += 3
        if i % 10 == 0:
            meta['owner'] = r                # r -> meta -> r
        if i % 50 == 0 and prev is not None:
            r.link = prev                    # r -> prev -> prev.meta -> r
            prev.meta['back'] = r
        prev = r
        chunk.append(r)
        i += 1
        if len(chunk) == 1000:
            holders.append(chunk)
            made += 1
            chunk = []
    holders.append(chunk)
    return holders


class Heartbeat:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.max_gap = 0.0
            self.stalled = 0.0
            self.beats = 0
            self.since = time.monotonic()

    def stats(self):
        with self.lock:
            return {'max_gap_ms': self.max_gap * 1e3, 'stalled_ms': self.stalled * 1e3,
                    'beats': self.beats, 'window_s': time.monotonic() - self.since}

    def run(self):
        prev = time.monotonic()
        while True:
            time.sleep(0.001)
            now = time.monotonic()
            g = now - prev
            prev = now
            with self.lock:
                self.beats += 1
                if g > self.max_gap:
                    self.max_gap = g
                if g > 0.002:
                    self.stalled += g - 0.001


def vm(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def main():
    n = int(sys.argv[1])
    opts = dict(zip(sys.argv[2::2], sys.argv[3::2]))
    gc.disable()
    t0 = time.monotonic()
    if opts.get('--mix', 'realistic') == 'bench':
        sys.path.insert(0, HERE)
        import target as h5
        keep = h5.build(n)
    else:
        keep = build_realistic(n)
    gc.collect()
    build_s = time.monotonic() - t0
    hb = Heartbeat()
    threading.Thread(target=hb.run, name='heartbeat', daemon=True).start()
    resp = os.fdopen(int(opts['--resp-fd']), 'w', buffering=1)
    cmd = os.fdopen(int(opts['--cmd-fd']), 'r', buffering=1)
    info = {'pid': os.getpid(), 'tracked': len(gc.get_objects()), 'build_s': build_s,
            'rss_kib': vm('VmRSS'), 'python': sys.version.split()[0]}
    resp.write('R ' + json.dumps(info) + '\n')
    for line in cmd:                        # blocks in read(): GIL released
        words = line.split()
        if not words:
            continue
        if words[0] == 'reset':
            hb.reset()
            out = {'ok': True}
        elif words[0] == 'gap':
            out = hb.stats()
        elif words[0] == 'scan':
            t = time.monotonic()
            with open(words[1]) as f:
                src = f.read()
            exec(compile(src, words[1], 'exec'), {'__name__': 'pyleak_scan', 'OUT': words[2]})
            out = {'seconds': time.monotonic() - t}
        else:
            out = {'error': 'unknown command %r' % words[0]}
        resp.write(json.dumps(out) + '\n')
    return len(keep)


if __name__ == '__main__':
    main()
    os._exit(0)
