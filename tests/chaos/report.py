"""The chaos table: printed after the run, and written to ``artifacts/chaos/``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tests.chaos.checker import Counts
from tests.chaos.harness import Fault, Result

__all__ = ("as_dict", "from_dict", "markdown", "write")

_COLUMNS = (
    "fault",
    "mode",
    "messages",
    "lost",
    "duplicates",
    "order violations",
    "dead-lettered",
    "recovery (s)",
    "crashes",
    "run (s)",
)


def _row(result: Result) -> tuple[str, ...]:
    counts = result.counts
    recovery = result.recovery
    mode = "exactly-once" if result.guarantee == "exactly_once" else "at-least-once"
    return (
        result.scenario,
        mode,
        str(counts.messages),
        str(counts.lost),
        str(counts.duplicates),
        str(counts.order_violations),
        str(counts.dead_lettered),
        "-" if recovery is None else f"{recovery:.1f}",
        str(result.crashes),
        f"{result.seconds:.0f}",
    )


def markdown(results: Sequence[Result]) -> str:
    """The table, one row per scenario, as GitHub markdown, with each fault's details."""
    rows = [_COLUMNS, tuple("---" for _ in _COLUMNS), *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines += ["", "Faults (when, after the first one; how long injecting took; → time to recover):"]
    for r in results:
        faults = ", ".join(
            f"{f.name} at +{f.at - r.faults[0].at:.1f}s"
            + (f" (took {f.ended - f.at:.1f}s)" if f.ended - f.at >= 1 else "")
            + f" → {f.recovery or 0:.1f}s"
            for f in r.faults
        )
        lines.append(f"- {r.scenario}, {r.guarantee}: {faults or 'no process faults'}")
    lines += ["", "Longest time from sending a poison item to its dead letter:"]
    lines += [
        f"- {r.scenario}, {r.guarantee}: {r.poison_delay:.2f}s"
        for r in results
        if r.poison_delay is not None
    ]
    return "\n".join(lines) + "\n"


def as_dict(result: Result) -> dict[str, Any]:
    """``result`` as JSON-ready data: a row of ``results.json``."""
    return {
        **{k: v for k, v in asdict(result).items() if k not in ("counts", "faults")},
        "counts": asdict(result.counts),
        "faults": [asdict(f) for f in result.faults],
        "recovery": result.recovery,
    }


def from_dict(data: dict[str, Any]) -> Result:
    """The :class:`Result` :func:`as_dict` gave (``recovery`` is computed again)."""
    fields = {k: v for k, v in data.items() if k not in ("counts", "faults", "recovery")}
    return Result(
        **fields,
        counts=Counts(**data["counts"]),
        faults=[Fault(**fault) for fault in data["faults"]],
    )


def write(results: Sequence[Result], folder: Path) -> None:
    """Writes ``results.json`` and ``results.md`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.md").write_text(markdown(results), encoding="utf-8")
    data = [as_dict(r) for r in results]
    (folder / "results.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
