"""A server that sends the file DATA to a client on a thread of its own, over loopback,
with MODE `sendfile` (socket.sendfile: the sendfile call) or `sendall` (read and write)."""

import socket
import sys
import threading

mode, data = sys.argv[1], sys.argv[2]
listener = socket.create_server(("127.0.0.1", 0))


def client() -> None:
    with socket.create_connection(listener.getsockname()) as c:
        while c.recv(65536):
            pass


reader = threading.Thread(target=client)
reader.start()
conn, _ = listener.accept()
with conn, open(data, "rb") as f:
    if mode == "sendfile":
        conn.sendfile(f)
    else:
        conn.sendall(f.read())
reader.join()
