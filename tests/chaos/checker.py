"""The checker: what was sent against what came out, in the spirit of Jepsen's queue.

Definitions (each count is over one run):

* **lost** — an item that was sent and never came out where the policy says: a good
  item with no output, a poison or malformed item with no dead letter.
* **duplicates** — outputs beyond the first for one ``(key, seq)``: the redeliveries
  that reached the output. (Dead letters beyond the first are counted apart.)
* **order violations** — per key, take the outputs in output order (offset order of
  the one partition the key lands on) and keep only the *first* occurrence of each
  ``seq``; every first occurrence lower than one before it is a violation. A redelivery
  repeats a suffix of what was already output (``1 2 3 2 3 4``): its repeats are not first
  occurrences, so it is no violation; an item overtaken by a later one of its key
  (``1 3 2``) is.
* **dead-lettered** — distinct items on the dead-letter topic.
* **bad letters** — dead letters without the error headers the policy promises.
* **unexpected** — outputs of items that should have none (a poison item).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ("Counts", "Letter", "Output", "Sent", "check", "letter_name", "order_violations")

ItemId = tuple[str, int]


@dataclass
class Sent:
    """What the producer sent.

    Attributes:
        good: Items that must come out, ``(key, seq)``.
        poison: Items the handler always fails: they must be dead-lettered.
        malformed: Keys of records that cannot be decoded: dead-lettered at once.
        times: When each item (good or poison) was sent, by ``(key, seq)``.
    """

    good: set[ItemId] = field(default_factory=set)
    poison: set[ItemId] = field(default_factory=set)
    malformed: set[str] = field(default_factory=set)
    times: dict[ItemId, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every record sent."""
        return len(self.good) + len(self.poison) + len(self.malformed)


@dataclass(frozen=True)
class Output:
    """One output record, as the checker read it."""

    key: str
    seq: int
    sent: float
    partition: int
    offset: int
    arrived: float
    worker: str = ""


@dataclass(frozen=True)
class Letter:
    """One dead-letter record."""

    key: str
    value: bytes | None
    headers: Mapping[str, bytes]
    timestamp: float


@dataclass
class Counts:
    """The checker's verdict on one run (see the module docstring for definitions)."""

    messages: int
    lost: int
    duplicates: int
    order_violations: int
    dead_lettered: int
    letter_duplicates: int
    bad_letters: int
    unexpected: int
    lost_items: list[str] = field(default_factory=list)
    bad_letter_reasons: list[str] = field(default_factory=list)


def order_violations(outputs: Iterable[tuple[str, int]]) -> int:
    """Counts first occurrences of a ``seq`` lower than an earlier one of the same key.

    Args:
        outputs: ``(key, seq)`` in output order (per key, the order of its partition).
    """
    seen: dict[str, set[int]] = {}
    top: dict[str, int] = {}
    violations = 0
    for key, seq in outputs:
        firsts = seen.setdefault(key, set())
        if seq in firsts:
            continue  # a redelivery: not a first occurrence
        firsts.add(seq)
        if seq < top.get(key, -1):
            violations += 1
        else:
            top[key] = seq
    return violations


def check(
    sent: Sent,
    outputs: Sequence[Output],
    letters: Sequence[Letter],
    *,
    source: str,
    attempts: int,
) -> Counts:
    """Compares ``outputs`` and ``letters`` with what was ``sent``.

    Args:
        sent: The producer's record.
        outputs: Every output record, read with ``read_committed``.
        letters: Every dead-letter record.
        source: The input topic, which each dead letter must name.
        attempts: The retry budget a poison item's dead letter must report.
    """
    ordered = sorted(outputs, key=lambda o: (o.partition, o.offset))
    counted = Counter((o.key, o.seq) for o in ordered)
    missing = sorted(sent.good - counted.keys())
    unexpected = sum(n for item, n in counted.items() if item not in sent.good)
    duplicates = sum(n - 1 for item, n in counted.items() if item in sent.good)

    lettered: Counter[str] = Counter()
    bad: list[str] = []
    for letter in letters:
        name, reason = _judge_letter(letter, sent, source, attempts)
        lettered[name] += 1
        if reason:
            bad.append(f"{name}: {reason}")
    expected_letters = {f"{k}/{s}" for k, s in sent.poison} | sent.malformed
    missing_letters = sorted(expected_letters - lettered.keys())
    return Counts(
        messages=sent.total,
        lost=len(missing) + len(missing_letters),
        duplicates=duplicates,
        order_violations=order_violations((o.key, o.seq) for o in ordered),
        dead_lettered=len(expected_letters & lettered.keys()),
        letter_duplicates=sum(n - 1 for n in lettered.values()),
        bad_letters=len(bad),
        unexpected=unexpected,
        lost_items=[f"{k}/{s}" for k, s in missing[:20]] + missing_letters[:20],
        bad_letter_reasons=bad[:20],
    )


def letter_name(letter: Letter) -> str:
    """``"key/seq"`` of a dead-lettered item, or the record key of a malformed record."""
    try:
        body = json.loads(letter.value or b"")
        return f"{body['key']}/{int(body['seq'])}"
    except (ValueError, KeyError, TypeError):
        return letter.key


def _judge_letter(letter: Letter, sent: Sent, source: str, attempts: int) -> tuple[str, str | None]:
    """The letter's item name, and what is wrong with its headers (``None``: nothing)."""
    headers = letter.headers
    name = letter_name(letter)
    if name in sent.malformed:
        want_type, want_attempts = "ValidationError", 1
    elif name in {f"{key}/{seq}" for key, seq in sent.poison}:
        want_type, want_attempts = "PoisonError", attempts
    else:
        return name, "not a poison or malformed record the producer sent"
    if not headers.get("stream.error.type", b"").decode().endswith(want_type):
        return name, f"stream.error.type is {headers.get('stream.error.type')!r}"
    if not headers.get("stream.error.message"):
        return name, "no stream.error.message"
    if headers.get("stream.source.topic") != source.encode():
        return name, f"stream.source.topic is {headers.get('stream.source.topic')!r}"
    if not headers.get("stream.source.offset", b"").isdigit():
        return name, "no stream.source.offset"
    if headers.get("stream.attempts") != str(want_attempts).encode():
        return name, f"stream.attempts is {headers.get('stream.attempts')!r}, not {want_attempts}"
    return name, None
