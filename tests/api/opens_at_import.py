"""A module that leaves a descriptor open, without close-on-exec, when it is imported: in
sysprobe.call's interpreter that happens while the callable is unpickled, before the call."""

from __future__ import annotations

import os
import subprocess

FD = os.open("/etc/hostname", os.O_RDONLY)
os.set_inheritable(FD, True)


def run_true_with_every_fd() -> int:
    subprocess.run(["true"], close_fds=False, check=True)
    return FD
