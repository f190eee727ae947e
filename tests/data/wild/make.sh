#!/bin/sh
# How the logs of this folder were made (strace 6.1, x86_64, Debian 12). Each is a real run
# whose strace output went to the same pipe as the program's own output, as in a terminal
# or a CI job, so that program text lands inside and between strace's lines. Run from this
# folder to make them again (pids, addresses and times will differ).
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a shell whose children write to the same pipe; the leader unprefixed at the start and
# again after its children exit (issue 12, case 7), program text inside write lines
strace -f sh -c 'echo "(" ; exec 5</etc/hostname; mkdir /tmp 2>&1; printf "Initializing..."; ls /nonexistent; echo done' \
	2>&1 | cat > sh-interleaved.log

# CPython writing bytes that are not UTF-8 to stdout and stderr, unbuffered
strace -f -e trace=execve,openat,close,write,read,pipe2,dup2,clone,clone3,wait4,exit_group /usr/bin/python3 -S -I -u -c '
import os, sys
sys.stdout.buffer.write(b"caf\xe9 \xff\xfe bytes\n")
sys.stderr.buffer.write(b"no newline \x80")
os.write(1, b"(\n")
r, w = os.pipe()
os.write(w, b"\xff\xfe\x00 not text")
os.read(r, 100)
os.set_inheritable(w, True)
os.system("true")
' 2>&1 | cat > python-bytes.log

# the same shell without -f: the children are not traced, so their output lands inside
# the shell's unfinished wait4 line
strace sh -c 'mkdir /tmp; ls /nonexistent; echo "a, b) = 3"' 2>&1 | cat > nofollow.log

# -p: attach to a child we started (a shell loop), unprefixed lines after the attach message
sh -c 'i=0; while [ $i -lt 40 ]; do i=$((i+1)); cat /etc/hostname >/dev/null; sleep 0.05; done' &
child=$!
sleep 0.3
timeout 1 strace -p "$child" 2>&1 | cat > attach-p.log || true
wait "$child" || true

# -C: the trace, then the count table
strace -f -C sh -c 'cat /etc/hostname; ls /nonexistent 2>/dev/null; true' 2>&1 | cat > count-table.log

# -i and -k: instruction pointers and stack frames
strace -i -k -e trace=openat cat /etc/hostname 2>&1 | cat > ip-stack.log

# Go (many threads: split calls everywhere), its child's output in the same pipe
GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GO111MODULE=off go build -o "$tmp/extrafiles" ../../programs/extrafiles.go
strace -f -e trace=!futex,nanosleep,mmap,rt_sigaction,sigaltstack,rt_sigprocmask "$tmp/extrafiles" /bin/echo 'hello, (from) echo' leak 2>&1 | cat > go-extrafiles.log
