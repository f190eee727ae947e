"""Python with what Python programs do to descriptors: subprocess.Popen with pipes, a
thread, and tempfile.NamedTemporaryFile. Run by tests/golden/test_runtimes.py."""

import subprocess
import tempfile
import threading
from pathlib import Path

with tempfile.NamedTemporaryFile(prefix="popen-", suffix=".txt") as scratch:
    scratch.write(b"scratch\n")
    scratch.flush()
    results: list[bytes] = []
    worker = threading.Thread(target=lambda: results.append(Path(scratch.name).read_bytes()))
    worker.start()
    worker.join()
    child = subprocess.Popen(
        ["cat", scratch.name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = child.communicate(b"")
    print(f"the thread read {len(results[0])} bytes; the child said {out.decode().strip()}")
