#!/bin/sh
# The real strace behind another face: it reports version $FAKE_STRACE_VERSION, records
# each command line in $FAKE_STRACE_CALLS (when set), and with $FAKE_STRACE_REFUSE_SECCOMP
# refuses --seccomp-bpf as strace does where the kernel cannot filter: it warns, then
# traces without the filter.
if [ "$1" = -V ]; then
    echo "strace -- version $FAKE_STRACE_VERSION"
    exit 0
fi
[ -n "$FAKE_STRACE_CALLS" ] && echo "$*" >> "$FAKE_STRACE_CALLS"
if [ -n "$FAKE_STRACE_REFUSE_SECCOMP" ]; then
    for a; do
        shift
        if [ "$a" = --seccomp-bpf ]; then
            echo "strace: seccomp filter is requested but unavailable" >&2
        else
            set -- "$@" "$a"
        fi
    done
fi
exec "${FAKE_STRACE_REAL:-strace}" "$@"
