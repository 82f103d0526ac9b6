#!/usr/bin/env python3
"""Core files give the same answers as the live process (TAP).

    test_core.py --tool PATH [--core-report PATH] [--python 3.12 ...]

For each CPython (default pyenv 3.12 and 3.13) a scenario target is started
and, while it is blocked (gc disabled, nothing runs), analysed live
(`pyleak-attach --json F --objects PID`) and dumped with gdb's gcore, back to
back.  The core is analysed with `pyleak-attach --core FILE --json F
--objects` when the CLI has --core, else with the core-report driver (the
same library calls).  Objects (id, type, generation, refcount, size,
labelled referents), cycles (members and garbage flag), garbage and
gc.garbage must be identical to the live run's; then the core report is
also compared with the target's own view (oracle).
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

import envtest
from envtest import targets, run_e2e


def has_core_option(tool):
    rc, out, err, _ = run_e2e.run_tool(tool, ['--help'], 60)
    return '--core' in out


def objects_by_id(report):
    out = {}
    for ob in report.get('objects') or []:
        refs = collections.Counter((r.get('id'), r.get('label')) for r in ob.get('referents') or [])
        out[ob.get('id')] = (ob.get('type'), str(ob.get('gen')), ob.get('refcnt'), ob.get('size'),
                             ob.get('opaque'), refs)
    return out


def cycles_of(report):
    return {(frozenset(c.get('members') or []), bool(c.get('garbage'))) for c in report.get('cycles') or []}


def compare_reports(tap, tag, live, core):
    lo, co = objects_by_id(live), objects_by_id(core)
    diff = [i for i in set(lo) | set(co) if lo.get(i) != co.get(i)]
    d = ['live %d objects, core %d, %d differ' % (len(lo), len(co), len(diff))]
    for i in sorted(diff, key=lambda x: x or 0)[:8]:
        d.append('  0x%x live %r' % (i or 0, lo.get(i) and lo[i][:5]))
        d.append('         core %r' % (co.get(i) and co[i][:5]))
    tap.ok(lo and not diff, '%s: core objects = live objects (type, gen, refcnt, size, referents + labels)' % tag, d)
    lc, cc = cycles_of(live), cycles_of(core)
    tap.ok(lc == cc, '%s: core cycles = live cycles (members, garbage flag)' % tag,
           ['live %d, core %d, only live %d, only core %d' % (len(lc), len(cc), len(lc - cc), len(cc - lc))])
    lg, cg = set(live.get('garbage') or []), set(core.get('garbage') or [])
    tap.ok('garbage' in core and lg == cg, '%s: core garbage = live garbage (%d)' % (tag, len(lg)),
           ['live %d, core %d, only live %d, only core %d' % (len(lg), len(cg), len(lg - cg), len(cg - lg))])
    tap.ok(sorted(live.get('gc_garbage') or []) == sorted(core.get('gc_garbage') or []) and 'gc_garbage' in core,
           '%s: core gc_garbage = live gc_garbage' % tag)
    same = all(live.get(k) == core.get(k) for k in ('generations', 'gc', 'untracked_referents', 'pid'))
    tap.ok(same and (live.get('python') or {}).get('version') == (core.get('python') or {}).get('version'),
           '%s: pid, python.version, gc state, generations, untracked_referents equal' % tag,
           ['%s: live %r core %r' % (k, live.get(k), core.get(k)) for k in
            ('pid', 'python', 'gc', 'generations', 'untracked_referents') if live.get(k) != core.get(k)][:6])


def gcore(pid, path):
    try:
        p = subprocess.run(['gdb', '-nx', '-batch', '-p', str(pid), '-ex', 'gcore %s' % path],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=180, universal_newlines=True)
        return p.returncode == 0 and os.path.exists(path), p.stdout[-800:]
    except subprocess.TimeoutExpired:
        return False, 'gdb timed out'


def core_report(args, core, out_path, use_cli):
    if use_cli:
        return envtest.run_tool_env(args.tool, ['--core', core, '--json', out_path, '--objects', '--all-cycles'])
    rc, out, err, secs = envtest.run_tool_env(args.core_report, [core])
    with open(out_path, 'w') as f:
        f.write(out)
    return rc, '', err, secs


def main():
    args = envtest.parse_args(__doc__, lambda ap: ap.add_argument('--python', action='append'))
    tap = envtest.Tap()
    if not envtest.tool_ok(tap, args.tool):
        return tap.done()
    if not shutil.which('gdb'):
        tap.ok(False, 'gdb installed (scripts/setup)', ['gcore needs gdb'])
        return tap.done()
    use_cli = has_core_option(args.tool)
    if not use_cli and not (args.core_report and os.access(args.core_report, os.X_OK)):
        tap.skip('core files', 'pyleak-attach has no --core yet and no core-report driver was given')
        return tap.done()
    tap.note('core analysed by %s' % ('pyleak-attach --core' if use_cli else 'the core-report driver'))
    scenario = (args.scenario or ['garbage'])[0]
    with tempfile.TemporaryDirectory(prefix='pyleak-core-') as tmp:
        for minor in args.python or ['3.12', '3.13']:
            py = targets.pyenv_python(minor)
            tag = 'core py%s %s' % (minor, scenario)
            if not py:
                tap.skip(tag, 'pyenv CPython %s not installed' % minor)
                continue
            t = targets.EnvTarget(python=py, scenario=scenario, tmpdir=tmp)
            try:
                ok, why = t.wait_byte(b'R', 120)
                if not tap.ok(ok, '%s: target ready' % tag, [why]):
                    continue
                lpath = os.path.join(tmp, 'live-%s.json' % minor)
                rc, out, err, secs = envtest.run_tool_env(args.tool, ['--json', lpath, '--objects', '--all-cycles', t.pid])
                live, lerr = envtest.load_json(lpath)
                tap.ok(rc == 0 and live, '%s: live run exits 0' % tag, ['exit %r %s' % (rc, lerr)] + run_e2e.tail(err))
                cpath = os.path.join(tmp, 'core-%s' % minor)
                ok, gout = gcore(t.pid, cpath)
                if not tap.ok(ok, '%s: gdb gcore right after the live run (%.0f MB)' % (
                        tag, os.path.getsize(cpath) / 1e6 if ok else 0), gout.splitlines()[-5:]):
                    continue
                jpath = os.path.join(tmp, 'core-%s.json' % minor)
                rc, out, err, secs = core_report(args, cpath, jpath, use_cli)
                core, cerr = envtest.load_json(jpath)
                tap.ok(rc == 0 and core, '%s: core analysed, exit 0 (%.2fs)' % (tag, secs),
                       ['exit %r %s' % (rc, cerr)] + run_e2e.tail(err))
                os.unlink(cpath)        # hundreds of MB: free it early
                if not (live and core):
                    continue
                compare_reports(tap, tag, live, core)
                t.send(b'report')
                ok, why = t.wait_byte(b'D', 300)
                oracle, oerr = envtest.load_json(t.out) if ok else (None, why)
                if tap.ok(oracle is not None, '%s: oracle' % tag, [oerr]):
                    run_e2e.compare(tap, tag + ' (core vs oracle)', run_e2e.Ctx(oracle, core), t.pid)
            finally:
                t.stop()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
