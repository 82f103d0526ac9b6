"""Shared by test_distro.py, test_pidns.py, test_debuginfod.py, test_core.py:
one scenario run against a target started by tests/env/targets.py, checked
with H5's oracle comparison (run_e2e.compare: objects, edges, cycles,
garbage, gc state, python.version exact).  Stdlib only, system python3."""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'env'))
sys.path.insert(0, HERE)

import run_e2e  # noqa: E402
import targets  # noqa: E402

Tap = run_e2e.Tap
tail = run_e2e.tail


def parse_args(doc, extra=None):
    ap = argparse.ArgumentParser(description=doc.split('\n')[0])
    ap.add_argument('--tool', required=True, help='path to pyleak-attach')
    ap.add_argument('--core-report', help='path to the core-report driver')
    ap.add_argument('--scenario', action='append', help='target.py scenario(s)')
    if extra:
        extra(ap)
    return ap.parse_args()


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f), None
    except (OSError, ValueError) as e:
        return None, str(e)


def run_scenario(tap, tool, tag, tmp, scenario, target_kw, tool_env=None, check=None,
                 extra_tool_args=(), refusal=None):
    """Starts an EnvTarget, runs `pyleak-attach PID --json F --objects`,
    calls check(tap, report, target) (before the oracle runs), then
    compares with the oracle.  Returns the report (or None).

    refusal: a phrase (lowercase) that makes exit 2 an accepted outcome
    when stderr contains it and no report was written: the tool refused
    the target for that reason instead of walking it.  Any other exit is
    judged as without it."""
    t = targets.EnvTarget(scenario=scenario, tmpdir=tmp, **target_kw)
    try:
        ok, why = t.wait_byte(b'R', 120)
        if not tap.ok(ok, '%s: target ready' % tag, [why]):
            return None
        jpath = os.path.join(tmp, 'report-%s-%s.json' % (tag.replace(' ', '_'), scenario))
        env = None
        if tool_env is not None:
            env = dict(os.environ)
            env.update(tool_env)
        # options before the pid: works whether or not the CLI permutes
        rc, out, err, secs = run_tool_env(tool, ['--json', jpath, '--objects', '--all-cycles'] +
                                          list(extra_tool_args) + [t.pid], env)
        report, jerr = load_json(jpath)
        if refusal and rc == 2:
            tap.ok(refusal in err.lower() and report is None,
                   '%s: refused (exit 2), naming the %s, no report (%.2fs)' % (tag, refusal, secs),
                   ['stderr:'] + tail(err), always=True)
            return None
        tap.ok(rc == 0 and report is not None, '%s: pyleak-attach exits 0 (%.2fs)' % (tag, secs),
               ['exit %r; %s; stderr:' % (rc, jerr or 'json ok')] + tail(err))
        if report is None:
            return None
        py = report.get('python') or {}
        tap.note('%s: python %s, layout_source %s, path %s' % (
            tag, py.get('version'), py.get('layout_source'), py.get('path')))
        if check:
            check(tap, report, t)
        t.send(b'report')
        ok, why = t.wait_byte(b'D', 300)
        if not tap.ok(ok, '%s: oracle computed by the target' % tag, [why]):
            return report
        oracle, oerr = load_json(t.out)
        if not tap.ok(oracle is not None, '%s: oracle readable' % tag, [oerr]):
            return report
        run_e2e.compare(tap, tag, run_e2e.Ctx(oracle, report), t.pid)
        return report
    finally:
        t.stop()


def run_tool_env(tool, args, env=None, timeout=run_e2e.TOOL_TIMEOUT):
    """run_e2e.run_tool with an environment."""
    return run_e2e.run_tool(tool, args, timeout, env=env)


def tool_ok(tap, tool):
    if not os.access(tool, os.X_OK):
        tap.ok(False, 'pyleak-attach is built', ['not executable: %s' % tool])
        return False
    return True
