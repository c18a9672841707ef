"""What every section of results.md shares: the variants' names and the table format."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ("NAMES", "fmt", "rtt_label", "table")

NAMES = {
    "stream": "stream",
    "faststream": "FastStream",
    "raw": "raw aiokafka loop",
    "raw_batch": "raw loop, record batches",
    "stream_traced": "stream + Tracing (SDK)",
    "stream_traced_sampled": "stream + Tracing (SDK, 1% sampled)",
    "stream_traced_api": "stream + Tracing (no SDK)",
    "stream_metrics": "stream, Metrics and --http on",
    "stream_observed": "stream + Tracing (1% sampled), Metrics and --http",
    "stream_c8": "stream, concurrency 8",
    "stream_io_c1": "stream, 1 ms I/O, concurrency 1",
    "stream_io_c8": "stream, 1 ms I/O, concurrency 8",
    "stream_eos": "stream, exactly-once",
}


def fmt(value: float | None, digits: int = 0, suffix: str = "") -> str:
    """A number with thousands separators, or ``-`` when there is none."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def rtt_label(rtt_ms: float) -> str:
    """How a round trip is named in headers: ``RTT 2 ms``."""
    return f"RTT {rtt_ms:g} ms"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A markdown table, followed by a blank line."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]
