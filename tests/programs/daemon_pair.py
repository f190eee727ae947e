"""Two processes that outlive their tracer: this one, and a child that leaves for a
session of its own, as a daemon does. Both sleep for a minute."""

import os
import time

if os.fork() == 0:
    os.setsid()
time.sleep(60)
