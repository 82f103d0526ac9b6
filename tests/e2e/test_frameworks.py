#!/usr/bin/env python3
"""Leak suspects and --baseline growth name a framework service's leak
owner by its path (TAP).

    test_frameworks.py --tool PATH SCENARIO [--python /usr/bin/python3]

The framework counterpart of test_suspects.py (stdlib only) and
test_growth.py: SCENARIO is one of frameworks_target.py's services, built
on Debian's python3-flask, python3-sqlalchemy, python3-aiohttp and
python3-django for the host's /usr/bin/python3 (bookworm's stripped 3.11,
read through the generated layout table).  The target leaks N units
through the framework and reports the owner's path, its id() and its own
measure of the leak.  Then:

  suspects  `PID --json -`: the owner is among the first three suspects,
            by its whole path and by its short name, with the
            interpreter's id; its retained bytes and objects lie between
            what the target created for the leak alone and everything
            gc.get_referents() reaches from the owner short of modules and
            types.
  growth    a dump, then the target leaks K more units, then
            `PID --baseline OLD.db --json -`: the owner is among the first
            three growing owners by path, found in the baseline, grown by
            at least the objects and bytes the target created since.

A framework that is not installed fails (scripts/setup installs it),
unless the configured apt archive does not have it: then the whole test
is skipped ("1..0 # SKIP").  If none of the four frameworks imports, it
fails.  Readiness and each step go through pipes; nothing sleeps.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run_e2e import Tap, run_tool, tail  # noqa: E402

TARGET = os.path.join(HERE, 'frameworks_target.py')
GROW = 150

# scenario: (Debian package, module, whole path, short owner name)
SCENARIOS = {
    'flask_cache': ('python3-flask', 'flask', '__main__._page_cache', '__main__._page_cache'),
    'sqla_listeners': ('python3-sqlalchemy', 'sqlalchemy',
                       '__main__.engine.dispatch.before_cursor_execute.listeners',
                       '_ListenerCollection.listeners'),
    'aiohttp_tasks': ('python3-aiohttp', 'aiohttp', "__main__.app._state['failed']",
                      "Application._state['failed']"),
    'django_lru': ('python3-django', 'django', '__main__.Catalog.render',
                   '__main__.Catalog.render'),
    'flask_threads': ('python3-flask', 'flask', 'threading._active', 'threading._active'),
    'django_garbage': ('python3-django', 'django', 'gc.garbage', 'gc.garbage'),
}
FRAMEWORKS = {'flask': 'python3-flask', 'sqlalchemy': 'python3-sqlalchemy',
              'aiohttp': 'python3-aiohttp', 'django': 'python3-django'}


def imports(py, mod):
    return subprocess.run([py, '-c', 'import ' + mod], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def apt_candidate(pkg):
    """The version the configured archive offers, or None."""
    try:
        out = subprocess.run(['apt-cache', 'policy', pkg], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.strip().startswith('Candidate:'):
            v = line.split(':', 1)[1].strip()
            return None if v == '(none)' else v
    return None


class Target:
    def __init__(self, py, scenario):
        r, w = os.pipe()
        self.p = subprocess.Popen([py, TARGET, scenario, str(w)], pass_fds=(w,),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        os.close(w)
        with os.fdopen(r) as f:
            line = f.readline()
        self.info = json.loads(line) if line else None

    def grow(self, k):
        self.p.stdin.write('grow %d\n' % k)
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        return json.loads(line) if line else None

    def close(self):
        err = ''
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        if self.p.stderr:
            err = self.p.stderr.read()
        return err


def measured(tap, tag, what, s, want):
    """The tool's retained bytes and objects of the owner against the
    interpreter's floor and ceiling."""
    tap.ok(s['id'] == want['id'], '%s: %s is the object the interpreter calls %s'
           % (tag, what, want['owner']), ['tool id %r, interpreter id %r' % (s['id'], want['id'])])
    tap.ok(want['exclusive'] <= s['retained'] <= want['reachable'],
           '%s: %s retains at least the %d bytes the target created for the leak and at most '
           'the %d gc.get_referents() reaches' % (tag, what, want['exclusive'], want['reachable']),
           [json.dumps(s, ensure_ascii=False)])
    tap.ok(want['min_objects'] <= s['objects'] <= want['reachable_objects'],
           '%s: %s holds between %d and %d objects' % (tag, what, want['min_objects'],
                                                       want['reachable_objects']),
           [json.dumps(s, ensure_ascii=False)])


