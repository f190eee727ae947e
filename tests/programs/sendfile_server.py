"""A server that sends the file DATA to a client on a thread of its own, over loopback,
with MODE `sendfile` (socket.sendfile: the sendfile call) or `sendall` (read and write).
The client connects before its thread starts: made on the thread, its socket and the
accepted one would race for the lowest free descriptor, and the golden would change."""

import socket
import sys
import threading

mode, data = sys.argv[1], sys.argv[2]
listener = socket.create_server(("127.0.0.1", 0))
client = socket.create_connection(listener.getsockname())


def receive() -> None:
    with client:
        while client.recv(65536):
            pass


reader = threading.Thread(target=receive)
reader.start()
conn, _ = listener.accept()
with conn, open(data, "rb") as f:
    if mode == "sendfile":
        conn.sendfile(f)
    else:
        conn.sendall(f.read())
reader.join()
