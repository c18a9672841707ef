"""``python -m bench.reject``: what rejecting a hostile body costs, in its own process.

A body ``{"items": ["x", ...]}`` against ``items: list[int]`` fails once per element. For
each size: seconds the event loop spends rejecting it (decode, error text, dead letter)
on the in-memory broker, and the process's peak RSS above what it had before (pydantic
builds its errors outside Python's allocator, so tracemalloc does not see them).
"""

from __future__ import annotations

import json
import logging
import resource
import subprocess
import sys
import time

import anyio
from pydantic import BaseModel

from stream.core import Service, consume
from stream.testing import MemoryBroker, TestBroker, records

SIZES = (250_000, 1_000_000, 5_000_000)


class Items(BaseModel):
    items: list[int]


class Rejecting(Service):
    @consume("in")
    async def handle(self, msg: Items) -> None: ...


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _reject(size: int) -> None:
    body = json.dumps({"items": ["x"] * (size // 5)}).encode()
    async with TestBroker(Rejecting(), broker=MemoryBroker(raise_handler_errors=False)) as svc:
        before = _peak_rss_mb()
        started = time.perf_counter()
        await svc.publish(body, "in")
        seconds = time.perf_counter() - started
        header = records(svc, "in.dlq")[0].header("stream.error.message") or b""
    print(
        f"{len(body) / 1e6:5.2f} MB: {seconds:6.3f} s on the loop, "
        f"+{_peak_rss_mb() - before:6.1f} MB peak RSS, error header {len(header)} B"
    )


def main() -> None:
    """Runs each size in a fresh process, so one's memory does not hide the next's."""
    if len(sys.argv) > 1:
        logging.disable(logging.CRITICAL)
        anyio.run(_reject, int(sys.argv[1]))
        return
    for size in SIZES:
        subprocess.run([sys.executable, "-m", "bench.reject", str(size)], check=True)


if __name__ == "__main__":
    main()
