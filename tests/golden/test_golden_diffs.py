"""A golden shows the regressions it exists for as one line each: a sendfile that became
read/write, close-on-exec removed from a descriptor received over SCM_RIGHTS, a new dup."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sysprobe._golden.golden import diff
from sysprobe.pytest_plugin import Sysprobe

pytestmark = pytest.mark.usefixtures("backend")


def changed_lines(before: str, after: str) -> list[str]:
    text = diff("g.trace", before, after)
    return [line for line in text.splitlines()[2:] if line[:1] in "+-" and line[1:3] != "# "]


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("WRITE", ["-    sendfile(7<pipe:[1]>, 5<$TMP/data.txt>, NULL, N) = N"]),
        (
            "NO_CMSG_CLOEXEC",
            [
                "-  recvmsg(3<socket:[2]>, {msg_name=NULL, msg_namelen=0, "
                'msg_iov=[{iov_base="x", iov_len=1}], '
                "msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, "
                "cmsg_data=[5<$TMP/data.txt>]}], msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}, "
                "MSG_CMSG_CLOEXEC) = 1",
                "+  recvmsg(3<socket:[2]>, {msg_name=NULL, msg_namelen=0, "
                'msg_iov=[{iov_base="x", iov_len=1}], '
                "msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, "
                "cmsg_data=[5<$TMP/data.txt>]}], msg_controllen=24, msg_flags=0}, 0) = 1",
            ],
        ),
        ("EXTRA_DUP", ["+    dup(5<$TMP/data.txt>) = 8<$TMP/data.txt>"]),
    ],
)
def test_a_regression_is_one_line(
    variant: str, expected: list[str], sysprobe: Sysprobe, compile_c: Callable[..., Path], tmp_path: Path
) -> None:
    data = tmp_path / "data.txt"
    data.write_text("the data\n")
    goldens = []
    for program in (compile_c("golden_diffs"), compile_c("golden_diffs", variant)):
        t = sysprobe.run([program, data])
        assert t.exit_status == 0
        goldens.append(t.golden([(str(program), "$PROGRAM"), (str(tmp_path), "$TMP")]))
    before, after = goldens
    assert "recvmsg(" in before and "sendfile(" in before
    assert changed_lines(before, after) == expected, diff("g.trace", before, after)
