"""Which failed rules stand on a partial trace (an incomplete run: timed out, interrupted,
its tracer killed).

A trace cut short shows a prefix of what the command did. A rule that failed on that
prefix may still be a proven failure — nothing the command did later can undo a forbidden
call it already made, or a descriptor that already crossed an exec — or only a failure
"so far": the call ``--expect`` wanted may have come later, the exit status is unknown.
``sysprobe check`` keeps exit 1 for the first kind and says "incomplete" (75, 124) for
everything else (README: "Exit codes").
"""

from __future__ import annotations

from .rules import Count, Forbid, NoFdLeaks, Order, Rule, RuleResult

# after a failure with the count above N, later calls only raise it: these cannot pass again
_UPPER_BOUNDS = ("=", "<", "<=")


def failure_stands(rule: Rule, result: RuleResult) -> bool:
    """True when ``result`` is a failure that no later event could undo: it rests on the
    events seen, whatever the rest of the run would have shown.

    Conservative: a rule not known to fail for good (``--expect``, ``--expect-exit``, a
    ``--cloexec`` violation that may be "open at the end" of a run that did not end, and
    any rule added later) does not stand."""
    if result.passed:
        return False
    if isinstance(rule, Forbid):
        return True  # the forbidden call was made
    if isinstance(rule, Count):
        return rule.op in _UPPER_BOUNDS and rule.count > rule.n  # too many already
    if isinstance(rule, Order):
        return rule.out_of_order > 0  # a B with no A before it, in a process that made it
    # every leak is a crossing at an exec the trace shows
    return isinstance(rule, NoFdLeaks)
