"""The service under test, run as its own OS process: ``python -m tests.chaos.pipeline``.

It echoes every numbered item to the output topic, keyed as it came, through
``stream.core`` and ``stream.kafka`` as a user would write it. Its handler also misbehaves
on purpose: a poison item always raises, and a few items (chosen by a seeded hash, so
every process agrees) raise once or twice before they succeed: transient failures
within the retry budget.

Configuration comes as JSON in ``STREAM_CHAOS_CONFIG`` (see :class:`PipelineConfig`).
SIGTERM and SIGINT stop the service gracefully; SIGKILL is the crash the harness causes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import signal
import sys
from dataclasses import asdict, dataclass

import anyio
from pydantic import BaseModel

from stream.core import DeliveryPolicy, Guarantee, Retry, Service, consume, produce
from stream.kafka import ConsumerOptions, KafkaBroker

__all__ = (
    "CONFIG_VARIABLE",
    "RETRY",
    "Echo",
    "Item",
    "PipelineConfig",
    "PoisonError",
    "TransientError",
    "build_service",
    "main",
    "transient_failures",
)

CONFIG_VARIABLE = "STREAM_CHAOS_CONFIG"

RETRY = Retry(attempts=3, backoff=0.01, multiplier=2.0, max_backoff=0.05)
"""The retry budget: a poison item is dead-lettered after three tries (30 ms of backoff)."""


class Item(BaseModel):
    """One numbered input: ``seq`` counts up per ``key``; ``t`` is when it was sent."""

    key: str
    seq: int
    t: float
    poison: bool = False


class Echo(BaseModel):
    """The output of one item, naming the worker process that handled it."""

    key: str
    seq: int
    t: float
    worker: str


class PoisonError(RuntimeError):
    """Raised for every try of a poison item."""


class TransientError(RuntimeError):
    """Raised for the first try (or two) of a few items."""


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """What one worker process runs.

    Attributes:
        bootstrap: The broker.
        source: The input topic.
        target: The output topic.
        group: The consumer group every worker shares.
        guarantee: ``"at_least_once"`` or ``"exactly_once"``.
        worker: This process's name, written into every output.
        transient_rate: The share of items that fail once or twice before succeeding.
        seed: Seeds which items fail transiently.
        concurrency: ``@consume(concurrency=...)``.
        session_timeout_ms: The consumer's session timeout: how soon a killed worker's
            partitions move on.
    """

    bootstrap: str
    source: str
    target: str
    group: str
    guarantee: str
    worker: str
    transient_rate: float = 0.0
    seed: int = 0
    concurrency: int = 1
    session_timeout_ms: int = 6000

    def to_env(self) -> str:
        """The JSON for ``STREAM_CHAOS_CONFIG``."""
        return json.dumps(asdict(self))


def transient_failures(config: PipelineConfig, item: Item) -> int:
    """How many tries of ``item`` fail before one succeeds: 0, or 1..attempts-1.

    A hash, not a random draw, so a restarted process fails the same items again.
    """
    digest = hashlib.blake2b(f"{config.seed}/{item.key}/{item.seq}".encode(), digest_size=8)
    draw = int.from_bytes(digest.digest(), "big") / 2**64
    if draw >= config.transient_rate:
        return 0
    return 1 + int(draw / config.transient_rate * (RETRY.attempts - 1))


def build_service(config: PipelineConfig) -> Service:
    """The pipeline service for ``config`` (topics are only known at run time)."""
    delivery = DeliveryPolicy(guarantee=Guarantee(config.guarantee), retry=RETRY)
    kafka = KafkaBroker(
        config.bootstrap,
        client_id="chaos",
        consumer=ConsumerOptions(
            session_timeout_ms=config.session_timeout_ms,
            heartbeat_interval_ms=max(100, config.session_timeout_ms // 6),
        ),
        shutdown_timeout=20.0,
    )
    tries: dict[tuple[str, int], int] = {}

    class Pipeline(Service):
        broker = kafka

        async def after_startup(self) -> None:
            print("ready", flush=True)  # the harness waits for this line

        @produce(config.target)
        @consume(
            config.source,
            group_id=config.group,
            concurrency=config.concurrency,
            delivery=delivery,
        )
        async def on_item(self, item: Item) -> Echo:
            if item.poison:
                raise PoisonError(f"poison item {item.key}/{item.seq}")
            failures = transient_failures(config, item)
            if failures:
                done = tries.get((item.key, item.seq), 0)
                if done < failures:
                    tries[item.key, item.seq] = done + 1
                    raise TransientError(f"transient failure {done + 1} of {failures}")
            return Echo(
                key=item.key, seq=item.seq, t=item.t, worker=f"{config.worker}:{os.getpid()}"
            )

    return Pipeline()


async def _run(service: Service) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.request_stop)
    await service.run()


def main() -> int:
    """Runs the pipeline until SIGTERM/SIGINT; exit code 1 if the service failed."""
    config = PipelineConfig(**json.loads(os.environ[CONFIG_VARIABLE]))
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s {config.worker} %(levelname)s %(name)s %(message)s",
    )
    # aiokafka's per-retry chatter during a broker restart drowns the service's own log.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    try:
        anyio.run(_run, build_service(config), backend="asyncio")
    except Exception:
        logging.getLogger("chaos").exception("the service failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
