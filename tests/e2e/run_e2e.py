#!/usr/bin/env python3
"""End-to-end tests: real CPython processes against pyleak-attach (TAP).

    run_e2e.py --tool PATH versions --python 3.12     graph scenarios on one CPython
    run_e2e.py --tool PATH cli                         error paths and usage
    run_e2e.py --tool PATH robust                      200 runs + SIGKILLed runs
    run_e2e.py --tool PATH oracle --python 3.12 --scenario types   print the oracle only

Each graph scenario starts tests/e2e/target.py under a pyenv CPython, waits
for it to say it is ready (pipe), runs `pyleak-attach PID --json F --objects`,
then asks the target for its own view (gc.get_objects, gc.get_referents,
gc.garbage, a forked DEBUG_SAVEALL collection, Tarjan SCCs) and compares,
one TAP line per property.  Runs under the system python3, stdlib only.
"""
import argparse
import collections
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, 'target.py')
sys.path.insert(0, HERE)
from target import tarjan  # noqa: E402  (stdlib only, 3.8-compatible)
SUPPORTED = ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13']
SCENARIOS = ['types', 'types_extra', 'modules', 'garbage', 'freeze', 'gc_garbage',
             'gcstate', 'chain']
MAX_DIAG = 12
TOOL_TIMEOUT = float(os.environ.get('PYLEAK_E2E_TOOL_TIMEOUT', '300'))


# ---------------------------------------------------------------------------
# TAP

class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    @staticmethod
    def _clean(desc):
        return desc.replace('#', '').replace('\n', ' ')

    def ok_or_todo(self, cond, todo, desc, reason, diag=()):
        """cond passes; otherwise, when `todo` holds (the failure is fully
        accounted for by a gap the tool itself declares), "not ok ... # TODO
        reason": visible in every run, not counted as a failure; else a
        plain failure."""
        if cond or not todo:
            return self.ok(cond, desc, diag)
        self.n += 1
        print('not ok %d - %s # TODO %s' % (self.n, self._clean(desc), self._clean(reason)))
        for line in diag:
            for part in str(line).splitlines() or ['']:
                print('#   ' + part)
        sys.stdout.flush()
        return False

    def ok(self, cond, desc, diag=(), always=False):
        """One result; the '#' diagnostics (lines, or one text) are printed
        for failures (and for passes when `always`)."""
        if isinstance(diag, str):
            diag = [diag]
        self.n += 1
        if not cond:
            self.failed += 1
        print('%sok %d - %s' % ('' if cond else 'not ', self.n, self._clean(desc)))
        for line in (diag if (always or not cond) else ()):
            for part in str(line).splitlines() or ['']:
                print('#   ' + part)
        sys.stdout.flush()
        return cond

    def skip(self, desc, why):
        self.n += 1
        print('ok %d - %s # SKIP %s' % (self.n, self._clean(desc), self._clean(why)))
        sys.stdout.flush()

    def note(self, line):
        for part in str(line).splitlines():
            print('# ' + part)
        sys.stdout.flush()

    def done(self):
        # Last: a sanitizer that fired in any run fails the test, even
        # where that run's exit status was accepted (live mode's exit 1).
        self.ok(not SANITIZER_REPORTS,
                'no sanitizer report from any of the %d tool runs' % SANITIZER_RUNS[0],
                ['%d run(s) with a report, each printed whole above: %s' % (
                    len(SANITIZER_REPORTS), '; '.join(SANITIZER_REPORTS[:MAX_DIAG]))])
        print('1..%d' % self.n)
        sys.stdout.flush()
        return 1 if self.failed else 0


# ---------------------------------------------------------------------------
# Finding the CPythons

def pyenv_root():
    if os.environ.get('PYENV_ROOT'):
        return os.environ['PYENV_ROOT']
    exe = shutil.which('pyenv')
    if exe:
        try:
            out = subprocess.run([exe, 'root'], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                 timeout=30, universal_newlines=True).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return os.path.expanduser('~/.pyenv')


def pyenv_pythons():
    """{'3.12': '/root/.pyenv/versions/3.12.1/bin/python3.12', ...}: highest
    patch release of each supported minor version (default builds only)."""
    vdir = os.path.join(pyenv_root(), 'versions')
    best = {}
    try:
        names = os.listdir(vdir)
    except OSError:
        names = []
    for name in names:
        m = re.match(r'^(3\.\d+)\.(\d+)$', name)
        if not m or m.group(1) not in SUPPORTED:
            continue
        exe = os.path.join(vdir, name, 'bin', 'python' + m.group(1))
        if not os.access(exe, os.X_OK):
            continue
        patch = int(m.group(2))
        if m.group(1) not in best or patch > best[m.group(1)][0]:
            best[m.group(1)] = (patch, exe)
    return {k: v[1] for k, v in best.items()}


def preferred_python():
    found = pyenv_pythons()
    for v in ['3.12', '3.11', '3.13', '3.10', '3.9', '3.8']:
        if v in found:
            return v, found[v]
    return None, None


# ---------------------------------------------------------------------------
# Processes

def proc_status(pid):
    st = {}
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                k, _, v = line.partition(':')
                st[k] = v.strip()
    except OSError:
        pass
    return st


def proc_state(pid):
    return proc_status(pid).get('State', '?')[:1]


def tracer_pid(pid):
    return int(proc_status(pid).get('TracerPid', '0') or 0)


def wait_until(pred, timeout, step=0.01):
    """Poll a condition about another process (not a readiness handshake)."""
    end = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(step)


class Target:
    """tests/e2e/target.py in a child process, with the two pipes."""

    def __init__(self, python, scenario, tmpdir, env=None):
        self.scenario = scenario
        self.out = os.path.join(tmpdir, 'oracle-%s.json' % scenario)
        self.log = os.path.join(tmpdir, 'target-%s.log' % scenario)
        ready_r, ready_w = os.pipe()
        cmd_r, cmd_w = os.pipe()
        e = dict(os.environ)
        for k in ('PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'PYTHONOPTIMIZE'):
            e.pop(k, None)
        e['PYTHONDONTWRITEBYTECODE'] = '1'
        e.update(env or {})
        with open(self.log, 'w') as logf:
            self.proc = subprocess.Popen(
                [python, TARGET, scenario, '--ready-fd', str(ready_w),
                 '--cmd-fd', str(cmd_r), '--out', self.out],
                pass_fds=(ready_w, cmd_r), stdin=subprocess.DEVNULL,
                stdout=logf, stderr=subprocess.STDOUT, env=e)
        os.close(ready_w)
        os.close(cmd_r)
        self.ready_r = ready_r
        self.cmd_w = cmd_w
        self.pid = self.proc.pid

    def log_text(self, limit=3000):
        try:
            with open(self.log, errors='replace') as f:
                return f.read()[-limit:]
        except OSError:
            return ''

    def wait_byte(self, expect, timeout):
        """Wait for one byte on the ready pipe.  While waiting, notice a
        target left stopped by the tool (and resume it so we can go on)."""
        end = time.monotonic() + timeout
        left_stopped = False
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False, 'timed out after %.0fs (state %s, TracerPid %d)%s' % (
                    timeout, proc_state(self.pid), tracer_pid(self.pid),
                    '; it was left stopped' if left_stopped else '')
            r, _, _ = select.select([self.ready_r], [], [], min(left, 2.0))
            if r:
                b = os.read(self.ready_r, 1)
                if b == expect:
                    return True, 'left stopped, resumed by the harness' if left_stopped else ''
                return False, 'target exited (%r) rc=%s; log:\n%s' % (
                    b, self.proc.poll(), self.log_text())
            if proc_state(self.pid) in ('T', 't') and tracer_pid(self.pid) == 0:
                left_stopped = True
                os.kill(self.pid, signal.SIGCONT)

    def send(self, cmd):
        try:
            os.write(self.cmd_w, cmd)
        except OSError:
            pass

    def stop(self):
        for fd in (self.cmd_w, self.ready_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.cmd_w = self.ready_r = -1
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGCONT)
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------
# Sanitizer reports
#
# The suite's tool is built with ASan + UBSan.  A report is dozens of lines
# (the error, its stack, the frame's variables, the shadow legend) and the
# call sites below keep only the last lines of stderr for their own
# diagnostics: every run's stderr is therefore scanned here, and a report is
# printed whole as TAP diagnostics between two marker lines (which
# tests/summarize.py looks for), and fails the final test line.

SANITIZER_START = re.compile(
    r'^(?:==\d+==\s*ERROR: \w*Sanitizer'                 # ASan, LSan
    r'|==\d+==\w*Sanitizer has encountered a fatal error'
    r'|\w*Sanitizer:DEADLYSIGNAL'                      # before a SEGV report
    r'|.*:\d+(?::\d+)?: runtime error: )')              # UBSan
SANITIZER_BEGIN = '# --- sanitizer report: '
SANITIZER_END = '# --- end of sanitizer report ---'
SANITIZER_REPORTS = []
SANITIZER_RUNS = [0]


def sanitizer_report(text):
    """The sanitizer report in a process's stderr: from its first line to
    the end (a sanitizer halts the process, so the rest is the report and
    whatever else its threads printed meanwhile), or ''."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if SANITIZER_START.match(line):
            return '\n'.join(lines[i:])
    return ''


def check_sanitizer(cmd, rc, err):
    """Records and prints whole the sanitizer report in one run's stderr."""
    SANITIZER_RUNS[0] += 1
    report = sanitizer_report(err)
    if not report:
        return
    what = '%s (exit %r)' % (' '.join(os.path.basename(str(c)) if i == 0 else str(c)
                                      for i, c in enumerate(cmd)), rc)
    SANITIZER_REPORTS.append(what)
    print(SANITIZER_BEGIN + what + ' ---')
    for line in report.splitlines():
        print('#   ' + line)
    print(SANITIZER_END)
    sys.stdout.flush()


def run_tool(tool, args, timeout=TOOL_TIMEOUT, user=None, env=None):
    cmd = [tool] + [str(a) for a in args]
    if user:
        cmd = user + cmd
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=env)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = 'timeout', e.stdout or b'', e.stderr or b''
    except OSError as e:
        rc, out, err = 'exec failed: %s' % e, b'', b''
    secs = time.monotonic() - t0
    err = err.decode('utf-8', 'replace')
    check_sanitizer(cmd, rc, err)
    return rc, out.decode('utf-8', 'replace'), err, secs


