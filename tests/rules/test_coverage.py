"""What a trace holds, and the sentence of a rule it cannot decide: each part of it as a
user reads it in an UNDECIDED line."""

from __future__ import annotations

from sysprobe._rules.coverage import FULL, Coverage, undecided_because
from sysprobe._rules.rules import RuleResult

RUN = FULL.but("openat,close", "the run traced")


def test_a_selection_says_who_says_so_and_what_it_holds() -> None:
    assert RUN.describe() == "the run traced only the calls of -e trace=openat,close"
    six = FULL.but("openat,close,dup,dup2,dup3,fcntl", "line 1 of x.log says it holds")
    assert six.describe() == (
        "line 1 of x.log says it holds only the calls of -e trace=openat,close,dup,dup2,dup3,fcntl"
    )
    eight = FULL.but("openat,close,dup,dup2,dup3,fcntl,pipe,pipe2", "the run traced")
    assert eight.describe() == (
        "the run traced only the calls of -e trace=openat,close,dup,dup2,dup3,fcntl,... (8 items)"
    )


def test_items_sysprobe_cannot_read_are_named() -> None:
    odd = FULL.but("openat,frobnicate,%nosuchclass", "the run traced")
    assert odd.describe() == (
        "the run traced only the calls of -e trace=openat,frobnicate,%nosuchclass "
        "(sysprobe cannot tell which calls frobnicate, %nosuchclass stand for)"
    )
    both = Coverage((*RUN.selections, *odd.selections))
    assert both.describe() == f"{RUN.describe()}; {odd.describe()}"
    one = FULL.but("openat,frobnicate", "the run traced")
    assert one.describe().endswith("(sysprobe cannot tell which calls frobnicate stands for)")


def test_the_sentence_of_an_undecided_rule() -> None:
    assert undecided_because(["any call"], (), RUN) == (
        "cannot be decided: the rule can match any call, and the run traced only the calls of "
        "-e trace=openat,close"
    )
    assert undecided_because(["dup"], (), RUN) == (
        "cannot be decided: dup is not in the trace: the run traced only the calls of -e trace=openat,close"
    )
    assert undecided_because(["dup", "dup2"], (), RUN).startswith(
        "cannot be decided: dup, dup2 are not in the trace: "
    )
    eight = ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert undecided_because(eight, (), RUN).startswith(
        "cannot be decided: a, b, c, d, e, f and 2 more are not in "
    )
    six = eight[:6]
    assert undecided_because(six, (), RUN).startswith("cannot be decided: a, b, c, d, e, f are not in ")
    unseen = ("the log seems filtered", "a second reason")
    assert undecided_because(["dup"], unseen, RUN) == (
        "cannot be decided: dup is not in the trace: the run traced only the calls of -e trace=openat,close; "
        "the log seems filtered; a second reason"
    )
    assert undecided_because([], unseen, FULL) == "cannot be decided: the log seems filtered; a second reason"


def test_an_undecided_rule_keeps_what_was_seen_and_decides_nothing() -> None:
    held = RuleResult("--expect sendfile", True, "1 call matched", ["line 3: sendfile(1, 3, NULL, 5) = 5"])
    held.undecide("cannot be decided: the log seems filtered")
    assert (held.passed, held.final, held.verdict) == (False, False, "undecided")
    assert held.summary == held.undecided == "cannot be decided: the log seems filtered"
    assert held.evidence == ["seen: 1 call matched", "line 3: sendfile(1, 3, NULL, 5) = 5"]
    silent = RuleResult("--forbid close", False, "", ["line 9: close(3) = 0"], final=False)
    silent.undecide("cannot be decided: why")
    assert silent.evidence == ["line 9: close(3) = 0"]  # nothing seen to say
    assert (silent.passed, silent.final) == (False, False)


def test_what_each_kind_of_trace_item_holds() -> None:
    """strace's -e trace= items: none, a /regex (searched, anchors and all), a class with or
    without its %, net for network, a name; what a rule needs and the trace lacks, with
    another architecture's name left out (this trace could not hold it) and a name no
    table knows kept as written."""
    cases = [
        ("none", {"openat"}, ["openat"]),
        ("/^open", {"fsopen", "openat"}, ["fsopen"]),
        ("%network", {"connect", "openat"}, ["openat"]),
        ("network", {"connect", "openat"}, ["openat"]),
        ("%net", {"connect", "openat"}, ["openat"]),
        ("net", {"connect", "openat"}, ["openat"]),
        ("openat", {"clone2", "frobnicate", "openat", "read"}, ["frobnicate", "read"]),
    ]
    for expression, needs, lacking in cases:
        assert FULL.but(expression, "the run traced").lacking(needs) == lacking, expression
    # none is read: no call, said plainly, not an item sysprobe cannot tell
    assert FULL.but("none", "the run traced").describe() == "the run traced only the calls of -e trace=none"
