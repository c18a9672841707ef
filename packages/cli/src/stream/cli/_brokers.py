"""Which broker a command talks to, and whether it answers.

The service's transport is treated through core's ``Transport`` interface only: an
address override goes through the transport's own ``with_bootstrap(servers)`` method,
so any transport that has one works. ``stream.kafka`` is imported only to build a Kafka
broker for a command that has no service to take one from.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from stream.cli._errors import CliError

if TYPE_CHECKING:
    from stream.core import Service
    from stream.core.transport import Transport

__all__ = (
    "BOOTSTRAP_ENV",
    "addresses",
    "broker_answers",
    "check_broker",
    "kafka_broker",
    "service_transport",
)

BOOTSTRAP_ENV = "STREAM_KAFKA_BOOTSTRAP"
"""The environment variable ``--bootstrap-servers`` falls back to."""

_KAFKA_MISSING = (
    "needs stream-kafka; install it with `pip install 'stream-cli[kafka]'` "
    "(or `uv add stream-kafka`)"
)


def kafka_broker(bootstrap_servers: str) -> Transport:
    """A ``stream.kafka.KafkaBroker`` for ``bootstrap_servers``.

    Raises:
        CliError: stream-kafka is not installed.
    """
    try:
        from stream.kafka import KafkaBroker
    except ImportError:
        raise CliError(f"talking to Kafka at {bootstrap_servers} {_KAFKA_MISSING}") from None
    broker: Transport = KafkaBroker(bootstrap_servers)
    return broker


def service_transport(service: Service, bootstrap_servers: str | None) -> Transport:
    """The transport ``service`` runs on, at ``bootstrap_servers`` when given.

    Raises:
        CliError: the service has no broker and no address was given, or its broker
            cannot change address.
    """
    from stream.core.transport import Transport

    name = type(service).__name__
    broker = getattr(service, "broker", None)
    if broker is None:
        if bootstrap_servers is None:
            raise CliError(
                f'{name} has no broker; set `broker = KafkaBroker("localhost:9092")` on the '
                f"class, or pass --bootstrap-servers (or set {BOOTSTRAP_ENV})"
            )
        return kafka_broker(bootstrap_servers)
    if not isinstance(broker, Transport):
        raise CliError(
            f"{name}.broker is a {type(broker).__name__}, not a stream Transport; "
            "set it to a broker such as KafkaBroker(...)"
        )
    if bootstrap_servers is None:
        return broker
    with_bootstrap = getattr(broker, "with_bootstrap", None)
    if not callable(with_bootstrap):
        raise CliError(
            f"--bootstrap-servers: {name}'s broker ({type(broker).__name__}) has no address "
            "to change; drop the option or give the service a KafkaBroker"
        )
    moved = with_bootstrap(bootstrap_servers)
    if not isinstance(moved, Transport):
        raise CliError(
            f"{type(broker).__name__}.with_bootstrap returned a {type(moved).__name__}, "
            "not a Transport"
        )
    return moved


def addresses(transport: Transport) -> str:
    """Where ``transport`` connects, for messages: ``"localhost:9092"``."""
    try:
        servers = transport.describe().servers
    except Exception:
        servers = ()
    return ", ".join(server.host for server in servers) or type(transport).__name__


async def broker_answers(transport: Transport, timeout: float) -> bool:
    """Whether ``transport``'s broker answers within about ``timeout`` seconds."""
    import anyio

    # A client library logs each refused connection; the caller says it in one line, so
    # keep those quiet unless the user asked for debug output.
    quiet = not logging.getLogger().isEnabledFor(logging.DEBUG)
    if quiet:
        logging.disable(logging.ERROR)
    try:
        # A second of slack: ping owns the timeout; this only bounds a ping that ignores it.
        with anyio.move_on_after(timeout + 1.0):
            try:
                return await transport.ping(timeout)
            except Exception:
                return False
        return False
    finally:
        if quiet:
            logging.disable(logging.NOTSET)


async def check_broker(transport: Transport, timeout: float, *, dev_hint: str) -> None:
    """Raises ``CliError`` unless ``transport``'s broker answers within ``timeout`` seconds.

    Args:
        transport: The broker to ask.
        timeout: Seconds to wait.
        dev_hint: The ``stream dev ...`` command that would start a local broker.
    """
    if await broker_answers(transport, timeout):
        return
    where = addresses(transport)
    port = where.rsplit(":", 1)[-1] if ":" in where else ""
    launcher = "python -m stream.kafka_local" + (f" --port {port}" if port.isdigit() else "")
    raise CliError(
        f"no broker answered at {where} within {timeout:g} s; start one with `{dev_hint}` "
        f"(runs a local Kafka) or `{launcher}`, or point --bootstrap-servers "
        f"(or {BOOTSTRAP_ENV}) at yours"
    )
