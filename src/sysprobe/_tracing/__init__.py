"""Tracing: run a command under a tracer and stream strace-style lines from it."""