def stop_target(p):
    """Ends a target that waits on its stdin: EOF, then a kill if it does
    not exit within 30 s."""
    try:
        p.stdin.close()
    except OSError:
        pass
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def tail(text, n=15):
    lines = text.rstrip('\n').splitlines()
    return lines[-n:]


# ---------------------------------------------------------------------------
# Comparing one scenario

def nid(x):
    if type(x) is int:
        return x
    if isinstance(x, int):
        return x
    return int(str(x), 0)


class Ctx:
    """Oracle + tool report, with the helpers that make diagnostics readable."""

    def __init__(self, oracle, report):
        self.o = oracle
        self.r = report
        self.gens = {g: [nid(i) for i in ids] for g, ids in oracle['gens'].items()}
        self.nodes = set()
        for ids in self.gens.values():
            self.nodes.update(ids)
        self.gen_of = {i: g for g, ids in self.gens.items() for i in ids}
        self.changed = set(oracle.get('changed', []))
        self.opaque = set()
        self.otypes = {int(k): v for k, v in oracle['types'].items()}
        self.oref = {int(k): v for k, v in oracle['referents'].items()}
        self.tobj = {}
        for ob in report.get('objects') or []:
            try:
                self.tobj[nid(ob['id'])] = ob
                if ob.get('opaque'):
                    self.opaque.add(nid(ob['id']))
            except (KeyError, ValueError, TypeError):
                pass
        self.name_of = {}
        names = oracle.get('names', {})
        by_id = {v: k for k, v in names.items()}
        for comp in oracle.get('sccs', []):
            if len(comp) > 64:      # the big start-up SCC: a name would mislead
                continue
            hit = [by_id[m] for m in comp if m in by_id]
            if hit:
                for m in comp:
                    self.name_of.setdefault(m, hit[0])
        for i, k in by_id.items():
            self.name_of.setdefault(i, k)

    def reported(self, i):
        """Multiset of the referent ids the tool reports for i."""
        ob = self.tobj.get(i) or {}
        try:
            return collections.Counter(nid(x['id']) for x in ob.get('referents') or [])
        except (KeyError, ValueError, TypeError):
            return collections.Counter({-1: 1})

    def typ(self, i):
        if i in self.otypes:
            return self.otypes[i]
        ob = self.tobj.get(i)
        return ob.get('type', '?') if ob else '?'

    def desc(self, i):
        s = '0x%x %s' % (i, self.typ(i))
        if i in self.tobj and self.tobj[i].get('opaque'):
            s += ' [opaque]'
        if i in self.name_of:
            s += " (cycle '%s')" % self.name_of[i]
        return s

    def ref_desc(self, owner, i):
        s = '0x%x %s' % (i, self.typ(i))
        lab = None
        for ref in (self.tobj.get(owner) or {}).get('referents') or []:
            try:
                if nid(ref['id']) == i:
                    lab = ref.get('label')
                    break
            except (KeyError, ValueError, TypeError):
                pass
        if lab:
            s += ' label=%r' % lab
        return s


def type_summary(ctx, ids, n=8):
    c = collections.Counter(ctx.typ(i) for i in ids)
    return ', '.join('%s x%d' % kv for kv in c.most_common(n))


def set_diff_diag(ctx, want, got, what):
    missing = sorted(want - got)
    extra = sorted(got - want)
    d = ['oracle %d, tool %d, missing from tool %d, extra in tool %d' % (
        len(want), len(got), len(missing), len(extra))]
    if missing:
        d.append('missing by type: ' + type_summary(ctx, missing))
        d += ['  missing %s' % ctx.desc(i) for i in missing[:MAX_DIAG]]
    if extra:
        d.append('extra by type: ' + type_summary(ctx, extra))
        d += ['  extra %s' % ctx.desc(i) for i in extra[:MAX_DIAG]]
    return d


def reach(seeds, referents, within):
    """Everything reachable from seeds (in `within`) along referents,
    staying inside `within`."""
    seen = set(x for x in seeds if x in within)
    todo = list(seen)
    while todo:
        for x in referents.get(todo.pop(), ()):
            if x in within and x not in seen:
                seen.add(x)
                todo.append(x)
    return seen


