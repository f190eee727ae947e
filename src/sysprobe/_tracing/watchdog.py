"""What cleans up after a sysprobe that died without running any code (SIGKILL, the OOM killer).

strace 6.1 has no ``--kill-on-exit``: when strace dies, the kernel detaches its tracees and
they run on — under ``--seccomp-bpf`` with a filter that makes every selected call fail
with ENOSYS, since no tracer answers it. A parent-death signal on strace would only make
that happen sooner. So each run starts a watchdog first: a tiny ``/bin/sh`` in a session of
its own, ignoring the signals a terminal or a process group gets, that reads a pipe only
sysprobe holds. sysprobe tells it the tracing process's pid, later that the tracer has
ended (so a reused pid is never touched), and at the end that all is clean. If the pipe
closes before that last word — sysprobe is gone — the watchdog stops the tracer (SIGSTOP:
no tracee it traces can be detached or start running untraced any more; a child forked
meanwhile is born traced, and waits for it), SIGKILLs every process whose TracerPid is the
tracer until a round finds no new one (a killed tracee may wait in strace's exit stop, but
never runs again), then the tracer, and removes the run's FIFO directory.

If sysprobe dies after starting the tracer but before naming it, the watchdog finds the
tracer by the FIFO path on its command line (``-o FIFO``).

Where it cannot hold: the watchdog itself killed at the same moment (``kill -KILL -1``, a
cgroup or container torn down — then everything in it dies anyway); sysprobe killed in
the microseconds between creating the FIFO directory and starting the watchdog (the
directory stays); no ``/bin/sh`` (the run goes on without a watchdog). The ptrace backend
does not need it for its tracees (its tracing process has a parent-death signal and
PTRACE_O_EXITKILL) but it still removes the FIFO directory.
"""

from __future__ import annotations

import contextlib
import subprocess

_SCRIPT = r"""
trap '' HUP INT QUIT TERM PIPE TSTP TTIN TTOU
IFS= read -r tracer || tracer=
IFS= read -r said || said=
if [ "$said" = ended ]; then tracer=-; IFS= read -r said || said=; fi
[ "$said" = done ] && exit 0
if [ -z "$tracer" ]; then
    # sysprobe died before it could name its tracer: find it by its -o FIFO (it may be
    # between fork and exec a moment longer)
    for pause in 0 0.05 0.1 0.2 0.4; do
        sleep $pause
        for cmdline in $(grep -laF -- "$1/trace" /proc/[0-9]*/cmdline 2>/dev/null); do
            pid=${cmdline#/proc/}
            pid=${pid%/cmdline}
            [ -d "/proc/$pid" ] && tracer=$pid  # not the grep itself, gone by now
        done
        [ -n "$tracer" ] && break
    done
fi
case $tracer in ''|*[!0-9]*) tracer= ;; esac
if [ -n "$tracer" ] && kill -STOP "$tracer" 2>/dev/null; then
    killed=' '
    round=0
    while [ $round -lt 20 ]; do
        round=$((round + 1))
        new=
        for status in $(grep -l "^TracerPid:[[:space:]]*$tracer\$" /proc/[0-9]*/status 2>/dev/null); do
            pid=${status#/proc/}
            pid=${pid%/status}
            case $killed in *" $pid "*) ;; *) new="$new $pid" killed="$killed$pid " ;; esac
        done
        [ -z "$new" ] && break
        kill -KILL $new 2>/dev/null
    done
    kill -KILL "$tracer" 2>/dev/null
fi
rm -rf -- "$1"
"""


class Watchdog:
    """One run's watchdog: ``watch(pid)`` once the tracer runs, ``ended()`` once it has
    been waited for, ``release()`` when everything is cleaned up."""

    def __init__(self, workdir: str, fifo_reader: int) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._said: list[str] = []
        try:
            self._proc = subprocess.Popen(
                ["/bin/sh", "-c", _SCRIPT, "sysprobe-watchdog", workdir],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                close_fds=True,
                pass_fds=(fifo_reader,),  # held, never read: a tracer outliving sysprobe blocks, not EPIPEs
                start_new_session=True,  # out of reach of ^C and of a kill of sysprobe's group
                cwd="/",
            )
        except OSError:
            self._proc = None  # no /bin/sh: the run goes on unguarded

    def watch(self, tracer_pid: int) -> None:
        if not self._said:
            self._say(str(tracer_pid))

    def ended(self) -> None:
        if len(self._said) == 1:
            self._say("ended")

    def release(self) -> None:
        """All is clean: the watchdog exits without touching anything."""
        if not self._said:
            self._say("")  # no tracer was started
        self._say("done")
        proc, self._proc = self._proc, None
        if proc is not None:
            assert proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _say(self, line: str) -> None:
        self._said.append(line)
        if self._proc is None or self._proc.stdin is None:
            return
        with contextlib.suppress(OSError):
            self._proc.stdin.write(line.encode() + b"\n")
            self._proc.stdin.flush()
