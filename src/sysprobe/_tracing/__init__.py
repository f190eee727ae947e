"""Tracing: run a command under a tracer and stream its events.

``base.Tracer`` is the interface strace (``strace/``) and python-ptrace (``ptrace/``)
implement; ``supervisor.Supervisor`` runs either the same way and says what the run proves
(``RunOutcome``: the command's own exec as evidence, ``incomplete`` when it was cut short);
``selection`` is what every run traces; ``watchdog`` cleans up after a killed sysprobe;
``backends.start`` picks a tracer.
"""
