"""Tracing: run a command under a tracer and stream its events.

``base.Tracer`` is the interface strace (``strace/``) and python-ptrace (``ptrace/``)
implement; ``supervisor.Supervisor`` runs either the same way; ``backends.start`` picks one.
"""
