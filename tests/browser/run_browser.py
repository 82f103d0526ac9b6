#!/usr/bin/env python3
"""Headless browser tests (TAP): the real pyleak-attach browser in a tmux
pseudo-terminal against a known scenario target.

    run_browser.py --tool PATH [--python 3.12]

The target (scenario.py, under a pyenv CPython) signals readiness through a
pipe; the browser is driven with tmux send-keys and every screen is checked
with capture-pane, polling for the expected text until a deadline (never a
fixed sleep).  Covers every screen and key family, resize, the too-small
terminal, the ASCII fallback under LANG=C, re-snapshot growth columns,
writing a dump from the browser, a dump reopened giving identical screens,
the JSON round trip through a dump, --dot and the CLI rules.
Runs under the system python3, stdlib only.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, 'scenario.py')
DEADLINE = float(os.environ.get('PYLEAK_BROWSER_DEADLINE', '20'))


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print('%sok %d - %s' % ('' if cond else 'not ', self.n, desc.replace('#', '')))
        if not cond and diag:
            for line in str(diag).splitlines():
                print('#   ' + line)
        sys.stdout.flush()
        return cond

    def done(self):
        print('1..%d' % self.n)
        return 1 if self.failed else 0


def find_python(version):
    root = os.path.expanduser('~/.pyenv/versions')
    if not os.path.isdir(root):
        return None
    for d in sorted(os.listdir(root), reverse=True):
        if d == version or d.startswith(version + '.'):
            p = os.path.join(root, d, 'bin', 'python3')
            if os.path.exists(p):
                return p
    return None


class Target:
    def __init__(self, python):
        r, w = os.pipe()
        self.ready_r = os.fdopen(r, 'rb', buffering=0)
        self.proc = subprocess.Popen([python, SCENARIO, str(w)], stdin=subprocess.PIPE,
                                     pass_fds=(w,), env=dict(os.environ, PYTHONDONTWRITEBYTECODE='1'))
        os.close(w)
        line = self._line()
        assert line.startswith(b'ready'), line
        self.pid = self.proc.pid
        self.globals_id = int(line.split()[2])

    def _line(self):
        buf = b''
        while not buf.endswith(b'\n'):
            c = self.ready_r.read(1)
            if not c:
                raise RuntimeError('target exited before answering')
            buf += c
        return buf

    def grow(self, n):
        self.proc.stdin.write(b'grow %d\n' % n)
        self.proc.stdin.flush()
        assert self._line() == b'grown\n'

    def close(self):
        try:
            self.proc.stdin.write(b'quit\n')
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Pane:
    """One tmux session running one command."""
    count = 0

    def __init__(self, argv, cols=120, rows=40, env=None):
        Pane.count += 1
        self.name = 'pyleak-browser-%d-%d' % (os.getpid(), Pane.count)
        envs = []
        for k, v in (env or {}).items():
            envs += ['%s=%s' % (k, v)]
        # the exit status is printed after the browser quits so the test can
        # read it from the pane; the shell then waits to be killed
        cmd = 'env %s %s; echo "EXIT=$?"; sleep 3600' % (
            ' '.join(envs), ' '.join(shquote(a) for a in argv))
        subprocess.check_call(['tmux', '-u', 'new-session', '-d', '-s', self.name,
                               '-x', str(cols), '-y', str(rows), cmd])

    def text(self):
        return subprocess.run(['tmux', 'capture-pane', '-p', '-t', self.name],
                              capture_output=True, text=True, errors='replace').stdout

    NAMED = {'Enter', 'BSpace', 'Escape', 'End', 'Home', 'PgDn', 'PgUp', 'Up', 'Down',
             'Left', 'Right', 'C-u', 'C-l'}

    def keys(self, *keys):
        for k in keys:
            subprocess.check_call(['tmux', 'send-keys', '-t', self.name] +
                                  ([k] if k in self.NAMED else ['-l', k]))

    def wait_for(self, needle, absent=None, deadline=DEADLINE):
        """The screen once it shows needle (and not absent) and has stopped
        changing: curses may be caught halfway through a redraw."""
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            last = self.text()
            if needle in last and (absent is None or absent not in last):
                same = 0
                while same < 3 and time.monotonic() < end:
                    time.sleep(0.03)
                    now = self.text()
                    same = same + 1 if now == last else 0
                    last = now
                if needle in last and (absent is None or absent not in last):
                    return last
            time.sleep(0.02)
        return None

    def resize(self, cols, rows):
        subprocess.check_call(['tmux', 'resize-window', '-t', self.name, '-x', str(cols),
                               '-y', str(rows)])

    def kill(self):
        subprocess.run(['tmux', 'kill-session', '-t', self.name], capture_output=True)


def shquote(s):
    return "'" + s.replace("'", "'\\''") + "'"


# Each step: keys to send, text that proves the screen is there.
TOUR = [
    ([], 'Leak suspects'),
    (['c', 'l'], 'grouping: strongly connected components'),
    (['Enter'], 'Shortest cycle through'),
    (['BSpace', 'l'], 'grouping: local'),
    (['Enter'], 'local grouping (references to classes'),
    (['t'], 'Enter lists a type'),
    (['/', 'Enter'], None),
    (['g'], 'A full collection would free'),
    (['T'], 'Python thread'),
    (['?'], 'search: type name, id (hex or decimal), text'),
    (['o'], 'Leak suspects'),
]


def run_tour(t, pane, results):
    """Sends the tour, captures each screen; returns the list of screens."""
    screens = []
    for keys, marker in TOUR:
        if keys == ['/', 'Enter']:
            pane.keys('/')
            pane.keys('__main__.Node')
            pane.keys('Enter')
            marker = '__main__.Node'
            pane.keys('Enter')
            marker = 'instances of __main__.Node'
        else:
            pane.keys(*keys)
        s = pane.wait_for(marker)
        t.ok(s is not None, 'tour %s: %s' % ('+'.join(keys) or 'start', marker),
             pane.text())
        screens.append(s or '')
    return screens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', required=True)
    ap.add_argument('--python', default='3.12')
    a = ap.parse_args()
    tool = os.path.abspath(a.tool)
    py = find_python(a.python)
    if not shutil.which('tmux'):
        print('1..0 # SKIP tmux is not installed')
        return 0
    if not py:
        print('1..0 # SKIP no pyenv CPython %s' % a.python)
        return 0
    if os.geteuid() != 0:
        print('1..0 # SKIP needs root (ptrace)')
        return 0
    t = Tap()
    tmp = tempfile.mkdtemp(prefix='pyleak-browser-')
    target = Target(py)
    panes = []
    try:
        body(t, tool, target, tmp, panes)
    finally:
        for p in panes:
            p.kill()
        target.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return t.done()


def body(t, tool, target, tmp, panes):
    pid = str(target.pid)
    utf8 = {'LANG': 'C.UTF-8', 'LC_ALL': 'C.UTF-8', 'TERM': 'xterm-256color'}

    # -- live browser: every screen ------------------------------------
    p = Pane([tool, pid], env=utf8)
    panes.append(p)
    s = p.wait_for('Leak suspects')
    t.ok(s is not None, 'the browser opens on the overview', p.text())
    s = s or ''
    t.ok('pid %s, CPython' % pid in s, 'overview: process line', s)
    t.ok('gc           DISABLED' in s, 'overview: gc state (disabled by the target)', s)
    t.ok('Garbage waiting for a collection' in s, 'overview: garbage waiting', s)
    t.ok('\u2014' in s, 'UTF-8 locale: title uses an em dash', s)

    p.keys('c')
    s = p.wait_for('grouping: local') or ''
    t.ok(s != '', 'cycles: the local grouping by default', p.text())
    p.keys('l')
    s = p.wait_for('grouping: strongly connected components') or ''
    t.ok('members' in s and 'retained' in s and 'type signature' in s,
         'cycles: columns', s)
    p.keys('/', 'Leaky', 'Enter')
    s = p.wait_for('Leaky') or ''
    sel = [ln for ln in s.splitlines() if '__main__.Leaky' in ln]
    t.ok(sel and 'GARBAGE' in sel[0] and '3 cycles (3 garbage)' not in s,
         'cycles: / finds a Leaky garbage pair', s)
    p.keys('l')
    s = p.wait_for('grouping: local') or ''
    t.ok('__main__.Node' in s, 'l: local grouping shows the Node pairs', s)
    p.keys('/', 'Leaky', 'Enter')
    s = p.wait_for('Leaky') or ''
    p.keys('Enter')
    s = p.wait_for('Shortest cycle through') or ''
    t.ok('.other \u2192 __main__.Leaky' in s, 'cycle view: labelled edges', s)
    p.keys('j', 'j', 'Enter')
    s = p.wait_for('Referents (') or ''
    t.ok('Referrers (' in s and 'refcount' in s, 'Enter on a step opens the object', s)
    p.keys('p')
    s = p.wait_for('Why is') or ''
    t.ok('No root reaches it' in s, 'p: garbage has no path from a root', s)
    p.keys('BSpace', 'BSpace', 'BSpace')
    s = p.wait_for('grouping: local') or ''
    t.ok(s != '', 'Backspace walks the history back', p.text())

    p.keys('t')
    s = p.wait_for('Enter lists a type') or ''
    t.ok('count' in s and 'bytes' in s and 'retained' in s, 'types: columns', s)
    p.keys('/', '__main__.Node', 'Enter', 'Enter')
    s = p.wait_for('instances of __main__.Node') or ''
    t.ok('11 instances of __main__.Node' in s,
         'types: Enter lists the 11 Nodes (5 pairs and the worker\'s local)', s)
    p.keys('s')
    s = p.wait_for('\u25b2') or p.wait_for('\u25bc') or ''
    t.ok(s != '', 's: sort column marked', p.text())
    p.keys('End')
    p.keys('Home')
    p.keys('PgDn')
    p.keys('PgUp')
    p.keys('Enter')
    s = p.wait_for('Referents (') or ''
    t.ok('.next' in s and '__class__' in s or '.__dict__' in s,
         'object: labelled referents', s)
    p.keys('p')
    s = p.wait_for('Why is') or ''
    t.ok('root:' in s, 'p: path from a root', s)

    # previews: a str's value in the referent rows of its dict, found by /
    # with its text, and on its own Object screen
    # from the help screen: its rows name no object, so / with an id opens
    # the object (on a path screen the search would select its row)
    p.keys('?')
    p.wait_for('search: type name')
    p.keys('/', '0x%x' % target.globals_id, 'Enter')
    s = p.wait_for('Referents (') or ''
    t.ok("['marker_text']" in s, 'the globals dict opened by its id', s)
    p.keys('/', 'browser-marker', 'Enter')
    s = p.wait_for("'pyleak-browser-marker'") or ''
    line = [ln for ln in s.splitlines() if "'pyleak-browser-marker'" in ln]
    t.ok(line and "['marker_text']" in line[0] and 'builtins.str' in line[0],
         'object: the referent row shows the str value; / finds it by its text', s)
    p.keys('Enter')
    s = p.wait_for("value 'pyleak-browser-marker'") or ''
    t.ok('builtins.str @ 0x' in s, 'object: the value line of a str', p.text())
    p.keys('BSpace', 'BSpace')
    p.keys('t', '/', '__main__.Node', 'Enter', 'Enter')
    s = p.wait_for('instances of __main__.Node') or ''
    t.ok(' value' in s, 'instances: a value column', s)

    p.keys('g')
    s = p.wait_for('A full collection would free') or ''
    t.ok('__main__.Leaky' in s, 'garbage: the Leaky objects', s)
    p.keys('f', 'BSpace', 'BSpace', 'g', 'Enter')
    s = p.wait_for('[garbage only]') or ''
    t.ok(s != '', 'f: garbage-only filter', p.text())

    p.keys('T')
    s = p.wait_for('Python thread') or ''
    t.ok(s != '', 'threads screen', s)
    p.keys('?')
    s = p.wait_for('search: type name') or ''
    t.ok('quit' in s and 'Backspace' in s, 'help: generated from the keymap', s)

    # resize: smaller than 80x24, then back
    p.resize(70, 20)
    s = p.wait_for('terminal too small')
    t.ok(s is not None and '70x20' in s, 'resize below 80x24: clear message', p.text())
    # the 60x20: the message must itself fit, every word of it
    p.resize(60, 20)
    s = p.wait_for('enlarge it, or q quits')
    t.ok(s is not None and 'terminal too small: 60x20' in s and 'the browser needs 80x24' in s,
         'resize to 60x20: the whole message fits', p.text())
    p.resize(120, 40)
    s = p.wait_for('search: type name', absent='terminal too small')
    t.ok(s is not None, 'resize back: the screen returns', p.text())

    # re-snapshot: growth columns
    target.grow(7)
    p.keys('t', 'r')
    s = p.wait_for('appeared since the previous one') or ''
    t.ok('\u0394count' in s and '\u0394bytes' in s, 'r: growth columns', s)
    line = [ln for ln in s.splitlines() if '__main__.Node' in ln]
    t.ok(line and '+14' in line[0], 'r: __main__.Node grew by 14', s)

    # w: dump from the browser
    dump1 = os.path.join(tmp, 'from-browser.db')
    p.keys('w')
    p.wait_for('write dump to:')
    p.keys('C-u')
    for _ in range(40):
        p.keys('BSpace')
    p.keys(dump1, 'Enter')
    s = p.wait_for('wrote ') or ''
    t.ok(os.path.exists(dump1), 'w: dump written from the browser', p.text())
    p.keys('q')
    s = p.wait_for('EXIT=')
    t.ok(s is not None and 'EXIT=0' in s, 'q quits with status 0', p.text())

    # -- the dump gives the same screens -----------------------------------
    live = Pane([tool, pid], env=utf8)
    panes.append(live)
    live.wait_for('Leak suspects')
    dump2 = os.path.join(tmp, 'tour.db')
    live.keys('w')
    live.wait_for('write dump to:')
    for _ in range(40):
        live.keys('BSpace')
    live.keys(dump2, 'Enter')
    live.wait_for('wrote ')
    live.keys('Escape')
    live.keys('o')
    s1 = run_tour(t, live, None)
    live.keys('q')
    reopened = Pane([tool, dump2], env=utf8)
    panes.append(reopened)
    s2 = run_tour(t, reopened, None)
    reopened.keys('q')
    same = all(x == y for x, y in zip(s1, s2)) and len(s1) == len(s2)
    diff = ''
    for x, y in zip(s1, s2):
        if x != y:
            diff = 'live:\n%s\ndump:\n%s' % (x, y)
            break
    t.ok(same, 'dump reopened: every screen identical to the live run', diff)
    s = reopened.wait_for('EXIT=')
    t.ok(s is not None and 'EXIT=0' in s, 'dump browser quits with status 0', reopened.text())

    # r in a dump: a clear message
    d = Pane([tool, dump2], env=utf8)
    panes.append(d)
    d.wait_for('Leak suspects')
    d.keys('r')
    t.ok(d.wait_for('r needs a live target') is not None, 'r on a dump says why not',
         d.text())
    d.keys('q')

    # -- ASCII fallback --------------------------------------------------
    c = Pane([tool, dump2], env={'LANG': 'C', 'LC_ALL': 'C', 'TERM': 'xterm'})
    panes.append(c)
    s = c.wait_for('Leak suspects') or ''
    t.ok(' - pid ' in s and '\u2014' not in s, 'LANG=C: ASCII title', s)
    c.keys('c', 'l', 'Enter')
    s = c.wait_for('Shortest cycle through') or ''
    t.ok(' -> ' in s and '\u2192' not in s, 'LANG=C: ASCII arrows', s)
    c.keys('q')

    # -- CLI: dump files, JSON round trip, --dot, usage --------------------
    j1 = os.path.join(tmp, 'live.json')
    dump3 = os.path.join(tmp, 'cli.db')
    r = subprocess.run([tool, pid, '--dump', dump3, '--json', j1, '-q'],
                       capture_output=True, text=True)
    t.ok(r.returncode == 0 and os.path.exists(dump3), '--dump writes the file, exit 0',
         r.stderr)
    r = subprocess.run([tool, dump3, '--json', '-', '-q'], capture_output=True, text=True)
    # byte for byte but for "costs", which are the run's own (README: JSON
    # report): the live run's, null from a dump that loads its analysis
    live_json = open(j1).read()
    costs = re.compile(r'\n  "costs": [^\n]*\n')
    t.ok(r.returncode == 0 and costs.sub('\n', r.stdout) == costs.sub('\n', live_json) and
         '\n  "costs": {"model": ' in live_json and '\n  "costs": null,\n' in r.stdout,
         'dump reopened: identical JSON report (costs: the live run\'s, null from the dump)',
         r.stderr)
    r = subprocess.run([tool, dump3, '--text', '-', '-q'], capture_output=True, text=True)
    t.ok(r.returncode == 0 and 'Cycles:' in r.stdout, 'dump: --text - works', r.stderr)
    r = subprocess.run([tool, pid, '--dump', dump3, '-q'], capture_output=True, text=True)
    # refused before the target is touched: a usage error (64)
    t.ok(r.returncode == 64 and 'already exists' in r.stderr and '--force' in r.stderr,
         'existing dump refused without --force, before the attach (64)',
         r.stderr)
    r = subprocess.run([tool, pid, '--dump', dump3, '--force', '-q'], capture_output=True,
                       text=True)
    t.ok(r.returncode == 0, '--force replaces the dump', r.stderr)
    dot = os.path.join(tmp, 'c.dot')
    r = subprocess.run([tool, dump3, '--dot', dot, '--dot-local', '--dot-top', '3', '-q'],
                       capture_output=True, text=True)
    txt = open(dot).read() if os.path.exists(dot) else ''
    t.ok(r.returncode == 0 and txt.startswith('digraph') and txt.count('subgraph cluster_') == 3
         and '[label=".next"]' in txt, '--dot: clusters with labelled edges', r.stderr + txt[:500])
    r = subprocess.run([tool, dump3, '--dot', '-', '--dot-cycles', '1,2', '-q'],
                       capture_output=True, text=True)
    t.ok(r.returncode == 0 and 'cluster_1 ' in r.stdout and 'cluster_2 ' in r.stdout,
         '--dot-cycles picks cycles by rank', r.stderr)
    for args, why in ((['--force', pid], '--force without --dump'),
                      (['--dot-top', '3', pid], '--dot-top without --dot'),
                      (['--snapshot', 'nope', pid], 'bad --snapshot'),
                      ([os.path.join(tmp, 'no-such-file')], 'neither pid nor file')):
        r = subprocess.run([tool] + args, capture_output=True, text=True)
        t.ok(r.returncode == 64, 'usage error (64): %s' % why, r.stderr)
    r = subprocess.run([tool, pid, '-q'], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    t.ok(r.returncode == 0 and r.stdout.startswith('pyleak-attach '),
         'not a terminal: text report on stdout', r.stderr)


if __name__ == '__main__':
    sys.exit(main())
