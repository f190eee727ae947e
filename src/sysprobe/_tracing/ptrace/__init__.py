"""The ptrace backend: a tracing process of our own (python-ptrace's binding, our wait loop
and decoders) that writes strace-style text, started and supervised as strace is."""
