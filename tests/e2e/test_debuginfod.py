#!/usr/bin/env python3
"""The DWARF provider finds split debug info through debuginfod (TAP).

    test_debuginfod.py --tool PATH [--python 3.12]

A copy of a pyenv libpython has its DWARF split off (objcopy
--only-keep-debug) and removed (strip --strip-debug; the build-id stays, no
.gnu_debuglink needed: debuginfod looks up by build-id).  Debian's debuginfod
serves the .debug file from a temporary directory on 127.0.0.1 (a free port;
readiness is polled on /buildid/ID/debuginfo with a deadline).  The target
runs with the stripped copy; pyleak-attach runs with DEBUGINFOD_URLS pointing
at the server and DEBUGINFOD_CACHE_PATH in the temporary directory: the
layout must come from "dwarf", the file must have been fetched into that
cache, and the report must match the oracle.  A control run without
DEBUGINFOD_URLS must not claim "dwarf".

Then the container case of debug packages: the same .debug file under
DIR/.build-id/NN/REST.debug, bind-mounted over /usr/lib/debug in a mount
namespace only the target has (as `apt install python3.X-dbg` inside a
container would put it): without DEBUGINFOD_URLS the layout must come from
"dwarf" through /proc/PID/root/usr/lib/debug, while the control above shows
the host's own /usr/lib/debug does not have it.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import envtest
from envtest import targets, run_e2e


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_served(url, proc, deadline):
    """Polls until the server answers 200 for url; False at the deadline or
    if the server died."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False, 'debuginfod exited with %r' % proc.returncode
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return True, ''
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)     # polling a server's index, bounded by deadline
    return False, 'not served within the deadline'


def main():
    args = envtest.parse_args(__doc__, lambda ap: ap.add_argument('--python', default='3.12'))
    tap = envtest.Tap()
    if not envtest.tool_ok(tap, args.tool):
        return tap.done()
    py = targets.pyenv_python(args.python)
    if not py:
        tap.skip('debuginfod', 'pyenv CPython %s not installed' % args.python)
        return tap.done()
    missing = [p for p in ('debuginfod', 'objcopy', 'strip', 'readelf') if not shutil.which(p)]
    if missing:
        tap.ok(False, 'debuginfod and binutils installed', ['missing: %s (scripts/setup)' % ' '.join(missing)])
        return tap.done()
    with tempfile.TemporaryDirectory(prefix='pyleak-debuginfod-') as tmp:
        s = targets.StrippedCopy(args.python, tmp, mode='debug', split_debug=True)
        tap.ok(s.build_id and not targets.has_debug_info(s.lib) and targets.has_debug_info(s.debug_file),
               'split: %s stripped, DWARF in %s, build-id %s' % (
                   os.path.basename(s.lib), os.path.basename(s.debug_file), s.build_id))
        served = os.path.join(tmp, 'served')
        os.makedirs(served)
        # the container's debug directory, by build-id (filled before the
        # file moves to the server)
        ctr_debug = os.path.join(tmp, 'ctr-usr-lib-debug')
        by_id = os.path.join(ctr_debug, '.build-id', s.build_id[:2])
        os.makedirs(by_id)
        shutil.copy(s.debug_file, os.path.join(by_id, s.build_id[2:] + '.debug'))
        shutil.move(s.debug_file, served)
        port = free_port()
        log = open(os.path.join(tmp, 'debuginfod.log'), 'w')
        srv = subprocess.Popen(['debuginfod', '-F', served, '-p', str(port),
                                '-d', os.path.join(tmp, 'debuginfod.sqlite'), '-t', '0', '-g', '0'],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = 'http://127.0.0.1:%d' % port
            ok, why = wait_served('%s/buildid/%s/debuginfo' % (base, s.build_id), srv,
                                  time.monotonic() + 60)
            if not tap.ok(ok, 'debuginfod on 127.0.0.1:%d serves the build-id' % port, [why]):
                return tap.done()
            cache = os.path.join(tmp, 'cache')
            env = {'DEBUGINFOD_URLS': base, 'DEBUGINFOD_CACHE_PATH': cache, 'DEBUGINFOD_TIMEOUT': '30'}

            def dwarf_check(tap_, report, t):
                src = (report.get('python') or {}).get('layout_source')
                tap_.ok(src == 'dwarf', 'layout_source is dwarf, through debuginfod', ['layout_source %r' % src])
                fetched = [os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs]
                tap_.ok(any(s.build_id in p for p in fetched), 'the debug file was fetched into DEBUGINFOD_CACHE_PATH',
                        ['cache holds %r' % fetched[:5]])
                tap_.ok(s.check_maps(t.pid), 'the target runs the stripped copy', [s.lib])

            envtest.run_scenario(tap, args.tool, 'debuginfod %s' % args.python, tmp,
                                 (args.scenario or ['garbage'])[0], dict(python=s.python, env=s.env),
                                 tool_env=env, check=dwarf_check)

            # control: the same target without debuginfod
            t = targets.EnvTarget(python=s.python, scenario='gcstate', tmpdir=tmp, env=s.env)
            try:
                ok, why = t.wait_byte(b'R', 120)
                noenv = dict(os.environ)
                for k in ('DEBUGINFOD_URLS', 'DEBUGINFOD_CACHE_PATH'):
                    noenv.pop(k, None)
                noenv['DEBUGINFOD_CACHE_PATH'] = os.path.join(tmp, 'cache-control')
                rc, out, err, secs = envtest.run_tool_env(args.tool, ['--json', '-', t.pid], noenv)
                import json
                try:
                    src = (json.loads(out).get('python') or {}).get('layout_source')
                except ValueError:
                    src = None
                tap.ok(ok and src != 'dwarf',
                       'control without DEBUGINFOD_URLS: layout not from dwarf (%s, exit %r)' % (src, rc),
                       run_e2e.tail(err, 4))
            finally:
                t.stop()

            def root_check(tap_, report, t):
                py = report.get('python') or {}
                tap_.ok(py.get('layout_source') == 'dwarf',
                        'debug file only in the target\'s mount namespace: layout_source is dwarf',
                        ['layout_source %r' % py.get('layout_source')])
                tap_.ok(s.check_maps(t.pid), 'the target runs the stripped copy', [s.lib])

            envtest.run_scenario(tap, args.tool, 'container debug dir %s' % args.python, tmp,
                                 'gcstate', dict(python=s.python, env=s.env,
                                                 binds=[(ctr_debug, '/usr/lib/debug')]),
                                 tool_env={'DEBUGINFOD_URLS': ''}, check=root_check)
        finally:
            srv.terminate()
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
            log.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