def compare(tap, tag, ctx, target_pid):
    o, r = ctx.o, ctx.r
    t = lambda s: '%s: %s' % (tag, s)

    tap.ok(r.get('pid') == target_pid, t('report pid'), ['tool %r, target %d' % (r.get('pid'), target_pid)])
    py = r.get('python') or {}
    tap.ok(py.get('version') == o['version'], t('python.version'),
           ['tool %r (layout_source %r), target %r' % (py.get('version'), py.get('layout_source'), o['version'])])

    snap = r.get('snapshot') or {}
    sd = ['pause_ms %r, threads %r (target has %d), bytes_copied %r' % (
        snap.get('pause_ms'), snap.get('threads'), o['threads'], snap.get('bytes_copied'))]
    good = (isinstance(snap.get('pause_ms'), (int, float)) and snap.get('pause_ms') >= 0
            and snap.get('threads') == o['threads']
            and isinstance(snap.get('bytes_copied'), int) and snap.get('bytes_copied') > 0)
    tap.ok(good, t('snapshot: pause_ms, threads, bytes_copied'), sd, always=True)

    gc_ = r.get('gc') or {}
    tap.ok(gc_.get('enabled') == o['enabled'], t('gc.enabled'),
           ['tool %r, gc.isenabled() %r' % (gc_.get('enabled'), o['enabled'])])
    tap.ok(list(gc_.get('thresholds') or []) == o['threshold'], t('gc.thresholds'),
           ['tool %r, gc.get_threshold() %r' % (gc_.get('thresholds'), o['threshold'])])
    tap.ok(list(gc_.get('counts') or []) == o['count'], t('gc.counts'),
           ['tool %r, gc.get_count() at snapshot %r (readiness call saw %r, +1 for its own tuple)' % (
               gc_.get('counts'), o['count'], o['count_ready'])])
    frozen = gc_.get('frozen')
    fz_ok = gc_.get('collecting') in (False, 0) and (
        frozen == o['freeze_count'] if isinstance(frozen, int) and not isinstance(frozen, bool) else True)
    tap.ok(fz_ok, t('gc.collecting false, gc.frozen'),
           ['collecting %r, frozen %r, gc.get_freeze_count() %r' % (
               gc_.get('collecting'), frozen, o['freeze_count'])])

    # Generations: counts and exact id sets.
    tgen = {}
    for g in r.get('generations') or []:
        tgen[str(g.get('name'))] = g.get('objects')
    want = {g: len(ids) for g, ids in ctx.gens.items()}
    tap.ok(all(tgen.get(g) == n for g, n in want.items()), t('generation sizes (0, 1, 2, permanent)'),
           ['tool %r' % tgen, 'oracle %r (permanent = gc.get_freeze_count() %d)' % (want, o['freeze_count'])])
    tap.ok(tgen.get('permanent') == o['freeze_count'], t('permanent generation size = gc.get_freeze_count()'),
           ['tool %r, get_freeze_count %r' % (tgen.get('permanent'), o['freeze_count'])])
    have_objects = bool(ctx.tobj)
    by_gen = collections.defaultdict(set)
    for i, ob in ctx.tobj.items():
        by_gen[str(ob.get('gen'))].add(i)
    for g in ('0', '1', '2', 'permanent'):
        got = by_gen.get(g, set())
        w = set(ctx.gens.get(g, []))
        tap.ok(have_objects and got == w, t('tracked ids of generation %s = gc.get_objects(%s)' % (
            g, g if g != 'permanent' else 'after gc.unfreeze()')),
            set_diff_diag(ctx, w, got, g) if have_objects else ['no "objects" in the JSON report'])

    # Types of objects.
    bad = []
    for i in ctx.nodes:
        ob = ctx.tobj.get(i)
        if ob is not None and ob.get('type') != ctx.otypes.get(i):
            bad.append(i)
    tap.ok(have_objects and not bad, t('object types = type(o).__module__ + __qualname__'),
           ['%d mismatches' % len(bad)] + ['  0x%x tool %r, python %r' % (
               i, ctx.tobj[i].get('type'), ctx.otypes.get(i)) for i in sorted(bad)[:MAX_DIAG]])

    # Edges.  The tool marks what it cannot decode as opaque: for those it
    # must report no referents at all (their edges are unknown to it, by
    # design), and say so in coverage.  Everything else must be exact.
    opaque = ctx.opaque
    mism = []
    invented = []
    partial = []
    checked = 0
    for i in ctx.nodes:
        ob = ctx.tobj.get(i)
        if ob is None:
            continue
        if i in opaque:
            rep = ctx.reported(i)
            if rep:
                if rep - collections.Counter(ctx.oref.get(i, [])):
                    invented.append(i)
                else:
                    partial.append(i)
            continue
        if i in ctx.changed:
            continue
        checked += 1
        want_l = ctx.oref.get(i, [])
        try:
            got_l = [nid(x['id']) for x in ob.get('referents') or []]
        except (KeyError, ValueError, TypeError):
            got_l = [None]
        if got_l == want_l:         # same order: tp_traverse's, both sides
            continue
        want_c = collections.Counter(want_l)
        got_c = collections.Counter(got_l)
        if want_c != got_c:
            mism.append((i, want_c - got_c, got_c - want_c))
    d = ['%d decoded objects compared, %d mismatching; %d excluded: %s; %d opaque' % (
        checked, len(mism), len(ctx.changed),
        'what the oracle itself changes after the snapshot (its running frame, the '
        'interned-string table)' if ctx.changed else 'none', len(opaque & ctx.nodes))]
    if mism:
        d.append('mismatching by type: ' + type_summary(ctx, [m[0] for m in mism], 16))
        mism.sort(key=lambda m: (ctx.typ(m[0]), m[0]))
        seen_types = collections.Counter()
        shown = 0
        for i, missing, extra in mism:
            if seen_types[ctx.typ(i)] >= 2 or shown >= MAX_DIAG:
                continue
            seen_types[ctx.typ(i)] += 1
            shown += 1
            d.append('  %s: get_referents %d, tool %d' % (
                ctx.desc(i), len(ctx.oref.get(i, [])), len(ctx.tobj[i].get('referents') or [])))
            for ref in list(missing.elements())[:4]:
                d.append('      missing %s' % ctx.ref_desc(i, ref))
            for ref in list(extra.elements())[:4]:
                d.append('      extra   %s' % ctx.ref_desc(i, ref))
    tap.ok(have_objects and not mism and checked > 0,
           t('edges of decoded objects: referent multiset = gc.get_referents()'), d)

    ohist = collections.Counter(ctx.typ(i) for i in opaque & ctx.nodes)
    d = ['%d opaque objects: %d report no referents, %d report only real ones (partly decoded: %s), '
         '%d report referents get_referents does not have' % (
             sum(ohist.values()), sum(ohist.values()) - len(partial) - len(invented), len(partial),
             type_summary(ctx, partial, 4) or '-', len(invented))]
    for i in sorted(invented)[:MAX_DIAG]:
        extra = ctx.reported(i) - collections.Counter(ctx.oref.get(i, []))
        d.append('  %s: tool %d referents, get_referents %d; invented: %s' % (
            ctx.desc(i), sum(ctx.reported(i).values()), len(ctx.oref.get(i, [])),
            ', '.join(ctx.ref_desc(i, x) for x in list(extra.elements())[:4])))
    d.append('opaque by type (edges unknown to the tool, not compared): %s' % (
        ', '.join('%s x%d' % kv for kv in sorted(ohist.items(), key=lambda kv: (-kv[1], kv[0]))) or 'none'))
    tap.ok(have_objects and not invented, t('opaque objects: no invented edges (any referent reported is a real one)'),
           d, always=True)

    # The decoded list is never opaque (a C module may be).
    must = o.get('must_decode') or {}
    mods = {int(k): v for k, v in (o.get('modules') or {}).items()}
    bad = []
    required = 0
    for i in ctx.nodes:
        if i in mods:
            req = mods[i] in ('py', 'cstate')
        else:
            req = bool(must.get(ctx.otypes.get(i)))
        if req:
            required += 1
            if i in opaque:
                bad.append(i)
    cmods = [i for i in mods if mods[i] == 'c' and i in ctx.nodes]
    d = ['%d tracked objects of the listed types (%d of them Python-level modules, %d C modules '
         'whose state is decoded), %d opaque; %d other C modules, %d of them opaque (allowed)' % (
             required, sum(1 for v in mods.values() if v == 'py'),
             sum(1 for v in mods.values() if v == 'cstate'), len(bad), len(cmods),
             sum(1 for i in cmods if i in opaque))]
    if bad:
        d.append('opaque by type: ' + type_summary(ctx, bad, 16))
        kinds = {'py': 'Python-level module', 'cstate': 'C module whose state is decoded'}
        d += ['  %s (%s)' % (ctx.desc(i), kinds[mods[i]] if i in mods else must.get(ctx.otypes.get(i)))
              for i in sorted(bad, key=lambda i: (ctx.typ(i), i))[:MAX_DIAG]]
    # A listed type can be opaque only where the tool itself declares a
    # layout gap (snapshot.layout_gaps: no provider describes the private
    # struct its decoder needs on this build, e.g. deque on Debian's 3.14):
    # that is a known, declared gap, shown as TODO; anything beyond it fails.
    gaps = ((r.get('snapshot') or {}).get('layout_gaps') or 0)
    tap.ok_or_todo(have_objects and 'must_decode' in o and required > 0 and not bad,
                   have_objects and 'must_decode' in o and required > 0 and 0 < len(bad) <= gaps,
                   t('never opaque: the issue\'s decoded types, Python classes, Python-level modules, '
                     'the C modules whose state is decoded'),
                   'declared layout gap: %d objects whose private struct no provider '
                   'describes on this build' % gaps, d)

    # Cycles: SCCs of the graph the tool can know (an opaque object's
    # outgoing edges dropped, except the real ones it reports, e.g. a C
    # module's md_dict) must be exactly the tool's cycles.
    known = {}
    for i in ctx.nodes:
        if i in opaque:
            known[i] = list((ctx.reported(i) & collections.Counter(ctx.oref.get(i, []))).elements())
        else:
            known[i] = ctx.oref.get(i, [])
    want_c = {frozenset(c) for c in tarjan(ctx.nodes, known)}
    full_c = {frozenset(c) for c in o['sccs']}
    got_c = set()
    garbage_flag = {}
    for c in r.get('cycles') or []:
        try:
            fs = frozenset(nid(m) for m in c.get('members') or [])
        except (ValueError, TypeError):
            continue
        got_c.add(fs)
        garbage_flag[fs] = c.get('garbage')
    missing = sorted(want_c - got_c, key=len, reverse=True)
    extra = sorted(got_c - want_c, key=len, reverse=True)
    gone = full_c - want_c
    d = ['oracle %d SCCs (opaque objects\' edges dropped), tool %d cycles, missing %d, extra %d' % (
        len(want_c), len(got_c), len(missing), len(extra))]
    for comp in missing[:MAX_DIAG // 2]:
        overlap = [len(x & comp) for x in got_c if x & comp]
        d.append('  missing SCC of %d: %s; tool cycles overlapping it: %s' % (
            len(comp), type_summary(ctx, comp, 4), overlap[:5] or 'none'))
        d.append('      e.g. %s' % ctx.desc(min(comp)))
    for comp in extra[:MAX_DIAG // 2]:
        d.append('  extra cycle of %d: %s; e.g. %s' % (
            len(comp), type_summary(ctx, comp, 4), ctx.desc(min(comp))))
    d.append('full get_referents graph: %d SCCs, %d of them not SCCs once opaque edges are dropped '
             '(%d through an opaque object)' % (
                 len(full_c), len(gone), sum(1 for c in gone if c & opaque)))
    tap.ok(not missing and not extra, t('cycles = nontrivial SCCs of get_referents without opaque objects\' edges'),
           d, always=True)

    # Garbage.  Truth: the forked DEBUG_SAVEALL collection.  The tool must
    # never call garbage what a collection keeps; what it misses must be
    # explained by opacity; and the garbage a scenario built from decoded
    # types only must all be found.
    og = {nid(i) for i in o['garbage']}
    artefacts = og - ctx.nodes
    og &= ctx.nodes
    try:
        tg = {nid(i) for i in r.get('garbage') or []}
    except (ValueError, TypeError):
        tg = set()
    casc = set(o.get('garbage_cascade', [])) & ctx.nodes
    note = ('(oracle: %d saved by DEBUG_SAVEALL + %d freed by finalizers breaking their cycle%s; '
            '%d tuples/dicts merely untracked; %d freed by at-fork handlers in the child; '
            '%d freed objects created after the snapshot, ignored)' % (
                len(og) - len(casc), len(casc), (' e.g. ' + type_summary(ctx, casc, 4)) if casc else '',
                len(o.get('untracked_by_collect', [])), o.get('gone_at_fork', 0), len(artefacts)))
    # Oracle correction: an object the collection freed only as a side
    # effect (a weakref callback or finalizer removed it from a container
    # that stays alive, e.g. ctypes' DictRemover) was referred to by a live
    # object at snapshot time, so nothing could call it garbage then.
    side = set()
    if casc:
        for src, refs in ctx.oref.items():
            if src not in og and src in ctx.nodes:
                for x in refs:
                    if x in casc:
                        side.add(x)
    fp = tg - (og - side)
    d = ['oracle %d, tool %d, not garbage but reported %d' % (len(og), len(tg), len(fp))]
    if fp:
        d.append('false positives by type: ' + type_summary(ctx, fp))
        d += ['  %s' % ctx.desc(i) for i in sorted(fp)[:MAX_DIAG]]
    tap.ok('garbage' in r and not fp, t('garbage: no false positives (tool garbage within what gc.collect() frees)'),
           d + [note])

    seeds = {g for g in og if g in opaque}
    for i in opaque:
        for x in (collections.Counter(ctx.oref.get(i, [])) - ctx.reported(i)):
            if x in og:
                seeds.add(x)
    explained = reach(seeds, ctx.oref, og)
    missed = og - tg
    unexplained = missed - explained - side
    d = ['missed %d of %d (%d explained: reachable within the garbage from %d garbage objects that are '
         'opaque or referred to by an opaque object; %d freed by the collection only as a side effect, '
         'referred to by a live object: %s); unexplained %d' % (
             len(missed), len(og), len(missed & explained), len(seeds), len(missed & side - explained),
             type_summary(ctx, side, 4) or '-', len(unexplained))]
    if missed:
        d.append('missed by type: ' + type_summary(ctx, missed))
    if unexplained:
        d.append('unexplained by type: ' + type_summary(ctx, unexplained))
        wrong = set()
        for i, missing_refs, _ in mism:
            wrong.update(x for x in missing_refs if x in og)
            if i in og:
                wrong.add(i)
        via = reach(wrong, ctx.oref, og) & unexplained
        d.append('of them %d reachable within the garbage from a decoded object with wrong edges '
                 'or an edge it lacks (see the decoded-edges check)' % len(via))
        d += ['  %s' % ctx.desc(i) for i in sorted(unexplained)[:MAX_DIAG]]
    tap.ok('garbage' in r and not unexplained, t('garbage: every object missed is explained by opacity'),
           d, always=bool(missed))

    desig = {k: nid(v) for k, v in (o.get('designated_garbage') or {}).items()}
    kept, dropped, not_truth = {}, {}, []
    for k, i in desig.items():
        if i not in og:
            not_truth.append(k)
            continue
        closure = reach({i}, ctx.oref, og)
        odd = [x for x in closure if not bool(must.get(ctx.otypes.get(x))) and
               not (x in mods and mods[x] == 'py')]
        if odd:
            dropped[k] = odd
        else:
            kept[k] = closure
    lost = {k: [x for x in c if x not in tg] for k, c in kept.items()}
    lost = {k: v for k, v in lost.items() if v}
    d = ['%d designated by the scenario; %d built from the listed types only (checked); '
         '%d reach other types (not checked: %s); %d not garbage per the oracle%s' % (
             len(desig), len(kept), len(dropped),
             ', '.join(sorted(collections.Counter(ctx.typ(x) for v in dropped.values() for x in v)))[:300] or '-',
             len(not_truth), (' (' + ', '.join(sorted(not_truth)[:6]) + ')') if not_truth else '')]
    d += ['  %s: %d of %d objects not in tool garbage, e.g. %s' % (
        k, len(v), len(kept[k]), ctx.desc(min(v))) for k, v in sorted(lost.items())[:MAX_DIAG]]
    # As for "never opaque": a designated cycle may be missed only through a
    # listed-type object the tool declares a layout gap for (TODO); any
    # other miss fails.
    gaps = ((r.get('snapshot') or {}).get('layout_gaps') or 0)
    gap_only = gaps > 0 and all(any(x in opaque for x in kept[k]) for k in lost)
    tap.ok_or_todo('garbage' in r and not lost and not not_truth and (kept or not desig) and
                   all(k in kept for k in desig if 'del_pair' in k),
                   'garbage' in r and bool(lost) and gap_only and not not_truth and
                   all(k in kept for k in desig if 'del_pair' in k),
                   t('garbage: all designated garbage built from decoded types is found'),
                   'declared layout gap: the missed cycles run through objects whose private '
                   'struct no provider describes on this build', d)

    bad = [fs for fs, flag in garbage_flag.items() if bool(flag) != (fs <= tg) or (flag and not fs <= og)]
    tap.ok(not bad, t('cycles[].garbage true exactly for cycles inside the tool\'s garbage (and the oracle\'s)'),
           ['%d wrong' % len(bad)] + ['  cycle of %d %s: tool says %r; inside tool garbage %r, oracle garbage %r' % (
               len(fs), type_summary(ctx, fs, 3), garbage_flag[fs], fs <= tg, fs <= og) for fs in bad[:MAX_DIAG]])

    ogg = [nid(i) for i in o['gc_garbage']]
    try:
        tgg = [nid(i) for i in r.get('gc_garbage') or []]
    except (ValueError, TypeError):
        tgg = []
    tap.ok(sorted(ogg) == sorted(tgg) and 'gc_garbage' in r, t('gc_garbage = ids in gc.garbage'),
           set_diff_diag(ctx, set(ogg), set(tgg), 'gc.garbage'))

    cov = r.get('coverage') or {}
    tracked, decoded = cov.get('tracked'), cov.get('decoded')
    ratio = (decoded / tracked) if isinstance(tracked, int) and tracked and isinstance(decoded, int) else 0
    # types_extra and garbage build, on purpose, objects of types outside the
    # issue's decoded list (iterators, itertools, ctypes, _struct): there the
    # opaque share is there by construction, so it is reported, not bounded.
    # What the tool claims about those objects is asserted exactly all the
    # same: no invented edge, exact opaque accounting, the listed types never
    # opaque, garbage misses explained.  Everywhere else the share is bounded.
    exotic = ctx.o.get('scenario') in ('types_extra', 'garbage')
    gaps = ((r.get('snapshot') or {}).get('layout_gaps') or 0)
    gap_ratio = ((decoded + gaps) / tracked) if isinstance(tracked, int) and tracked and \
        isinstance(decoded, int) else 0
    tap.ok_or_todo(tracked == len(ctx.nodes) and (exotic or ratio >= 0.99),
           tracked == len(ctx.nodes) and gaps > 0 and gap_ratio >= 0.99,
           t('coverage: %s of %s tracked objects decoded (%.2f%%%s)' % (
               decoded, tracked, 100 * ratio,
               '; scenario of non-listed types: share reported, not bounded' if exotic else '')),
           'declared layout gap: %d objects whose private struct no provider describes on '
           'this build; %.2f%% with them' % (gaps, 100 * gap_ratio),
           ['oracle tracks %d objects; opaque types: %s' % (len(ctx.nodes), json.dumps(cov.get('opaque_types')))])
    ot = cov.get('opaque_types')
    ot = ot if isinstance(ot, dict) else {}
    want_ot = dict(ohist)
    n_op = sum(ohist.values())
    good = ot == want_ot and decoded == len(ctx.nodes) - n_op
    d = ['coverage.decoded %r, tracked - opaque = %d' % (decoded, len(ctx.nodes) - n_op)]
    for k in sorted(set(ot) | set(want_ot)):
        if ot.get(k) != want_ot.get(k):
            d.append('  %s: coverage.opaque_types %r, objects marked opaque %r' % (k, ot.get(k), want_ot.get(k)))
    tap.ok(have_objects and good, t('coverage.opaque_types / decoded = the objects marked opaque, by type'), d)

    costs_check(tap, t, r)

    hist = collections.Counter(ctx.otypes[i] for i in ctx.nodes)
    thist = {}
    for ty in r.get('types') or []:
        thist['%s.%s' % (ty.get('module'), ty.get('qualname'))] = ty.get('count')
    diff = [(k, hist[k], thist.get(k)) for k in hist if thist.get(k) != hist[k]]
    tap.note('%s: type histogram: %d of %d types differ from the tracked-object counts%s' % (
        tag, len(diff), len(hist), (': ' + ', '.join('%s %s vs %s' % x for x in diff[:6])) if diff else ''))


COST_STEPS = ('model', 'cycles', 'local_cycles', 'garbage', 'referrers', 'roots',
              'dominators', 'cycle_retained')


def costs_check(tap, t, r):
    """The report's "costs" (README: JSON report): every step present with
    its time, and the bytes each analysis says it keeps equal to the sizes
    of what the same report shows it computed (the objects, edges, cycles
    and garbage of --objects --all-cycles): objects take 32 bytes in the
    model, the referrer index 8 per object + 4 per edge, the dominators 4 +
    8 per object, a strict cycle 4 + 8 + 1 plus 4 per member."""
    costs = r.get('costs')
    if not isinstance(costs, dict):
        tap.ok(False, t('costs: every step, and the bytes kept = the sizes of its results'),
               ['"costs" is %r' % (costs,)])
        return
    nobj = sum(g.get('objects') or 0 for g in r.get('generations') or []) + \
        (r.get('untracked_referents') or 0)
    nedge = sum(len(ob.get('referents') or []) for ob in r.get('objects') or [])
    cyc = r.get('cycles') or []
    members = sum(len(c.get('members') or []) for c in cyc)
    want = {
        'referrers': 4 * (nobj + 1) + 4 * nedge,  # 32-bit offsets, a source per edge
        'dominators': 12 * (nobj + 1),
        'garbage': 4 * len(r.get('garbage') or []),
        'cycles': (4 * (len(cyc) + 1) + 4 * members + 9 * len(cyc)) if cyc else 4,
    }
    d = []
    for st in COST_STEPS:
        c = costs.get(st)
        if not (isinstance(c, dict) and isinstance(c.get('ms'), (int, float)) and c['ms'] >= 0
                and isinstance(c.get('kept_bytes'), int) and c['kept_bytes'] >= 0):
            d.append('step %s: %r' % (st, c))
    for st, w in want.items():
        got = (costs.get(st) or {}).get('kept_bytes')
        if got != w:
            d.append('%s.kept_bytes %r, its results take %d (%d objects, %d edges, %d cycles of %d members)' % (
                st, got, w, nobj, nedge, len(cyc), members))
    # the model holds at least a 24-byte record and a 4-byte edge offset
    # per object, a 4-byte target and a 2-byte label code per edge
    model = (costs.get('model') or {}).get('kept_bytes') or 0
    if model < 28 * nobj + 6 * nedge:
        d.append('model.kept_bytes %r below 28 B per object + 6 per edge (%d objects, %d edges)' % (
            model, nobj, nedge))
    tap.ok(not d, t('costs: every step, and the bytes kept = the sizes of its results'), d)


def run_scenario(tap, tool, ver, python, scenario, tmpdir, n_checks):
    tag = 'py%s %s' % (ver, scenario)
    tgt = Target(python, scenario, tmpdir)
    try:
        ok, why = tgt.wait_byte(b'R', 120)
        if not ok:
            for _ in range(n_checks):
                tap.ok(False, '%s: target did not get ready' % tag, [why])
            return
        jpath = os.path.join(tmpdir, 'report-%s.json' % scenario)
        rc, out, err, secs = run_tool(tool, ['--json', jpath, '--objects', '--all-cycles', tgt.pid])
        st, tr = proc_state(tgt.pid), tracer_pid(tgt.pid)
        tap.ok(rc == 0, '%s: pyleak-attach exits 0 (%.2fs)' % (tag, secs),
               ['exit %r; stderr:' % (rc,)] + tail(err) if rc != 0 else [])
        tap.ok(st not in ('T', 't') and tr == 0, '%s: target resumed and detached afterwards' % tag,
               ['state %s TracerPid %d' % (st, tr)])
        report = None
        try:
            with open(jpath) as f:
                report = json.load(f)
        except (OSError, ValueError) as e:
            why = 'no JSON report (%s); exit %r; stderr: %s' % (e, rc, ' | '.join(tail(err, 5)))
        # before the oracle, after which the target exits
        spilled_run = spill_run(tool, tgt, tmpdir) if scenario == 'chain' else None
        tgt.send(b'report')
        ok, why2 = tgt.wait_byte(b'D', 300)
        if not ok:
            for _ in range(n_checks - 2):
                tap.ok(False, '%s: oracle' % tag, ['the target did not report: ' + why2])
            return
        if why2:
            tap.note('%s: %s' % (tag, why2))
        with open(tgt.out) as f:
            oracle = json.load(f)
        tap.note('%s: %d tracked objects (gens %s), %d SCCs, %d garbage, oracle %.1fs' % (
            tag, sum(len(v) for v in oracle['gens'].values()),
            {k: len(v) for k, v in oracle['gens'].items()}, len(oracle['sccs']),
            len(oracle['garbage']), oracle['oracle_seconds']))
        if report is None:
            for _ in range(n_checks - 2):
                tap.ok(False, '%s: report' % tag, [why])
            return
        compare(tap, tag, Ctx(oracle, report), tgt.pid)
        if spilled_run:
            spill_check(tap, tag, tmpdir, report, spilled_run)
    finally:
        tgt.stop()


def spill_run(tool, tgt, tmpdir):
    """The same target with a memory budget of 1 MiB, live (a copy would not
    fit in it): the big arrays of its 200,000 objects go to spill files
    (heap/bigmem.c).  (exit code, stderr, seconds, report or None)."""
    jpath = os.path.join(tmpdir, 'report-spilled.json')
    rc, out, err, secs = run_tool(tool, ['--snapshot', 'live', '--max-memory', '1M', '--json', jpath,
                                         '--objects', '--all-cycles', tgt.pid],
                                  env=dict(os.environ, TMPDIR=tmpdir))
    try:
        with open(jpath) as f:
            spilled = json.load(f)
    except (OSError, ValueError) as e:
        spilled = None
        err += '\nno JSON report: %s' % e
    return rc, err, secs, spilled


def spill_check(tap, tag, tmpdir, report, run):
    """spill_run()'s report is the one taken in memory."""
    rc, err, secs, spilled = run
    d = ['exit %r (%.2fs); stderr:' % (rc, secs)] + tail(err, 6)
    same = False
    if spilled:
        big = (spilled.get('costs') or {}).get('big_arrays') or {}
        d.append('costs.big_arrays %r' % (big,))
        keys = ('generations', 'untracked_referents', 'coverage', 'types', 'cycles', 'garbage',
                'gc_garbage', 'objects', 'suspects')
        differ = [k for k in keys if spilled.get(k) != report.get(k)]
        d.append('differ from the report in memory: %s' % (', '.join(differ) or 'nothing'))
        same = (not differ and big.get('budget') == 1 << 20 and big.get('spilled_peak', 0) > 1 << 20
                and 'outgrew the memory budget (1 MiB)' in err and tmpdir in err)
    tap.ok(rc == 0 and same, '%s: with --max-memory 1M the arrays spill to files in TMPDIR and the '
           'report is the same' % tag, d)


N_COMPARE = 26      # TAP lines compare() prints (kept equal on every path)


def cmd_versions(args, tap):
    found = pyenv_pythons()
    if not found:
        tap.ok(False, 'a pyenv CPython 3.8-3.13 is installed',
               ['none under %s/versions; install one with pyenv' % pyenv_root()])
        return
    want = args.python or []
    for ver in want or sorted(found, key=lambda v: tuple(map(int, v.split('.')))):
        if os.path.isabs(ver):
            # an interpreter by path (Debian's /usr/bin/python3.11: a
            # stripped build read through a generated table)
            if not os.access(ver, os.X_OK):
                tap.skip('python %s' % ver, 'not installed')
                continue
            found[ver] = ver
        if ver not in found:
            tap.skip('python %s' % ver, 'not installed under %s/versions' % pyenv_root())
            continue
        tap.note('python %s: %s' % (ver, found[ver]))
        scen = args.scenario or SCENARIOS
        with tempfile.TemporaryDirectory(prefix='pyleak-e2e-') as tmp:
            for s in scen:
                run_scenario(tap, args.tool, ver, found[ver], s, tmp, N_COMPARE + 2)


def cmd_oracle(args, tap):
    found = pyenv_pythons()
    ver = (args.python or ['3.12'])[0]
    with tempfile.TemporaryDirectory(prefix='pyleak-e2e-') as tmp:
        for s in args.scenario or SCENARIOS:
            tgt = Target(found[ver], s, tmp)
            ok, why = tgt.wait_byte(b'R', 120)
            tgt.send(b'report')
            ok2, why2 = tgt.wait_byte(b'D', 300)
            tap.ok(ok and ok2, 'py%s %s: oracle' % (ver, s), [why, why2])
            if ok and ok2:
                with open(tgt.out) as f:
                    o = json.load(f)
                tap.note('gens %s, %d SCCs, %d garbage, %d gc.garbage, counts %s' % (
                    {k: len(v) for k, v in o['gens'].items()}, len(o['sccs']),
                    len(o['garbage']), len(o['gc_garbage']), o['count']))
            tgt.stop()


# ---------------------------------------------------------------------------
# CLI errors

def error_check(tap, desc, res, keywords, max_secs=None):
    rc, out, err, secs = res
    low = err.lower()
    lines = [l for l in err.splitlines() if l.strip()]
    kw_ok = any(k in low for k in keywords)
    good = rc == 2 and 'hint:' in low and kw_ok and out.strip() == '' and len(lines) <= 6
    if max_secs is not None:
        good = good and secs <= max_secs
    d = ['exit %r in %.2fs (want 2%s); stdout %d bytes; stderr:' % (
        rc, secs, ', within %gs' % max_secs if max_secs else '', len(out))] + ['  ' + l for l in lines[:10]]
    if not kw_ok:
        d.append('the message should name the cause (one of %s)' % ', '.join(repr(k) for k in keywords))
    if 'hint:' not in low:
        d.append('the message should say how to fix it ("hint: ...")')
    return tap.ok(good, desc, d)


def cache_checks(tap, tool, tgt, tmp):
    """The DWARF layout cache: the first attach to a build reads its DWARF
    and stores the layout; the next reads that file and answers the same;
    --no-cache neither reads nor stores."""
    cdir = os.path.join(tmp, 'layout-cache')
    env = dict(os.environ, PYLEAK_ATTACH_CACHE_DIR=cdir)
    jp = os.path.join(tmp, 'cache.json')
    runs = []
    for extra in ([], [], ['--no-cache']):
        if extra:
            shutil.rmtree(cdir, ignore_errors=True)
        if os.path.exists(jp):
            os.unlink(jp)
        rc, out, err, secs = run_tool(tool, extra + ['--snapshot', 'copy', '--json', jp, tgt.pid],
                                      env=env)
        try:
            with open(jp) as f:
                j = json.load(f)
        except (OSError, ValueError):
            j = {}
        entries = sorted(os.listdir(cdir)) if os.path.isdir(cdir) else []
        text = ''
        if len(entries) == 1:
            with open(os.path.join(cdir, entries[0])) as f:
                text = f.read()
        runs.append((rc, err, j, entries, text))

    def answer(j):
        return (j.get('generations'), len(j.get('cycles') or []), len(j.get('types') or []))

    (rc1, err1, j1, e1, text1), (rc2, err2, j2, e2, _), (rc3, err3, j3, e3, _) = runs
    tap.ok(rc1 == 0 and 'cached in' not in err1 and len(e1) == 1 and
           re.search(r'^build-id [0-9a-f]+$', text1, re.M) and 'struct RUNTIME ' in text1,
           'layout cache: the first attach reads the DWARF and stores one entry',
           ['exit %r, entries %r, stderr: %s' % (rc1, e1, ' | '.join(tail(err1, 3)))])
    tap.ok(rc2 == 0 and ('cached in %s' % cdir) in err2 and
           (j2.get('python') or {}).get('layout_source') == 'dwarf' and e2 == e1,
           'layout cache: the second attach takes the layout from the cache and says so',
           ['exit %r, layout_source %r, stderr: %s' % (rc2, (j2.get('python') or {}).get('layout_source'),
                                                       ' | '.join(tail(err2, 3)))])
    tap.ok(j1 and answer(j1) == answer(j2),
           'layout cache: both attaches give the same generations, cycles and types',
           ['%r vs %r' % (answer(j1), answer(j2))])
    tap.ok(rc3 == 0 and 'cached in' not in err3 and e3 == [],
           '--no-cache: the DWARF is read again and nothing is stored',
           ['exit %r, entries %r, stderr: %s' % (rc3, e3, ' | '.join(tail(err3, 3)))])
    fms = (j1.get('snapshot') or {}).get('fork_ms')
    tap.ok(fms == 0, 'copy mode forks nothing (snapshot.fork_ms 0)', ['fork_ms %r' % fms])


def cmd_cli(args, tap):
    tool = args.tool
    ver, python = preferred_python()
    if python is None:
        python = sys.executable
    tap.note('target python: %s' % python)

    # --- usage
    for argv, desc in ([[], 'no PID'], [['--bogus', '1'], 'unknown option'],
                       [['notapid'], 'PID not a number'], [['1', 'notapid'], 'a pool with a word for a PID'],
                       [['--json'], 'option missing its argument'],
                       [['--max-memory', 'lots', '1'], 'bad --max-memory']):
        rc, out, err, secs = run_tool(tool, argv, 60)
        tap.ok(rc == 64 and err.strip() != '', 'usage error exits 64: %s' % desc,
               ['argv %r: exit %r, stderr: %s' % (argv, rc, ' | '.join(tail(err, 3)))])
    rc, out, err, _ = run_tool(tool, ['--help'], 60)
    tap.ok(rc == 0 and 'usage' in out.lower(), '--help prints usage on stdout, exits 0',
           ['exit %r, stdout %r' % (rc, out[:200])])
    rc, out, err, _ = run_tool(tool, ['-V'], 60)
    tap.ok(rc == 0 and (not args.version or args.version in out), '-V prints the version %s' % (args.version or ''),
           ['exit %r, stdout %r' % (rc, out[:200])])

    # --- no such process: a reaped child's pid
    p = subprocess.Popen(['true'])
    p.wait()
    error_check(tap, 'no such process -> exit 2 with cause and hint',
                run_tool(tool, [p.pid], 60), ['no such process', 'not exist', 'no process', 'exited', 'esrch', 'not found'])

    # --- not a CPython process
    sl = subprocess.Popen(['sleep', '600'], stdin=subprocess.DEVNULL)
    try:
        error_check(tap, 'not a CPython process (sleep) -> exit 2', run_tool(tool, [sl.pid], 60),
                    ['python', 'interpreter'])
    finally:
        sl.kill()
        sl.wait()

    # --- zombie: exited, not reaped (waitid WNOWAIT blocks until it has exited)
    z = subprocess.Popen(['true'])
    os.waitid(os.P_PID, z.pid, os.WEXITED | os.WNOWAIT)
    error_check(tap, 'zombie -> exit 2', run_tool(tool, [z.pid], 60),
                ['zombie', 'exited', 'defunct', 'no such process', 'not running'])
    z.wait()

    with tempfile.TemporaryDirectory(prefix='pyleak-e2e-') as tmp:
        os.chmod(tmp, 0o755)
        # --- a good run, and the output options
        tgt = Target(python, 'gcstate', tmp)
        try:
            ok, why = tgt.wait_byte(b'R', 120)
            if not ok:
                tap.ok(False, 'cli target ready', [why])
                return
            rc, out, err, secs = run_tool(tool, [tgt.pid])
            tap.ok(rc == 0 and out.strip() != '', 'non-TTY run without options prints a text report (%.2fs)' % secs,
                   ['exit %r, %d bytes on stdout; stderr: %s' % (rc, len(out), ' | '.join(tail(err, 5)))] + tail(out, 5))
            rc, out, err, secs = run_tool(tool, ['--json', '-', '-q', tgt.pid])
            try:
                j = json.loads(out)
                jok = j.get('pid') == tgt.pid
            except ValueError as e:
                jok, j = False, str(e)
            tap.ok(rc == 0 and jok, '--json - writes a JSON report to stdout',
                   ['exit %r; %s' % (rc, str(j)[:200] if not jok else 'ok'), 'stderr: ' + ' | '.join(tail(err, 3))])
            tap.ok(rc != 0 or err.strip() == '', '-q: nothing on stderr',
                   ['stderr: ' + ' | '.join(tail(err, 5))])
            tp = os.path.join(tmp, 'r.txt')
            jp = os.path.join(tmp, 'r.json')
            rc, out, err, secs = run_tool(tool, ['--text', tp, '--json', jp, tgt.pid])
            sizes = [os.path.getsize(x) if os.path.exists(x) else -1 for x in (tp, jp)]
            tap.ok(rc == 0 and min(sizes) > 0, '--text FILE and --json FILE together',
                   ['exit %r, sizes %r, stderr: %s' % (rc, sizes, ' | '.join(tail(err, 3)))])
            # --- the README's form: options after the PID
            jp2 = os.path.join(tmp, 'r2.json')
            rc, out, err, secs = run_tool(tool, [tgt.pid, '--json', jp2])
            try:
                with open(jp2) as f:
                    jok = json.load(f).get('pid') == tgt.pid
            except (OSError, ValueError):
                jok = False
            tap.ok(rc == 0 and jok, 'options after the PID (pyleak-attach PID --json FILE)',
                   ['exit %r, JSON with the pid %r, stderr: %s' % (rc, jok, ' | '.join(tail(err, 3)))])

            # --- memory budget: copy mode refuses, auto forks instead
            # 1M: the smallest budget accepted (smaller ones are refused
            # as usage errors, test_usage.py), less than any CPython holds
            rc, out, err, secs = run_tool(tool, ['--snapshot', 'copy', '--max-memory', '1M', '--json', jp, tgt.pid])
            st = proc_state(tgt.pid)
            low = err.lower()
            tap.ok(rc == 2 and 'hint:' in low and 'budget' in low and st not in ('T', 't') and tracer_pid(tgt.pid) == 0,
                   '--snapshot copy --max-memory 1M refuses (exit 2), names the budget, target resumed',
                   ['exit %r, state %s, stderr: %s' % (rc, st, ' | '.join(tail(err, 4)))])
            tap.ok(rc == 2 and re.search(r'\b1024 kib\b', low) is not None,
                   'the refusal states the budget it was given (1M = 1024 KiB)',
                   ['stderr: ' + ' | '.join(tail(err, 4))])
            if os.path.exists(jp):
                os.unlink(jp)
            rc, out, err, secs = run_tool(tool, ['--snapshot', 'auto', '--max-memory', '1M', '--json', jp, tgt.pid])
            try:
                with open(jp) as f:
                    snap = json.load(f).get('snapshot') or {}
            except (OSError, ValueError):
                snap = {}
            mode = snap.get('mode')
            st = proc_state(tgt.pid)
            if 'not kill-safe here' in err:
                # auto never forks with a fork helper that is not kill-safe
                # here (README, "Kill safety of fork mode"): it says why
                tap.ok(rc == 2 and 'budget' in err.lower() and '--snapshot fork forks anyway' in err and
                       st not in ('T', 't'),
                       '--snapshot auto --max-memory 1M, fork helper not kill-safe here: refused, saying why',
                       ['exit %r, state %s, stderr: %s' % (rc, st, ' | '.join(tail(err, 4)))])
                rc, out, err, secs = run_tool(tool, ['--snapshot', 'fork', '--json', jp, tgt.pid])
                try:
                    with open(jp) as f:
                        snap = json.load(f).get('snapshot') or {}
                except (OSError, ValueError):
                    snap = {}
                tap.ok(rc == 0 and snap.get('mode') == 'fork' and 'not kill-safe here' in err,
                       '--snapshot fork forks anyway and warns', ['exit %r, stderr: %s' % (rc, ' | '.join(tail(err, 4)))])
            else:
                tap.ok(rc == 0 and mode == 'fork' and 'fork' in err.lower() and st not in ('T', 't'),
                       '--snapshot auto --max-memory 1M succeeds by forking and says so on stderr',
                       ['exit %r, snapshot.mode %r, state %s, stderr: %s' % (rc, mode, st, ' | '.join(tail(err, 4)))])
            fork_ms, pause_ms = snap.get('fork_ms'), snap.get('pause_ms')
            tap.ok(isinstance(fork_ms, (int, float)) and isinstance(pause_ms, (int, float)) and
                   0 < fork_ms <= pause_ms,
                   'fork mode reports the fork system call inside the pause (snapshot.fork_ms)',
                   ['fork_ms %r, pause_ms %r' % (fork_ms, pause_ms)])

            cache_checks(tap, tool, tgt, tmp)

            # --- target already stopped: quick error, left stopped
            os.kill(tgt.pid, signal.SIGSTOP)
            wait_until(lambda: proc_state(tgt.pid) == 'T', 5)
            res = run_tool(tool, [tgt.pid], 60)
            st = proc_state(tgt.pid)
            error_check(tap, 'SIGSTOPped target -> exit 2 quickly', res, ['stopped', 'sigstop', 'sigcont'], 5.0)
            tap.ok(st == 'T' and tracer_pid(tgt.pid) == 0, 'SIGSTOPped target is still stopped and untraced afterwards',
                   ['state %s, TracerPid %d' % (st, tracer_pid(tgt.pid))])
            os.kill(tgt.pid, signal.SIGCONT)
            wait_until(lambda: proc_state(tgt.pid) != 'T', 5)

            # --- traced by another tracer
            tracer = None
            if shutil.which('strace'):
                tracer = subprocess.Popen(['strace', '-qq', '-o', os.devnull, '-p', str(tgt.pid)],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
            else:
                tracer = subprocess.Popen([sys.executable, '-c', PTRACE_HELPER, str(tgt.pid)],
                                          stdin=subprocess.PIPE)
            if wait_until(lambda: tracer_pid(tgt.pid) == tracer.pid, 10):
                error_check(tap, 'target traced by another tracer -> exit 2', run_tool(tool, [tgt.pid], 60),
                            ['trace', 'debugger', 'ptrace'], 10.0)
                tap.ok(tracer_pid(tgt.pid) == tracer.pid, 'the other tracer still owns the target',
                       ['TracerPid %d, tracer %d' % (tracer_pid(tgt.pid), tracer.pid)])
            else:
                tap.ok(False, 'target traced by another tracer -> exit 2', ['could not attach a tracer'])
                tap.ok(False, 'the other tracer still owns the target', ['could not attach a tracer'])
            tracer.terminate()
            tracer.wait()
            wait_until(lambda: tracer_pid(tgt.pid) == 0, 5)

            # --- EPERM: unprivileged user against a root-owned target
            if os.geteuid() != 0:
                tap.skip('EPERM as an unprivileged user', 'needs root to switch users')
            elif not shutil.which('setpriv'):
                tap.skip('EPERM as an unprivileged user', 'setpriv not installed (util-linux)')
            else:
                res = run_tool(tool, [tgt.pid], 60,
                               user=['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'])
                error_check(tap, 'EPERM (uid 65534 against a root process) -> exit 2', res,
                            ['permi', 'not allowed', 'cap_sys_ptrace', 'ptrace_scope', 'eperm', 'denied'])

            # --- still a healthy target after all that
            tgt.send(b'report')
            ok, why = tgt.wait_byte(b'D', 120)
            tap.ok(ok, 'target still works after the error cases', [why])
        finally:
            tgt.stop()


PTRACE_HELPER = r'''
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0:   # PTRACE_SEIZE
    sys.exit(1)
sys.stdin.read()
'''


# ---------------------------------------------------------------------------
# Robustness

def cmd_robust(args, tap):
    ver, python = preferred_python()
    if python is None:
        tap.ok(False, 'a pyenv CPython 3.8-3.13 is installed', ['none under %s/versions' % pyenv_root()])
        return
    runs, kills = args.runs, args.kills
    tap.note('target python %s: %s' % (ver, python))
    with tempfile.TemporaryDirectory(prefix='pyleak-e2e-') as tmp:
        tgt = Target(python, 'robust', tmp)
        try:
            ok, why = tgt.wait_byte(b'R', 120)
            if not ok:
                tap.ok(False, 'robust target ready', [why])
                return
            bad = []
            durations = []
            for i in range(runs):
                rc, out, err, secs = run_tool(tool_path(args), ['--json', os.devnull, '-q', tgt.pid], 120)
                durations.append(secs)
                st, tr = proc_state(tgt.pid), tracer_pid(tgt.pid)
                if rc != 0 or st in ('T', 't', 'Z', 'X', '?') or tr != 0:
                    bad.append('run %d: exit %r, state %s, TracerPid %d, stderr: %s' % (
                        i, rc, st, tr, ' | '.join(tail(err, 3))))
                    if st in ('T', 't') and tr == 0:
                        os.kill(tgt.pid, signal.SIGCONT)
                    if st in ('Z', 'X', '?'):
                        break
            durations.sort()
            med = durations[len(durations) // 2] if durations else 0
            tap.ok(not bad, '%d consecutive runs all exit 0 and leave the target running, untraced' % runs,
                   ['%d bad; run time median %.3fs, max %.3fs' % (len(bad), med, durations[-1] if durations else 0)] + bad[:MAX_DIAG],
                   always=True)

            bad = []
            rng = random.Random(1234)
            for i in range(kills):
                delay = rng.uniform(0, max(med, 0.05))
                kcmd = [tool_path(args), '--json', os.devnull, '-q', str(tgt.pid)]
                # stderr to a file, not a pipe nobody reads: a report
                # written before the kill is kept
                with tempfile.TemporaryFile() as errf:
                    p = subprocess.Popen(kcmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=errf)
                    time.sleep(delay)       # a random point inside the run, not a readiness wait
                    p.kill()
                    p.wait()
                    errf.seek(0)
                    check_sanitizer(kcmd, p.returncode, errf.read().decode('utf-8', 'replace'))
                settled = wait_until(lambda: tracer_pid(tgt.pid) == 0 and proc_state(tgt.pid) not in ('T', 't'), 3)
                if not settled:
                    bad.append('kill %d after %.1f ms: state %s, TracerPid %d' % (
                        i, delay * 1000, proc_state(tgt.pid), tracer_pid(tgt.pid)))
                    if tracer_pid(tgt.pid) == 0:
                        os.kill(tgt.pid, signal.SIGCONT)
            tap.ok(not bad, 'after %d SIGKILLs of pyleak-attach mid-run the target is running, not stopped, TracerPid 0' % kills,
                   ['kill delays drawn from 0-%.0f ms (the median run)' % (max(med, 0.05) * 1000)] + bad[:MAX_DIAG],
                   always=True)

            tgt.send(b'report')
            ok, why = tgt.wait_byte(b'D', 60)
            if not ok:
                tap.ok(False, 'robust target reports', [why])
                return
            with open(tgt.out) as f:
                s = json.load(f)
            tap.ok(not s['errors'], 'no exception or EINTR surfaced in any target thread', s['errors'][:MAX_DIAG])
            tap.ok(s['pipe_ok'] and s['main_cmd'] == 'report', 'blocked pipe reads got exactly the bytes written',
                   ['pipe thread got %r bytes ok=%r; main thread read %r' % (s['pipe_data'], s['pipe_ok'], s['main_cmd'])])
            tap.ok(s['cond_woke'], 'Condition.wait() woke up after notify (no lost wakeup)',
                   ['woke %r after %r s' % (s['cond_woke'], s['cond_wait_s'])])
            tap.ok(s['heartbeat_alive'] and s['beats'] > 0 and not any(s['threads_alive'][1:]),
                   'heartbeat thread still ticking; helper threads finished',
                   ['beats %d, alive %r, threads alive %r' % (s['beats'], s['heartbeat_alive'], s['threads_alive'])])
            tap.ok(s['max_gap'] < 10.0, 'longest heartbeat gap %.1f ms' % (s['max_gap'] * 1000),
                   ['gap between 2 ms ticks, across %d runs + %d kills' % (runs, kills)])
        finally:
            tgt.stop()
        robust_busy(args, tap, python, tmp)
        robust_dump_signals(args, tap, python, tmp)
        robust_corrupt(args, tap, python, tmp)


BUSY_RUNS = 20


def corrupt_target(tap, python, tmp, kind):
    """A target that corrupted itself (target.py corrupt), ready, with
    what it did; None when it did not come up."""
    tgt = Target(python, 'corrupt_' + kind, tmp)
    ok, why = tgt.wait_byte(b'R', 120)
    if not tap.ok(ok, 'corrupt target (%s) ready' % kind, [why]):
        tgt.stop()
        return None, None
    with open(tgt.out) as f:
        return tgt, json.load(f)


def robust_corrupt(args, tap, python, tmp):
    """Memory a C extension overwrote (issue #11): each corruption is found
    and said with its object, list and check, never passed over (exit 0)
    nor blamed on a race ("caught changing it", "retrying")."""
    tool = tool_path(args)

    # copy mode: a bad _gc_prev is the same in every snapshot: exit 2,
    # naming the list, node, object, check, and saying it is corrupt
    tgt, info = corrupt_target(tap, python, tmp, 'prev')
    if tgt:
        try:
            rc, out, err, _ = run_tool(tool, ['--snapshot', 'copy', '--json', os.devnull, tgt.pid], 120)
            want = ['GC list of generation 2 is broken', 'node 0x%x (object 0x%x (builtins.list))'
                    % (info['node'], info['obj']), '[check gc_prev]',
                    'the same check failed on the same node in two snapshots',
                    "the target's memory is corrupt"]
            missing = [w for w in want if w not in err]
            blamed = [w for w in ('caught changing', 'retrying') if w in err]
            tap.ok(rc == 2 and not missing and not blamed,
                   'copy mode, a corrupted _gc_prev: exit 2 naming list, node, object and check, '
                   'called a corruption, not a race',
                   ['exit %r; missing %r; race words %r' % (rc, missing, blamed)] + tail(err, 8))
        finally:
            tgt.stop()

    # copy mode: str length and dict ma_used: exit 1, both named on stderr
    # and in the JSON report
    tgt, info = corrupt_target(tap, python, tmp, 'strdict')
    if tgt:
        try:
            jpath = os.path.join(tmp, 'corrupt-strdict.json')
            rc, out, err, _ = run_tool(tool, ['--snapshot', 'copy', '--json', jpath, tgt.pid], 120)
            want = ['str 0x%x (builtins.str): length 16 runs past' % info['str'],
                    '[check str_length]',
                    'dict 0x%x (builtins.dict): ma_used is 1000000' % info['dict'],
                    '[check dict_used]']
            missing = [w for w in want if w not in err]
            probs = []
            try:
                with open(jpath) as f:
                    probs = json.load(f).get('problems', [])
            except (OSError, ValueError) as e:
                probs = [repr(e)]
            named = {(p.get('check'), p.get('object'), p.get('type')) for p in probs
                     if isinstance(p, dict)}
            jwant = {('str_length', info['str'], 'builtins.str'),
                     ('dict_used', info['dict'], 'builtins.dict')}
            tap.ok(rc == 1 and not missing and jwant <= named,
                   'copy mode, a str length and a dict ma_used overwritten: exit 1, both named '
                   'on stderr and in the JSON "problems"',
                   ['exit %r; missing on stderr %r; JSON problems %r' % (rc, missing, probs[:4])]
                   + tail(err, 8))
        finally:
            tgt.stop()

    # live mode: one bad _gc_next in generation 2 loses nothing (the list
    # is read from its other end) and is named; with a second bad link
    # further on, the run is refused, naming the list, node and check
    tgt, info = corrupt_target(tap, python, tmp, 'list')
    if tgt:
        try:
            jpath = os.path.join(tmp, 'corrupt-list.json')
            rc, out, err, _ = run_tool(tool, ['--snapshot', 'live', '--json', jpath, tgt.pid], 120)
            total = None
            try:
                with open(jpath) as f:
                    rep = json.load(f)
                total = sum(g['objects'] for g in rep['generations'] if g['name'] != 'permanent')
            except (OSError, ValueError, KeyError) as e:
                rep = {'error': repr(e)}
            want = ['GC list of generation 2 is broken', 'node 0x%x' % info['node'],
                    '[check gc_next]', 'nothing is missing']
            missing = [w for w in want if w not in err]
            # the target makes a few objects after counting (its report)
            tap.ok(rc == 1 and not missing and total is not None and
                   info['tracked'] <= total <= info['tracked'] + 100,
                   'live mode, a broken generation-2 list: every object kept (%r, %d before '
                   'the report), exit 1 naming list, node and check' % (total, info['tracked']),
                   ['exit %r; missing %r' % (rc, missing)] + tail(err, 8))
            tgt.send(b'more')
            ok, why = tgt.wait_byte(b'K', 60)
            if tap.ok(ok, 'corrupt target broke its list a second time', [why]):
                rc, out, err, _ = run_tool(tool, ['--snapshot', 'live', '--json', os.devnull, tgt.pid], 120)
                want = ['GC list of generation 2 is broken', 'node 0x%x' % info['node'],
                        '[check gc_next]', 'not changing']
                missing = [w for w in want if w not in err]
                tap.ok(rc == 2 and not missing,
                       'live mode, a list broken twice: refused (exit 2), naming list, node and '
                       'check, called corrupt rather than busy',
                       ['exit %r; missing %r' % (rc, missing)] + tail(err, 8))
        finally:
            tgt.stop()


def robust_busy(args, tap, python, tmp):
    """The layout checks and the walk read a target whose young GC list
    changes every few microseconds: a torn read must never pass for a
    wrong layout (it did, in about half the runs, before the checks retried
    each link), nor a thread stopped mid-update for a broken list (a new
    snapshot is taken)."""
    tgt = Target(python, 'busy', tmp)
    try:
        ok, why = tgt.wait_byte(b'R', 120)
        if not tap.ok(ok, 'busy target ready', [why]):
            return
        bad = []
        for i in range(BUSY_RUNS):
            mode = ('copy', 'fork', 'live')[i % 3]
            rc, out, err, secs = run_tool(tool_path(args), ['--snapshot', mode, '--json', os.devnull,
                                                            '-q', tgt.pid], 120)
            # exit 1 is a counted inconsistency (live mode reads what
            # moves; a stopped thread may be mid-update); a refusal or a
            # failure (exit 2) is the bug
            if rc not in (0, 1):
                bad.append('run %d (%s): exit %r: %s' % (i, mode, rc, ' | '.join(tail(err, 3))))
        tap.ok(not bad, '%d runs (copy, fork, live) on a target allocating all the time: none '
               'refused or failed' % BUSY_RUNS, bad[:MAX_DIAG], always=True)
        tgt.send(b'report')
        ok, why = tgt.wait_byte(b'D', 60)
        s = None
        if ok:
            with open(tgt.out) as f:
                s = json.load(f)
        tap.ok(ok and s and s['made'] > 0 and not s['churn_alive'] and s['cmd'] == 'report',
               'the busy target kept allocating throughout and ended cleanly',
               [why, repr(s)])
    finally:
        tgt.stop()


def dump_leftovers(path):
    d = os.path.dirname(path)
    base = os.path.basename(path)
    return sorted(f for f in os.listdir(d)
                  if f.startswith(base + '.tmp-') or f.startswith(base + '-journal')
                  or f.startswith(base + '-wal'))


def file_digest(path):
    import hashlib
    try:
        with open(path, 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def default_signals():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def robust_dump_signals(args, tap, python, tmp):
    """SIGINT, SIGTERM and SIGHUP while `--dump X` writes X.tmp-XXXXXX: the
    tool dies of the signal (re-raised after cleanup), no temporary file is
    left, X is not created (or, with --force over an older dump, is that
    dump unchanged), and the target runs on, untraced."""
    tool = tool_path(args)
    tgt = Target(python, 'bigdump', tmp)
    try:
        ok, why = tgt.wait_byte(b'R', 300)
        if not tap.ok(ok, 'big dump target ready', [why]):
            return
        old = os.path.join(tmp, 'old.db')
        rc, out, err, secs = run_tool(tool, ['--dump', old, '-q', tgt.pid], 300)
        if not tap.ok(rc == 0 and os.path.exists(old),
                      'a first dump of the big target (%.1f s)' % secs,
                      ['exit %r: %s' % (rc, ' | '.join(tail(err, 3)))], always=True):
            return
        for signame, force in (('SIGINT', False), ('SIGTERM', False), ('SIGHUP', False),
                               ('SIGTERM', True)):
            sig = getattr(signal, signame)
            dump = old if force else os.path.join(tmp, 'sig-%s.db' % signame)
            before = file_digest(dump)
            errf = os.path.join(tmp, 'tool-%s.err' % signame)
            argv = [tool, '--dump', dump, '-q'] + (['--force'] if force else []) + [str(tgt.pid)]
            with open(errf, 'w') as ef:
                # default dispositions whatever the suite inherited: under
                # nohup (or a shell's background job: SIGINT) the tool would
                # start with the signal ignored, and rightly keep it so
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=ef, preexec_fn=default_signals)
            # the temporary file appears when the write starts (the
            # snapshot, walk and analysis come first)
            seen = wait_until(lambda: dump_leftovers(dump) or p.poll() is not None, 300, 0.002)
            early = p.poll()
            tmpname = dump_leftovers(dump)
            if seen and early is None:
                p.send_signal(sig)
            try:
                rc = p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = 'hung'
            with open(errf, errors='replace') as f:
                err = f.read()
            left = dump_leftovers(dump)
            after = file_digest(dump)
            st, tr = proc_state(tgt.pid), tracer_pid(tgt.pid)
            what = '--force over an older dump' if force else 'a new file'
            tap.ok(early is None and bool(tmpname), '%s: the temporary dump file appeared while'
                   ' the tool ran (%s)' % (signame, what),
                   ['tool exited %r before any %s.tmp-*: %s' % (early, os.path.basename(dump),
                                                                 ' | '.join(tail(err, 3)))])
            tap.ok(rc == -sig, '%s during the write: the tool dies of the signal' % signame,
                   ['exit %r (want %d), stderr: %s' % (rc, -sig, ' | '.join(tail(err, 3)))])
            tap.ok(not left, '%s: no %s.tmp-* or journal left' % (signame, os.path.basename(dump)),
                   ['left: %r (it was %r)' % (left, tmpname)])
            tap.ok(after == before, '%s: %s' % (signame, 'the older dump is unchanged' if force
                                                else 'no dump file created'),
                   ['before %r, after %r' % (before, after)])
            tap.ok(st not in ('T', 't', 'Z', 'X', '?') and tr == 0,
                   '%s: the target still runs, untraced' % signame,
                   ['state %s, TracerPid %d' % (st, tr)])
        # Under nohup (SIGHUP ignored when the tool starts) a SIGHUP during
        # the write must change nothing: the tool finishes its dump.
        dump = os.path.join(tmp, 'sig-nohup.db')
        p = subprocess.Popen([tool, '--dump', dump, '-q', str(tgt.pid)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
        seen = wait_until(lambda: dump_leftovers(dump) or p.poll() is not None, 300, 0.002)
        early = p.poll()
        if seen and early is None:
            p.send_signal(signal.SIGHUP)
        try:
            _, err = p.communicate(timeout=300)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            rc, err = 'hung', b''
        tap.ok(early is None and rc == 0 and os.path.exists(dump) and not dump_leftovers(dump),
               'SIGHUP ignored (nohup): the dump is written whole, exit 0',
               ['early exit %r, exit %r, dump %s, left %r: %s' % (
                   early, rc, os.path.exists(dump), dump_leftovers(dump),
                   ' | '.join(tail(err.decode(errors='replace'), 3)))])
        # The handler hands the signal on to the snapshot guard: SIGTERM
        # while the target is stopped must still resume it.  Sent when the
        # target is seen traced (the stop), else when the dump starts.
        dump = os.path.join(tmp, 'sig-stop.db')
        p = subprocess.Popen([tool, '--dump', dump, '-q', str(tgt.pid)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=default_signals)
        wait_until(lambda: tracer_pid(tgt.pid) == p.pid or dump_leftovers(dump)
                   or p.poll() is not None, 300, 0.0005)
        stopped = tracer_pid(tgt.pid) == p.pid
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = 'hung'
        settled = wait_until(lambda: tracer_pid(tgt.pid) == 0 and
                             proc_state(tgt.pid) not in ('T', 't'), 5)
        tap.ok(rc == -signal.SIGTERM and settled and not dump_leftovers(dump)
               and not os.path.exists(dump),
               'SIGTERM %s: the tool dies of it, the target runs untraced, no file left' % (
                   'while the target was stopped' if stopped else 'during the dump'),
               ['exit %r, state %s, TracerPid %d, left %r' % (
                   rc, proc_state(tgt.pid), tracer_pid(tgt.pid), dump_leftovers(dump))],
               always=True)
        rc, out, err, secs = run_tool(tool, [old, '--json', os.devnull, '-q'], 300)
        tap.ok(rc == 0, 'the older dump still reads after the interrupted --force',
               ['exit %r: %s' % (rc, ' | '.join(tail(err, 3)))])
        tgt.send(b'report')
        ok, why = tgt.wait_byte(b'D', 60)
        tap.ok(ok, 'the big target answers after the interrupted dumps', [why])
    finally:
        tgt.stop()


def tool_path(args):
    return args.tool


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tool', required=True, help='path to pyleak-attach')
    ap.add_argument('--version', help='expected -V output (project version)')
    ap.add_argument('mode', choices=['versions', 'cli', 'robust', 'oracle'])
    ap.add_argument('--python', action='append', help='3.X (repeatable); default: every installed one')
    ap.add_argument('--scenario', action='append', choices=SCENARIOS)
    ap.add_argument('--runs', type=int, default=200)
    ap.add_argument('--kills', type=int, default=20)
    args = ap.parse_args()
    tap = Tap()
    if args.mode != 'oracle' and not os.access(args.tool, os.X_OK):
        tap.ok(False, 'pyleak-attach is built', ['not executable: %s' % args.tool])
        return tap.done()
    {'versions': cmd_versions, 'cli': cmd_cli, 'robust': cmd_robust, 'oracle': cmd_oracle}[args.mode](args, tap)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
