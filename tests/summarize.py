#!/usr/bin/env python3
"""Count individual test results in a meson testlog.json.

    summarize.py [BUILDDIR/meson-logs/testlog.json [TAPFILE...]]

Every TAP "ok"/"not ok" line is one result ("# SKIP" = skipped, "# TODO" on a
"not ok" = skipped, not failed).  A test without TAP lines counts once: exit
77 / SKIP = skipped, OK = passed, anything else (crash, timeout) = failed.
A TAP test that meson marked failed although all its lines passed (it died
after its last line, or the plan did not match) adds one failure.
A sanitizer report (ASan, LSan, UBSan) in a test's stderr, or one that
tests/e2e/run_e2e.py printed as TAP diagnostics, is printed whole (meson
--print-errorlogs shows only the last 100 lines of a failed TAP test's
stderr, which cuts a report's first lines: the error and its stack) and adds
one failure if the test had none (a forked child's report, say).
Each TAPFILE (output of a run outside meson, e.g. tests/fuzz/run) counts
its "ok"/"not ok" lines the same way; one without any counts as a failure.
The last line printed is exactly "N passed, N failed, N skipped"; the exit
status is non-zero if anything failed or nothing ran.
"""
import json
import re
import sys

DIAG_LINES = 10
TAP_LINE = re.compile(r'^(not ok|ok)\b(.*)$')
SKIP = re.compile(r'#\s*skip', re.I)
TODO = re.compile(r'#\s*todo', re.I)
GOOD = {'OK', 'EXPECTEDFAIL'}
# The first line of a report, as tests/e2e/run_e2e.py matches it too.
SANITIZER_START = re.compile(
    r'^(?:==\d+==\s*ERROR: \w*Sanitizer'
    r'|==\d+==\w*Sanitizer has encountered a fatal error'
    r'|\w*Sanitizer:DEADLYSIGNAL'
    r'|.*:\d+(?::\d+)?: runtime error: )')
# run_e2e.py's markers around a report it printed as diagnostics.
E2E_BEGIN = '# --- sanitizer report: '
E2E_END = '# --- end of sanitizer report ---'
# A bound, not a cut: real reports are a few hundred lines at most.
MAX_REPORT_LINES = 5000


def sanitizer_reports(entry):
    """Whole sanitizer reports in one test's output: stderr from the first
    line of a report to its end (the sanitizer halts the process), and
    every block run_e2e.py marked in stdout."""
    reports = []
    lines = (entry.get('stderr') or '').splitlines()
    for i, line in enumerate(lines):
        if SANITIZER_START.match(line):
            reports.append(lines[i:i + MAX_REPORT_LINES])
            break
    block = None
    for line in (entry.get('stdout') or '').splitlines():
        if line.startswith(E2E_BEGIN):
            block = [line]
        elif block is not None:
            block.append(line)
            if line.startswith(E2E_END) or len(block) >= MAX_REPORT_LINES:
                reports.append(block)
                block = None
    if block:
        reports.append(block)
    return reports


def count(path, taps=()):
    passed = failed = skipped = 0
    failures = []
    reports = []
    with open(path, encoding='utf-8', errors='replace') as f:
        entries = [json.loads(line) for line in f if line.strip()]
    entries += [count_tap(t) for t in taps]
    for e in entries:
        name = e.get('name', '?')
        res = e.get('result', '?')
        p = fl = s = 0
        lines = (e.get('stdout') or '').splitlines()
        for i, line in enumerate(lines):
            m = TAP_LINE.match(line.strip())
            if not m:
                continue
            rest = m.group(2)
            if SKIP.search(rest):
                s += 1
            elif m.group(1) == 'ok':
                p += 1
            elif TODO.search(rest):
                s += 1
            else:
                fl += 1
                failures.append('%s: %s' % (name, line.strip()))
                # CI shows only this summary: keep the failure's own
                # diagnostics (the "# ..." lines after it) with it
                for diag in lines[i + 1:i + 1 + DIAG_LINES]:
                    if not diag.lstrip().startswith('#'):
                        break
                    failures.append('    %s' % diag.strip()[:300])
        if p + fl + s == 0:
            if res == 'SKIP' or e.get('returncode') == 77:
                s = 1
            elif res in GOOD:
                p = 1
            else:
                fl = 1
                failures.append('%s: %s (exit %s) without test results' % (
                    name, res, e.get('returncode')))
        elif res not in GOOD and res != 'SKIP' and fl == 0:
            fl = 1
            failures.append('%s: %s (exit %s) after its last result' % (
                name, res, e.get('returncode')))
        found = sanitizer_reports(e)
        reports.extend((name, r) for r in found)
        if found and fl == 0:
            fl = 1
            failures.append('%s: a sanitizer report in its output' % name)
        passed += p
        failed += fl
        skipped += s
    return passed, failed, skipped, failures, reports, len(entries)


def count_tap(path):
    """A plain TAP file, as a testlog entry whose result is its lines'."""
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            out = f.read()
    except OSError as e:
        out = ''
        print('summarize: cannot read %s: %s' % (path, e))
    good = re.search(r'^ok\b', out, re.M)
    return {'name': path, 'stdout': out, 'returncode': 0 if good else 1,
            'result': 'OK' if good else 'FAIL'}


def main(argv):
    path = argv[1] if len(argv) > 1 else 'build-ci/meson-logs/testlog.json'
    try:
        passed, failed, skipped, failures, reports, ntests = count(path, argv[2:])
    except (OSError, ValueError) as e:
        print('summarize: cannot read %s: %s' % (path, e))
        print('0 passed, 1 failed, 0 skipped')
        return 1
    for name, lines in reports:
        print('sanitizer report in %s (whole):' % name)
        for line in lines:
            print('  ' + line)
    if failures:
        print('failures:')
        for line in failures[:200]:
            print('  ' + line)
        if len(failures) > 200:
            print('  ... and %d more' % (len(failures) - 200))
    print('%d tests' % ntests)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed or passed + failed == 0 else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
