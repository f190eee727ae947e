"""Go's ExtraFiles case in Python: a listening socket and an epoll object watching it;
a child (`true`) is given the socket on purpose, with MODE:
  pass_fds         subprocess's pass_fds: exactly that descriptor crosses
  close_fds_false  the socket made inheritable and close_fds=False: it leaks
Prints the socket's and the epoll object's descriptor numbers."""

import os
import select
import socket
import subprocess
import sys

listener = socket.create_server(("127.0.0.1", 0))
poller = select.epoll()
poller.register(listener, select.EPOLLIN)
if sys.argv[1] == "pass_fds":
    subprocess.run(["true"], pass_fds=(listener.fileno(),), check=True)
else:
    os.set_inheritable(listener.fileno(), True)
    subprocess.run(["true"], close_fds=False, check=True)
print(listener.fileno(), poller.fileno())
