"""Says it is ready (writes its pid to argv[1]), sleeps argv[2] seconds, then leaks a pipe
into a child: a check interrupted before the leak must not pass (issue 12, case 2)."""

import os
import signal
import subprocess
import sys
import time

signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it as it ends a C program: no traceback
with open(sys.argv[1] + ".tmp", "w") as ready:
    ready.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])  # whole when it appears
time.sleep(float(sys.argv[2]))
read_end, _ = os.pipe()
os.set_inheritable(read_end, True)
subprocess.run(["true"], close_fds=False, check=True)