def check(tap, tool, py, scenario, tmp):
    pkg, mod, path, short = SCENARIOS[scenario]
    tag = scenario
    t = Target(py, scenario)
    try:
        want = t.info
        if not want or 'missing' in want:
            tap.ok(False, '%s: the target built its leak' % tag, tail(t.close()))
            return
        tap.ok(want['owner'] == path and want['units'] > 0,
               '%s: the target leaked %d units into %s' % (tag, want.get('units', 0), path),
               [json.dumps(want)])

        rc, out, err, _ = run_tool(tool, [t.p.pid, '--json', '-', '-q'])
        tap.ok(rc in (0, 1), '%s: PID --json -' % tag, ['exit %r' % rc] + tail(err))
        sus = json.loads(out).get('suspects', []) if rc in (0, 1) else []
        top = [(s['path'], s['owner']) for s in sus[:3]]
        hit = [s for s in sus[:3] if s['path'] == path]
        tap.ok(bool(hit), '%s: the first three suspects name %s by path' % (tag, path),
               ['top 3 (path, owner): %r' % top])
        tap.ok(bool(hit) and hit[0]['owner'] == short,
               '%s: and call it %s' % (tag, short), ['top 3 (path, owner): %r' % top])
        if hit:
            measured(tap, tag, 'the suspect', hit[0], want)
            tap.ok(hit[0]['accumulates'] and hit[0]['growth'] is None,
                   '%s: it says what accumulates (no growth without a baseline)' % tag,
                   [json.dumps(hit[0], ensure_ascii=False)])
        else:
            for _ in range(4):
                tap.skip('%s: sizes of the suspect' % tag, 'the owner is not among the top 3')

        old = os.path.join(tmp, scenario + '-old.db')
        rc, out, err, _ = run_tool(tool, [t.p.pid, '--dump', old, '--force', '-q'])
        tap.ok(rc == 0, '%s: baseline dump written' % tag, ['exit %r' % rc] + tail(err))
        now = t.grow(GROW)
        tap.ok(bool(now) and now['units'] == want['units'] + GROW,
               '%s: the target leaked %d more units' % (tag, GROW),
               [json.dumps(now), tail(t.close()) if not now else ''])
        if not now:
            return
        rc, out, err, _ = run_tool(tool, [t.p.pid, '--baseline', old, '--json', '-', '-q'])
        tap.ok(rc in (0, 1), '%s: PID --baseline OLD.db --json -' % tag,
               ['exit %r' % rc] + tail(err))
        rep = json.loads(out) if rc in (0, 1) else {}
        own = rep.get('growth', {}).get('owners', [])
        top = [o['path'] for o in own[:3]]
        g = [o for o in own[:3] if o['path'] == path]
        tap.ok(bool(g), '%s: the first three growing owners name %s by path' % (tag, path),
               ['top 3: %r' % top])
        # Deltas of the owner between the two snapshots, not new_objects:
        # an object at an address a freed baseline object of its type had
        # counts as old (README), which would make an exact floor flaky.
        added = now['min_objects'] - want['min_objects']
        added_bytes = now['exclusive'] - want['exclusive']
        gg = g[0]['growth'] if g else {}
        tap.ok(bool(g) and gg['in_baseline'] and gg['objects'] >= added and
               gg['retained'] >= added_bytes and 0 < gg['new_objects'] <= g[0]['objects'],
               '%s: it was in the baseline and gained at least the %d objects and %d bytes the '
               'target created since, some of them new' % (tag, added, added_bytes),
               [json.dumps(g[0] if g else own[:3], ensure_ascii=False)], always=True)
        sus = [s for s in rep.get('suspects', [])[:3] if s['path'] == path]
        if sus:
            measured(tap, tag + ' after growth', 'the suspect', sus[0], now)
        else:
            tap.ok(False, '%s after growth: the first three suspects name %s' % (tag, path),
                   ['top 3: %r' % [s['path'] for s in rep.get('suspects', [])[:3]]])
            for _ in range(2):
                tap.skip('%s after growth: sizes' % tag, 'the owner is not among the top 3')
    finally:
        t.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tool', required=True)
    ap.add_argument('--python', default='/usr/bin/python3')
    ap.add_argument('scenario', choices=sorted(SCENARIOS))
    a = ap.parse_args()
    pkg, mod = SCENARIOS[a.scenario][:2]
    if not imports(a.python, mod):
        present = [p for m, p in FRAMEWORKS.items() if imports(a.python, m)]
        if present and not apt_candidate(pkg):
            print('1..0 # SKIP %s is not in the configured apt archive (apt-cache policy %s)'
                  % (pkg, pkg))
            return 0
        print('not ok 1 - %s imports %s' % (a.python, mod))
        print('#   %s; install it: scripts/setup --deps-only (as root)' % (
            'none of %s is installed' % ', '.join(sorted(FRAMEWORKS.values())) if not present
            else '%s is in the apt archive but not installed' % pkg))
        print('1..1')
        return 1
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix='pyleak-fw-') as tmp:
        check(tap, a.tool, a.python, a.scenario, tmp)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
