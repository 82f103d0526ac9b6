# bash completion for pyleak-attach(1): options, the PIDs of running
# CPython processes, and *.db dump files.  Needs no bash-completion
# helper, so that it works sourced alone.

# PIDs whose command name or argv[0] says python (python3, python3.12,
# /usr/bin/python3 for a script run by its #! line): builtins only, no
# process per /proc entry, so that a busy host completes at once.
_pyleak_attach_pids()
{
        local d comm arg0
        for d in /proc/[0-9]*; do
                comm= arg0=
                read -r comm < "$d/comm" 2>/dev/null
                read -r -d '' arg0 < "$d/cmdline" 2>/dev/null
                arg0=${arg0##*/}
                case "$comm $arg0" in
                python\ *|python[0-9]*|*\ python|*\ python[0-9]*)
                        printf '%s\n' "${d#/proc/}" ;;
                esac
        done
}

_pyleak_attach()
{
        local cur=${COMP_WORDS[COMP_CWORD]} prev=
        ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
        local opts="--json --text --objects --top --dump --force --dot --dot-top
                --dot-cycles --dot-local --all-cycles --baseline --watch --count
                --heapsnapshot --snapshot --max-memory --no-browser --no-cache
                --check --children --core --exe --sysroot -q --quiet -h --help -V
                --version"
        local IFS=$'\n'

        case $prev in
        --json|--text|--dot|--heapsnapshot)
                COMPREPLY=($(compgen -f -- "$cur") $(compgen -W '-' -- "$cur"))
                return ;;
        --dump|--baseline)
                COMPREPLY=($(compgen -f -X '!*.db' -- "$cur") $(compgen -d -- "$cur"))
                return ;;
        --core|--exe)
                COMPREPLY=($(compgen -f -- "$cur"))
                return ;;
        --sysroot)
                COMPREPLY=($(compgen -d -- "$cur"))
                return ;;
        --children)
                # a pool master: a CPython process itself (gunicorn,
                # celery, multiprocessing)
                COMPREPLY=($(compgen -W "$(_pyleak_attach_pids)" -- "$cur"))
                return ;;
        --snapshot)
                COMPREPLY=($(compgen -W $'copy\nfork\nlive\nauto' -- "$cur"))
                return ;;
        --max-memory)
                COMPREPLY=($(compgen -W $'256M\n512M\n1G\n2G\n4G' -- "$cur"))
                return ;;
        --top|--dot-top|--dot-cycles|--watch|--count)
                COMPREPLY=()
                return ;;
        esac
        if [[ $cur == -* ]]; then
                IFS=$' \t\n' COMPREPLY=($(compgen -W "$opts" -- "$cur"))
                return
        fi
        COMPREPLY=($(compgen -W "$(_pyleak_attach_pids)" -- "$cur")
                   $(compgen -f -X '!*.db' -- "$cur") $(compgen -d -- "$cur"))
}

complete -o filenames -F _pyleak_attach pyleak-attach
