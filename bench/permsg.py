"""stream's own CPU per message, without a broker: ``python -m bench.permsg``.

The Kafka loop's path from aiokafka's records to the outputs it sends: ``messages_of``
hands a fetched chunk to the core's record handler of the bench job's service (validate
``DataBasic``, add one, encode), which returns the outputs. The records are aiokafka's own
``ConsumerRecord``s, built once, as the harness preloads them (no key, no headers); chunks
of 500, as one ``getmany`` gives. No socket, no event-loop wait: what is left is the
per-message work a broker run pays on top of aiokafka's fetch and send.

Each round times N messages on the process's CPU clock; the rounds repeat and the table
gives the fastest and the median. To compare two trees, run each in turns (``--rounds``
per process, several processes), e.g. with ``PYTHONPATH`` naming the other tree's
``packages/core/src`` and ``packages/kafka/src``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import anyio
from aiokafka.structs import ConsumerRecord

from bench.models import DataBasic, bump
from stream import core
from stream.core import consume, produce
from stream.core.transport import RecordHandler, Subscription
from stream.kafka import KafkaBroker
from stream.kafka._loop import messages_of

__all__ = ("main", "per_message_us")

_CHUNK = 500
_PAYLOAD = b'{"data": 0.5}'


class _Capture(KafkaBroker):
    """A Kafka broker that never connects: it keeps the record handler it is given, and
    judges outputs (``refusal``, their size) as a running one does."""

    def __init__(self) -> None:
        super().__init__("localhost:9092")
        self.handler: RecordHandler | None = None

    def subscribe(self, subscription: Subscription, handler: RecordHandler) -> None:
        self.handler = handler

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class BenchJob(core.Service):
    """The bench job's service (``bench/variants/stream_app.py``), without a broker."""

    @produce("output_data")
    @consume("input_data")
    async def on_input_data(self, msg: DataBasic) -> DataBasic:
        """Adds one."""
        return bump(msg)


def _chunks(messages: int) -> list[list[Any]]:
    records = [
        ConsumerRecord("input_data", 0, offset, 0, 0, None, _PAYLOAD, None, -1, len(_PAYLOAD), ())
        for offset in range(messages)
    ]
    return [records[i : i + _CHUNK] for i in range(0, messages, _CHUNK)]


async def per_message_us(
    messages: int, rounds: int, job: type[core.Service] = BenchJob
) -> list[float]:
    """CPU microseconds per message of each round of ``messages``, through ``job`` (the
    bench job's service, or a subclass of it with middlewares)."""
    transport = _Capture()
    service = job()
    await service.start(transport)
    try:
        handler = transport.handler
        assert handler is not None
        chunks = _chunks(messages)
        results = []
        for _ in range(rounds):
            started = time.process_time()
            for chunk in chunks:
                outputs = await handler(messages_of(chunk))
                assert len(outputs) == len(chunk)
            results.append((time.process_time() - started) / messages * 1e6)
        return results
    finally:
        await service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (the first warms up)")
    args = parser.parse_args()
    results = anyio.run(per_message_us, args.messages, args.rounds)
    measured = results[1:] or results
    print(
        f"per message: {min(measured):.2f} us best, {statistics.median(measured):.2f} us median"
        f" ({len(measured)} rounds of {args.messages:,}; CPU time, messages_of + the handler)"
    )


if __name__ == "__main__":
    main()
