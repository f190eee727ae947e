"""A listening socket made inheritable, and an epoll object that is not, cross into a
child run without close_fds: the socket leaks, the epoll object does not."""

import os
import select
import socket
import subprocess

listener = socket.create_server(("127.0.0.1", 0))
poller = select.epoll()
os.set_inheritable(listener.fileno(), True)
subprocess.run(["true"], close_fds=False, check=True)
