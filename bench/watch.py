"""Watching a throughput run from outside: committed offsets, outputs and CPU time.

The harness polls the broker until the consumer group's committed offsets equal the input
topic's end offsets, and reads the variant's CPU time from ``/proc`` at that moment, so
what a variant reports about itself never stops the clock.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from bench.broker import BenchKafka
from bench.proc import VariantProcess, cpu_seconds
from bench.variants.common import VariantSettings

__all__ = ("Mark", "Watched", "watch")

_POLL = 0.02


@dataclass(frozen=True, slots=True)
class Mark:
    """When a variant process handled its first record, and its CPU time then."""

    at: float
    cpu: float


@dataclass(frozen=True, slots=True)
class Watched:
    """What the harness saw: the commit, the outputs, and the processes' CPU time."""

    committed_at: float
    outputs_at: float | None
    outputs_at_commit: int
    marks: dict[int, Mark]
    cpu_at_commit: dict[int, float]
    outputs_at_cut: int | None = None
    """Outputs on the output topic when the run was cut short; ``None`` if it was not."""


async def watch(
    kafka: BenchKafka,
    ends: dict[int, int],
    settings: VariantSettings,
    child: VariantProcess,
    *,
    mark_dir: Path,
    timeout: float,
    cut_after: float | None = None,
) -> Watched:
    """Polls the broker until the group has committed ``ends`` (the input topic's end
    offsets), then until as many outputs are on the output topic (a variant may commit
    before it has sent). Gives up after ``timeout`` seconds, or 30 s after the commit.

    ``cut_after`` bounds a slow variant: that many seconds after its first record, the
    outputs written so far and that moment stand for the run (``outputs_at_cut``). Outputs,
    not commits: FastStream commits on a 5 s timer, so its commits lag its work by up to 5 s.
    """
    messages = sum(ends.values())
    deadline = time.monotonic() + timeout
    outputs_at: float | None = None
    committed_at: float | None = None
    outputs_at_commit = 0
    cpu_at_commit: dict[int, float] = {}
    while outputs_at is None or committed_at is None:
        outputs = sum((await kafka.end_offsets(settings.out_topic)).values())
        if outputs_at is None and outputs >= messages:
            outputs_at = time.monotonic()
        if committed_at is None:
            committed = await kafka.committed(settings.group, settings.in_topic)
            if _cut_due(mark_dir, cut_after) and committed != ends:
                cut_at = time.monotonic()
                return Watched(
                    cut_at, None, outputs, _read_marks(mark_dir), _cpu_of(_read_marks(mark_dir)),
                    outputs_at_cut=outputs,
                )  # fmt: skip
            if committed == ends:
                # Taken after the read: the commit happened before this moment.
                committed_at = time.monotonic()
                cpu_at_commit = _cpu_of(_read_marks(mark_dir))
                # Read after the commit was seen, so an output counted here was written
                # before or soon after the commit; one missing here was certainly late.
                outputs_at_commit = sum((await kafka.end_offsets(settings.out_topic)).values())
                deadline = min(deadline, committed_at + 30)
        if not child.running:
            raise RuntimeError(f"{child.name} exited early:\n{child.log_tail()}")
        if time.monotonic() > deadline:
            if committed_at is not None:
                break  # committed, but fewer outputs than inputs: reported as such
            raise RuntimeError(
                f"timed out: committed {committed} of {ends}, {outputs} outputs\n"
                + child.log_tail()
            )
        await asyncio.sleep(_POLL)
    assert committed_at is not None
    marks = _read_marks(mark_dir)
    if not marks:
        raise RuntimeError(f"no variant process wrote a first-record mark into {mark_dir}")
    return Watched(committed_at, outputs_at, outputs_at_commit, marks, cpu_at_commit)


def _cut_due(mark_dir: Path, cut_after: float | None) -> bool:
    """Whether ``cut_after`` seconds have passed since the first record."""
    if cut_after is None:
        return False
    marks = _read_marks(mark_dir)
    return bool(marks) and time.monotonic() > min(m.at for m in marks.values()) + cut_after


def _read_marks(mark_dir: Path) -> dict[int, Mark]:
    marks = {}
    for path in mark_dir.glob("first-*"):
        at, cpu = path.read_text(encoding="ascii").split()
        marks[int(path.name.removeprefix("first-"))] = Mark(float(at), float(cpu))
    return marks


def _cpu_of(marks: dict[int, Mark]) -> dict[int, float]:
    """CPU seconds so far of each process that marked a first record."""
    found = {pid: cpu_seconds(pid) for pid in marks}
    return {pid: cpu for pid, cpu in found.items() if cpu is not None}
