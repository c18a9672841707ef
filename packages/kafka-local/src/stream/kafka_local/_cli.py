"""The ``python -m stream.kafka_local`` command: run a broker until told to stop."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from stream.kafka_local._broker import LocalKafka
from stream.kafka_local._config import LocalKafkaConfig
from stream.kafka_local._jars import LauncherError

__all__ = ("run",)


def run(argv: Sequence[str] | None = None) -> int:
    """Run a broker until SIGINT/SIGTERM; print ``STREAM_KAFKA_BOOTSTRAP=...`` once ready.

    Args:
        argv: Command-line arguments (without the program name); defaults to ``sys.argv``.

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(
        prog="python -m stream.kafka_local",
        description="Run a local single-node Apache Kafka broker.",
    )
    parser.add_argument("--port", type=int, default=None, help="client port (default: free)")
    parser.add_argument("--partitions", type=int, default=1, help="num.partitions")
    parser.add_argument(
        "--kafka-version",
        default=LocalKafkaConfig.kafka_version,
        help="Apache Kafka version (default: %(default)s)",
    )
    parser.add_argument("--keep-data", action="store_true", help="keep data and logs on exit")
    args = parser.parse_args(argv)
    config = LocalKafkaConfig(
        port=args.port,
        partitions=args.partitions,
        kafka_version=args.kafka_version,
        keep_data=args.keep_data,
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    kafka = LocalKafka(config)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        kafka.start()
        if stopping.is_set():
            return 0
        print(f"STREAM_KAFKA_BOOTSTRAP={kafka.bootstrap_servers}", flush=True)
        while not stopping.wait(0.5):
            if kafka.pid is None:
                print("error: the local Kafka broker exited", file=sys.stderr, flush=True)
                return 1
        return 0
    except LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        kafka.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
