"""The checker's definitions, on hand-made histories (no broker)."""

from __future__ import annotations

import json

import pytest

from tests.chaos.checker import Letter, Output, Sent, check, order_violations


@pytest.mark.parametrize(
    ("history", "violations"),
    [
        ([1, 2, 3, 4], 0),
        ([1, 2, 3, 2, 3, 4], 0),  # a redelivery repeats a suffix
        ([1, 2, 3, 1, 2, 3, 4, 5, 4, 5, 6], 0),  # two of them
        ([1, 3, 2], 1),  # 2 overtaken by 3
        ([3, 1, 2], 2),
        ([1, 4, 2, 3, 5], 2),
        ([1, 3, 3, 2], 1),  # the repeat of 3 is no first occurrence; 2 still is late
    ],
)
def test_order_violations_count_late_first_occurrences(history: list[int], violations: int) -> None:
    assert order_violations(("k", seq) for seq in history) == violations


def test_order_is_judged_per_key() -> None:
    assert order_violations([("a", 2), ("b", 1), ("a", 3), ("b", 2)]) == 0


def _output(key: str, seq: int, offset: int) -> Output:
    return Output(key, seq, 0.0, 0, offset, 0.0)


def _letter(key: str, value: bytes, **headers: str) -> Letter:
    base = {
        "stream.error.type": "tests.chaos.pipeline.PoisonError",
        "stream.error.message": "poison",
        "stream.source.topic": "in",
        "stream.source.offset": "7",
        "stream.attempts": "3",
    }
    base.update(headers)
    return Letter(key, value, {k: v.encode() for k, v in base.items()}, 0.0)


def test_check_counts_lost_duplicates_unexpected_and_letters() -> None:
    sent = Sent(
        good={("a", 0), ("a", 1), ("a", 3), ("b", 0)}, poison={("a", 2)}, malformed={"bad-0"}
    )
    outputs = [
        _output("a", 0, 0),
        _output("a", 1, 1),
        _output("a", 0, 2),  # redelivered
        _output("a", 1, 3),  # redelivered
        _output("a", 2, 4),  # a poison item must never come out
        _output("a", 3, 5),
    ]
    poison = json.dumps({"key": "a", "seq": 2, "t": 0.0, "poison": True}).encode()
    letters = [
        _letter("a", poison),
        _letter("a", poison),  # dead-lettered twice
        _letter("bad-0", b"not json", **{"stream.error.type": "x.ValidationError"}),
    ]
    counts = check(sent, outputs, letters, source="in", attempts=3)
    assert counts.messages == 6
    assert counts.lost == 1  # b/0
    assert counts.lost_items == ["b/0"]
    assert counts.duplicates == 2
    assert counts.unexpected == 1
    assert counts.order_violations == 0
    assert counts.dead_lettered == 2
    assert counts.letter_duplicates == 1
    assert counts.bad_letters == 1  # the malformed one was dead-lettered after 3 attempts
    assert "stream.attempts" in counts.bad_letter_reasons[0]


def test_a_missing_dead_letter_is_lost() -> None:
    sent = Sent(good=set(), poison={("a", 0)}, malformed={"bad-0"})
    counts = check(sent, [], [], source="in", attempts=3)
    assert counts.lost == 2
