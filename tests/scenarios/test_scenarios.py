"""The cases sysprobe exists for (shared/context): each proven with one `sysprobe check`
line or one assertion, on real programs traced by the real strace."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

import sysprobe

from ..helpers import check, program

pytestmark = pytest.mark.usefixtures("strace_ok", "backend")  # every case on both backends


# ---- 004: fork/exec leaks a pipe end; three fixes ----


def test_pipe_leak_is_found(compile_c: Callable[..., Path]) -> None:
    done = check("--no-fd-leaks", "--", str(compile_c("forkexec_pipe")))
    assert done.returncode == 1
    leaks = [ln.strip() for ln in done.stderr.splitlines() if "leaked into" in ln]
    assert len(leaks) == 2
    for fd, line in zip((3, 4), leaks, strict=True):
        assert line.startswith(f"fd {fd} (pipe:[")
        assert "(/usr/bin/sleep)" in line or "(/bin/sleep)" in line
        assert "created by pipe2 at line" in line  # glibc's pipe() is pipe2(fds, 0)


@pytest.mark.parametrize(
    ("fix", "proof"),
    [
        ("FIX_PIPE2", "pipe2(*, O_CLOEXEC)"),
        ("FIX_FCNTL", "fcntl(*, F_SETFD, FD_CLOEXEC) = 0"),
        ("FIX_SPAWN", "close_range(3, *, 0) = 0"),
    ],
)
def test_pipe_leak_fixes(fix: str, proof: str, compile_c: Callable[..., Path]) -> None:
    done = check("--no-fd-leaks", "--expect", proof, "--", str(compile_c("forkexec_pipe", fix)))
    assert done.returncode == 0, done.stderr
    assert "PASS  --no-fd-leaks: no leaks across 2 execs" in done.stderr


# ---- 001: epoll with close-on-exec, and the fallback for old kernels ----


def test_epoll_create1_with_cloexec(compile_c: Callable[..., Path]) -> None:
    done = check(
        "--expect",
        "epoll_create1(EPOLL_CLOEXEC)",
        "--cloexec",
        "epoll_create1|epoll_create",
        "--no-fd-leaks",
        "--",
        str(compile_c("epoll_cloexec")),
    )
    assert done.returncode == 0, done.stderr


def test_epoll_fallback_under_injection(compile_c: Callable[..., Path]) -> None:
    """With epoll_create1 failing with ENOSYS, the fallback still ends close-on-exec."""
    done = check(
        "--inject",
        "epoll_create1:error=ENOSYS",
        "--expect",
        "epoll_create1(EPOLL_CLOEXEC) = -1 ENOSYS",
        "--order",
        "epoll_create -> fcntl(*, F_SETFD, FD_CLOEXEC)",
        "--cloexec",
        "epoll_create",
        "--no-fd-leaks",
        "--",
        str(compile_c("epoll_cloexec")),
    )
    assert done.returncode == 0, done.stderr
    assert "(INJECTED)" in done.stderr  # the injected call is marked in the report


def test_epoll_fallback_without_fcntl_leaks(compile_c: Callable[..., Path]) -> None:
    program = str(compile_c("epoll_cloexec", "FORGET_FCNTL"))
    assert check("--no-fd-leaks", "--", program).returncode == 0  # epoll_create1 works: no fallback
    done = check(
        "--inject", "epoll_create1:error=ENOSYS", "--no-fd-leaks", "--cloexec", "epoll_create", "--", program
    )
    assert done.returncode == 1
    assert "FAIL  --no-fd-leaks: 1 descriptor leaked" in done.stderr
    assert "fd 3 (anon_inode:[eventpoll]) leaked into pid" in done.stderr
    assert "created by epoll_create at line" in done.stderr
    assert "FAIL  --cloexec epoll_create" in done.stderr


def test_plain_epoll_create_leaks(compile_c: Callable[..., Path]) -> None:
    t = sysprobe.trace([str(compile_c("epoll_cloexec", "PLAIN"))])
    (leak,) = t.leaks()
    assert (leak.fd, leak.descriptor.kind, leak.descriptor.origin.syscall) == (3, "epoll", "epoll_create")
    with pytest.raises(AssertionError, match=r"fd 3 .anon_inode:.eventpoll.. leaked into pid"):
        t.assert_no_fd_leaks()
    with pytest.raises(AssertionError, match="FAIL  --expect epoll_create1"):
        t.assert_called("epoll_create1(EPOLL_CLOEXEC)")


# ---- 000: ExtraFiles — only the descriptor passed on purpose crosses ----


def test_pass_fds_lets_exactly_that_descriptor_cross() -> None:
    t = sysprobe.trace([sys.executable, str(program("extra_files.py")), "pass_fds"])
    (sock,) = t.calls("socket")
    passed = [p for p in t.passes() if p.exec.program.endswith("/true")]
    assert [(p.fd, p.descriptor.kind) for p in passed] == [(sock.ret, "socket")]
    assert t.leaks() == []  # the child cleared its close-on-exec itself: passed on purpose
    t.assert_called("epoll_create1(EPOLL_CLOEXEC)")
    t.assert_cloexec("epoll_create1")
    t.assert_no_fd_leaks()
    with pytest.raises(AssertionError, match="passed on purpose"):
        t.assert_no_fd_leaks(count_passes=True)
    t.assert_no_fd_leaks(allow=[sock.ret or 0], count_passes=True)


def test_inheritable_fd_without_close_fds_is_reported() -> None:
    t = sysprobe.trace([sys.executable, str(program("extra_files.py")), "close_fds_false"])
    (sock,) = t.calls("socket")
    leaked = {leak.fd: leak for leak in t.leaks() if leak.exec.program.endswith("/true")}
    assert sock.ret in leaked  # the inheritable listener leaks; the epoll object does not
    assert all(d.kind != "epoll" for d in (leak.descriptor for leak in leaked.values()))
    assert "close-on-exec cleared by ioctl(FIONCLEX)" in leaked[sock.ret or 0].describe()


def test_subprocess_run_defaults_do_not_leak() -> None:
    t = sysprobe.trace([sys.executable, "-c", "import subprocess; subprocess.run(['true'], check=True)"])
    t.assert_no_fd_leaks()
    t.assert_called("close_range(*, *, 0) = 0")  # CPython closes with close_range in the child
    t.assert_called("vfork")


# ---- 002: a descriptor passed over a unix socket ----


@pytest.mark.parametrize("cloexec", [False, True])
def test_fd_passing_with_scm_rights(cloexec: bool, compile_c: Callable[..., Path]) -> None:
    t = sysprobe.trace([str(compile_c("passfd", *(["CMSG_CLOEXEC"] if cloexec else [])))])
    (sent,) = t.assert_called(
        "sendmsg(*, {msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS}]}, *) = 1"
    )
    (received,) = t.assert_called("recvmsg(*, {msg_control=[{cmsg_type=SCM_RIGHTS}]}, *) = 1")
    assert sent.pid != received.pid
    table = t.fd_table(received.pid, at=received.lines[-1])
    (new_fd,) = [fd for fd, d in table.items() if d.origin.syscall == "recvmsg"]
    assert table[new_fd].name == "/etc/hostname"
    assert table[new_fd].origin.detail == "received over SCM_RIGHTS on fd 3"
    assert table[new_fd].cloexec is cloexec
    if cloexec:
        t.assert_called("recvmsg(*, *, MSG_CMSG_CLOEXEC)")
        t.assert_no_fd_leaks()
    else:
        assert [leak.fd for leak in t.leaks()] == [new_fd]
        with pytest.raises(AssertionError, match=r"received over SCM_RIGHTS on fd 3"):
            t.assert_no_fd_leaks()


# ---- 003: sendfile was used ----


def test_python_server_uses_sendfile(tmp_path: Path) -> None:
    script, data = program("sendfile_server.py"), tmp_path / "data.bin"
    data.write_bytes(os.urandom(100_000))
    done = check(
        "--expect", "sendfile(*, *, *, *) > 0", "--", sys.executable, str(script), "sendfile", str(data)
    )
    assert done.returncode == 0, done.stderr
    plain = check("--expect", "sendfile", "--", sys.executable, str(script), "sendall", str(data))
    assert plain.returncode == 1
    assert "FAIL  --expect sendfile: no call matched" in plain.stderr
    assert "the trace has no sendfile or sendfile64 call at all" in plain.stderr


NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


@pytest.mark.slow
@pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (`make test` installs it with apt when it can)"
)
@pytest.mark.parametrize("sendfile", ["on", "off"])
def test_nginx_sendfile_setting(sendfile: str, tmp_path: Path) -> None:
    assert NGINX is not None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "file.bin").write_bytes(os.urandom(64_000))
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        textwrap.dedent(f"""
        daemon off; master_process off; worker_processes 1;
        pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;
        events {{ worker_connections 16; }}
        http {{
            access_log off; sendfile {sendfile};
            client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path}; fastcgi_temp_path {tmp_path};
            uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};
            server {{ listen 127.0.0.1:{port}; root {tmp_path}/www; }}
        }}
    """)
    )
    result: dict[str, sysprobe.Trace] = {}
    server = threading.Thread(
        target=lambda: result.setdefault(
            "t", sysprobe.trace([NGINX, "-c", str(conf), "-p", str(tmp_path)], timeout=60)
        )
    )
    server.start()
    body = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/file.bin", timeout=5) as response:
                body = response.read()
            break
        except OSError:
            time.sleep(0.1)
    pid = int((tmp_path / "nginx.pid").read_text())
    os.kill(pid, 15)
    server.join(60)
    assert len(body) == 64_000
    t = result["t"]
    if sendfile == "on":
        t.assert_called("sendfile(*, *, *, 64000) = 64000")
    else:
        t.assert_not_called("sendfile")
        t.assert_called("writev")


# ---- threads and exec ----


def test_exec_from_a_thread_and_a_leak_across_threads(compile_c: Callable[..., Path], tmp_path: Path) -> None:
    out = tmp_path / "inherited"
    t = sysprobe.trace([str(compile_c("fdops")), "thread", str(compile_c("openfds")), str(out)])
    (proc,) = t.processes
    leaks = t.leaks()
    assert sorted(leak.fd for leak in leaks) == [3, 4] == sorted(int(x) for x in out.read_text().split())
    creator = leaks[0].descriptor.origin.pid
    assert creator != proc.pid and creator in proc.threads  # created by one thread...
    assert all(leak.exec.pid == proc.pid for leak in leaks)  # ...leaked by another's exec
    assert any(e.type == "superseded" for e in t.events)
