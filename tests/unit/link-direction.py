#!/usr/bin/env python3
"""link-direction: the libraries' dependencies point one way (README,
Development).  For each library, every symbol it needs and does not define
itself must come from the libraries it is allowed to use or from outside
the project (libc, libm, threads, SQLite, libdw, the sanitizers); a symbol
defined by a library it may not use fails the test.  The test programs'
links only catch the objects they happen to pull in; this checks every
object of every library.  TAP; usage: link-direction.py NM NAME=LIB... """
import subprocess
import sys

# library -> the project libraries it may use
ALLOWED = {
    'heap-model': ['common'],
    'heap-store': ['heap-model', 'common'],
    'heap-walk': ['heap-model', 'symbols', 'attach', 'common'],
    'ui': ['heap-model', 'common'],
    'symbols': ['attach', 'common'],
    'attach': ['common'],
    'common': [],
}

# outside libraries a library may not use, by symbol prefix: the model and
# what shows it never open a dump, read DWARF or touch a process
NOT_OUTSIDE = {
    'heap-model': ('sqlite3_', 'dwarf_', 'dwfl_', 'elf_', 'elf64_', 'gelf_', 'ptrace'),
    'ui': ('sqlite3_', 'dwarf_', 'dwfl_', 'elf_', 'elf64_', 'gelf_', 'ptrace'),
    'heap-store': ('dwarf_', 'dwfl_', 'elf_', 'elf64_', 'gelf_', 'ptrace'),
}


def symbols(nm, lib, defined):
    flag = '--defined-only' if defined else '--undefined-only'
    out = subprocess.run([nm, '-g', flag, lib], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line and not line.endswith(':')
            and len(line.split()) >= 2}


def what(allowed):
    return 'uses only ' + ', '.join(allowed) if allowed else 'uses no project library'


def main():
    nm = sys.argv[1]
    libs = dict(a.split('=', 1) for a in sys.argv[2:])
    defs = {name: symbols(nm, path, True) for name, path in libs.items()}
    print('1..%d' % len(ALLOWED))
    failed = 0
    for n, (name, allowed) in enumerate(ALLOWED.items(), 1):
        need = symbols(nm, libs[name], False) - defs[name]
        bad = []
        for other, d in defs.items():
            if other != name and other not in allowed:
                bad += ['%s (from %s)' % (s, other) for s in sorted(need & d)]
        bad += ['%s (outside)' % s for s in sorted(need)
                if s.startswith(NOT_OUTSIDE.get(name, ()))]
        if bad:
            failed += 1
            print('not ok %d - %s %s' % (n, name, what(allowed)))
            for b in bad:
                print('# needs %s' % b)
        else:
            print('ok %d - %s %s' % (n, name, what(allowed)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
