#!/usr/bin/env python3
"""The documentation agrees with the program (TAP).

    test_docs.py --tool PATH --source DIR --build DIR options
        every option --help lists is in the man page (source and built),
        the README and both shell completions; the README states the test
        summary line exactly as tests/summarize.py prints it
    test_docs.py --tool PATH --source DIR --build DIR install
        `meson install` puts the binary, the man page and both completions
        where Debian looks
    test_docs.py --tool PATH --source DIR --build DIR completion
        the bash completion, sourced alone: complete -p, options, modes,
        the PIDs of running CPython processes (not other processes) and
        *.db files, by COMP_WORDS simulation

Runs under the system python3, stdlib only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'e2e'))
from run_e2e import Tap, preferred_python  # noqa: E402

SUMMARY = 'N passed, N failed, N skipped'


def read(path):
    with open(path, errors='replace') as f:
        return f.read()


def help_options(tool):
    out = subprocess.run([tool, '--help'], stdout=subprocess.PIPE, universal_newlines=True,
                         timeout=60).stdout
    opts = []
    for line in out.splitlines():
        m = re.match(r'^  (-\w)?(?:, )?(--[\w-]+)?\s', line)
        if m:
            opts += [o for o in m.groups() if o]
    return opts


def has_option(text, opt):
    return re.search(r'(?<![\w-])%s(?![\w-])' % re.escape(opt), text) is not None


def cmd_options(args, tap):
    opts = help_options(args.tool)
    tap.ok(len(opts) >= 20 and '--check' in opts and '-q' in opts,
           '--help lists %d options' % len(opts), [repr(opts)])
    built = os.path.join(args.build, 'doc', 'pyleak-attach.1')
    docs = {
        'the man page source': read(os.path.join(args.source, 'doc', 'pyleak-attach.1.scd')),
        # roff: font changes (\fB...\fR) and escaped hyphens
        'the built man page': re.sub(r'\\f[BIRP]', '', read(built)).replace('\\-', '-')
                              if os.path.exists(built) else '',
        'README.md': read(os.path.join(args.source, 'README.md')),
        'the bash completion': read(os.path.join(args.source, 'shell', 'pyleak-attach.bash')),
        'the zsh completion': read(os.path.join(args.source, 'shell', '_pyleak-attach')),
    }
    for name, text in docs.items():
        missing = [o for o in opts if not has_option(text, o)]
        tap.ok(text and not missing, 'every --help option is in %s' % name,
               ['missing: %r' % missing] if text else ['not found (scdoc missing?)'])
    # Yama scope 1: --help once let the same user attach, the README not
    helptext = subprocess.run([args.tool, '--help'], stdout=subprocess.PIPE,
                              universal_newlines=True, timeout=60).stdout
    readme = docs['README.md']
    tap.ok('<= 1' not in helptext and 'with 1, only an ancestor' in ' '.join(helptext.split()) and
           'With 1 only an ancestor' in ' '.join(readme.split()),
           '--help and the README agree: ptrace_scope 1 lets only an ancestor attach',
           [l for l in helptext.splitlines() if 'ptrace' in l or 'ancestor' in l])
    # the summary line, as printed and as documented
    summ = read(os.path.join(args.source, 'tests', 'summarize.py'))
    tap.ok("'%d passed, %d failed, %d skipped'" in summ,
           'tests/summarize.py prints "%s"' % SUMMARY)
    for rel in ('README.md', os.path.join('scripts', 'test')):
        text = read(os.path.join(args.source, rel))
        said = re.findall(r'N passed[^"`\n]*', text)
        tap.ok(said and all(s.rstrip('.') == SUMMARY for s in said),
               '%s states the summary line as "%s" everywhere (%d places)' % (rel, SUMMARY, len(said)),
               ['found: %r' % said])


def cmd_install(args, tap):
    with tempfile.TemporaryDirectory(prefix='pyleak-install-') as dest:
        p = subprocess.run(['meson', 'install', '-C', args.build, '--no-rebuild', '--quiet',
                            '--destdir', dest], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=300)
        if not tap.ok(p.returncode == 0, 'meson install --destdir', p.stdout.splitlines()[-10:]):
            return
        found = {}
        for root, dirs, files in os.walk(dest):
            for f in files:
                found[os.path.relpath(os.path.join(root, f), dest)] = True
        prefix = subprocess.run(['meson', 'introspect', '--buildoptions', args.build],
                                stdout=subprocess.PIPE, universal_newlines=True).stdout
        m = re.search(r'"name": "prefix", "value": "([^"]+)"', prefix)
        pre = (m.group(1) if m else '/usr/local').lstrip('/')
        want = {
            'the binary': pre + '/bin/pyleak-attach',
            'the man page in man1': pre + '/share/man/man1/pyleak-attach.1',
            "the bash completion in bash-completion's completionsdir":
                pre + '/share/bash-completion/completions/pyleak-attach',
            "the zsh completion in zsh's site-functions": pre + '/share/zsh/site-functions/_pyleak-attach',
        }
        for what, rel in want.items():
            tap.ok(rel in found, 'meson install puts %s at /%s' % (what, rel), sorted(found)[:10])
        man = os.path.join(dest, want['the man page in man1'])
        if shutil.which('man') and os.path.exists(man):
            r = subprocess.run(['man', '-l', man], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, env=dict(os.environ, MANWIDTH='80'))
            tap.ok(r.returncode == 0 and 'pyleak-attach - find what keeps the memory' in r.stdout and
                   'EXIT STATUS' in r.stdout, 'man -l renders the installed page',
                   [r.stderr[-300:]])


# ---------------------------------------------------------------------------

COMPLETE = r'''
source "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"
COMP_POINT=${#COMP_LINE}
_pyleak_attach pyleak-attach "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
'''


def complete(script, cwd, words):
    p = subprocess.run(['bash', '--norc', '--noprofile', '-c', COMPLETE, 'bash', script] + words,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                       cwd=cwd, timeout=60)
    return sorted(l for l in p.stdout.splitlines() if l), p.stderr


def cmd_completion(args, tap):
    script = os.path.join(args.source, 'shell', 'pyleak-attach.bash')
    if not shutil.which('bash'):
        tap.skip('bash completion', 'no bash')
        return
    p = subprocess.run(['bash', '--norc', '--noprofile', '-c', 'source "$1"; complete -p pyleak-attach',
                        'bash', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    tap.ok(p.stdout.strip() == 'complete -o filenames -F _pyleak_attach pyleak-attach' and not p.stderr,
           'sourced alone, complete -p shows the completion function', [p.stdout, p.stderr])
    ver, python = preferred_python()
    with tempfile.TemporaryDirectory(prefix='pyleak-comp-') as tmp:
        for f in ('leak.db', 'old.db', 'notes.txt'):
            open(os.path.join(tmp, f), 'w').close()
        os.mkdir(os.path.join(tmp, 'dumps'))
        got, err = complete(script, tmp, ['pyleak-attach', '--sn'])
        tap.ok(got == ['--snapshot'], '--sn completes to --snapshot', [got, err])
        got, err = complete(script, tmp, ['pyleak-attach', '--snapshot', ''])
        tap.ok(got == ['auto', 'copy', 'fork', 'live'], '--snapshot offers the four modes', [got])
        got, err = complete(script, tmp, ['pyleak-attach', '--dump', ''])
        tap.ok(got == ['dumps', 'leak.db', 'old.db'], '--dump offers *.db files and directories', [got])
        opts = help_options(args.tool)
        got, err = complete(script, tmp, ['pyleak-attach', '-'])
        missing = [o for o in opts if o not in got]
        tap.ok(not missing, 'every --help option is offered after -', ['missing %r' % missing])
        procs = []
        try:
            sl = subprocess.Popen(['sleep', '600'], stdin=subprocess.DEVNULL)
            procs.append(sl)
            if python:
                py = subprocess.Popen([python, '-c', 'import sys; sys.stdin.read()'],
                                      stdin=subprocess.PIPE)
                procs.append(py)
            got, err = complete(script, tmp, ['pyleak-attach', ''])
            files_ok = 'leak.db' in got and 'old.db' in got and 'notes.txt' not in got
            if python:
                tap.ok(str(py.pid) in got and str(sl.pid) not in got and files_ok,
                       'a PID argument: running CPython PIDs (%d) and *.db files, not sleep (%d) '
                       'nor notes.txt' % (py.pid, sl.pid), [got[:30]])
            else:
                tap.skip('CPython PIDs completed', 'no pyenv CPython')
            if python:
                got, err = complete(script, tmp, ['pyleak-attach', '--check', str(py.pid)[:-1]])
                tap.ok(str(py.pid) in got, '--check PID: the PID completes from its prefix', [got[:20]])
        finally:
            for p in procs:
                p.kill()
                p.wait()
    zsh = shutil.which('zsh')
    if zsh:
        p = subprocess.run([zsh, '-n', os.path.join(args.source, 'shell', '_pyleak-attach')],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        tap.ok(p.returncode == 0, 'zsh -n accepts the zsh completion', [p.stderr])
    else:
        tap.skip('zsh completion syntax', 'zsh not installed')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--tool', required=True)
    ap.add_argument('--source', required=True)
    ap.add_argument('--build', required=True)
    ap.add_argument('mode', choices=['options', 'install', 'completion'])
    args = ap.parse_args()
    tap = Tap()
    {'options': cmd_options, 'install': cmd_install, 'completion': cmd_completion}[args.mode](args, tap)
    print('1..%d' % tap.n)
    return 1 if tap.failed else 0


if __name__ == '__main__':
    sys.exit(main())
