"""The strace backend: strace -f as the command's parent, its output read from a FIFO."""
