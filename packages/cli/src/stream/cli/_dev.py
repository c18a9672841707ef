"""``stream dev``: ``run --reload``, plus a local Kafka when no broker answers.

The supervisor loads the service once to learn its broker's address and asks it. When
nothing answers, it starts ``stream.kafka_local``'s single-node broker: on the same port when
the address is on this machine and the port is free, else on a free port, and then
points the service there with ``--bootstrap-servers``. The broker stops when ``stream
dev`` does.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from stream.cli._brokers import addresses, broker_answers
from stream.cli._errors import CliError
from stream.cli._logs import configure_logging, logger
from stream.cli._options import RunOptions
from stream.cli._reload import run_with_reload
from stream.cli._runner import prepare

if TYPE_CHECKING:
    from stream.core.transport import Transport

__all__ = ("PING_TIMEOUT", "local_kafka", "run_dev")

PING_TIMEOUT = 3.0
"""Seconds to wait for a broker before starting a local one."""

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"})  # noqa: S104


def run_dev(options: RunOptions) -> int:
    """Runs the service with reload, starting a local Kafka first when none answers.

    Returns:
        The reloader's exit code.
    """
    import anyio

    configure_logging(options.log_level)
    transport = prepare(options).transport
    if anyio.run(broker_answers, transport, PING_TIMEOUT, backend="asyncio"):
        return run_with_reload(options)
    with local_kafka(transport) as bootstrap_servers:
        return run_with_reload(replace(options, bootstrap_servers=bootstrap_servers))


@contextlib.contextmanager
def local_kafka(transport: Transport) -> Iterator[str]:
    """Starts a local single-node Kafka for ``transport``'s address; yields where it runs.

    Raises:
        CliError: stream-kafka-local is missing, or the broker could not start (no Java 17+,
            no Maven, ...).
    """
    try:
        from stream.kafka_local import LauncherError, LocalKafka, LocalKafkaConfig
    except ImportError:
        raise CliError(
            "no broker answered, and starting a local one needs stream-kafka-local; install it "
            "with `pip install 'stream-cli[kafka]'`"
        ) from None
    wanted = addresses(transport).split(",")[0].strip()
    port = _local_free_port(wanted)
    logger.info(
        "No broker answered at %s; starting a local Kafka%s (the first run downloads it)",
        wanted,
        f" on port {port}" if port is not None else "",
    )
    kafka = LocalKafka(LocalKafkaConfig(port=port))
    try:
        kafka.start()
    except LauncherError as error:
        raise CliError(f"could not start a local Kafka: {error}") from None
    try:
        logger.info("Local Kafka ready at %s", kafka.bootstrap_servers)
        yield kafka.bootstrap_servers
    finally:
        logger.info("Stopping the local Kafka")
        kafka.stop()


def _local_free_port(address: str) -> int | None:
    """The port of ``address`` when it is on this machine and free, else ``None``."""
    host, _, port = address.rpartition(":")
    if host not in _LOCAL_HOSTS or not port.isdigit():
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", int(port)))
        except OSError:
            return None  # taken by something that is not a Kafka broker
    return int(port)
