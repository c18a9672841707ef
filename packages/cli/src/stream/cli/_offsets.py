"""``stream offsets show|reset``: where each handler's consumer group is, and moving it.

The groups come from the service's handlers (``<Class>.<method>``, ``<name>.<method>``
or the handler's own ``group_id``), so the user names the service, not the groups. A
reset is a plan unless ``--execute`` is given, as with Kafka's own
``kafka-consumer-groups.sh --reset-offsets``, and is refused while the group has members.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from stream.cli._brokers import check_broker, service_transport
from stream.cli._errors import CliError, shown
from stream.cli._loading import load_service

if TYPE_CHECKING:
    from stream.core import Service
    from stream.kafka import KafkaBroker, ResetTo

__all__ = ("HandlerGroup", "OffsetsOptions", "handler_groups", "parse_reset_to", "reset", "show")


@dataclass(frozen=True, kw_only=True, slots=True)
class OffsetsOptions:
    """What ``stream offsets show`` / ``reset`` was asked.

    Attributes:
        target: ``MODULE:ATTR`` of the service.
        handler: Only this handler's group, or ``None`` for every one (``show``).
        bootstrap_servers: Broker address overriding the service's, or ``None``.
        app_dir: Folder put first on ``sys.path`` before importing ``MODULE``.
        broker_timeout: Seconds to wait for the broker to answer.
    """

    target: str
    handler: str | None = None
    bootstrap_servers: str | None = None
    app_dir: Path = Path()
    broker_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class HandlerGroup:
    """One consuming handler's consumer group and the topics it names (none: a pattern)."""

    handler: str
    group_id: str
    topics: tuple[str, ...]


def handler_groups(service: Service, handler: str | None) -> list[HandlerGroup]:
    """The groups of ``service``'s consuming handlers, or of the one named ``handler``.

    Raises:
        CliError: the service consumes nothing, or has no such handler.
    """
    from stream.core.transport import ConsumerSpec

    groups = [
        HandlerGroup(spec.name, spec.group_id, spec.topics)
        for spec in type(service).handlers()
        if isinstance(spec, ConsumerSpec)
    ]
    name = type(service).__name__
    if not groups:
        raise CliError(f"{name} has no @consume handler, so no consumer group")
    if handler is None:
        return groups
    chosen = [group for group in groups if group.handler == handler]
    if not chosen:
        names = ", ".join(group.handler for group in groups)
        raise CliError(f"{name} has no consuming handler {shown(handler)}; it has {names}")
    return chosen


def parse_reset_to(text: str) -> ResetTo:
    """``earliest``, ``latest``, an offset (``42``) or an ISO 8601 time with a zone.

    Raises:
        CliError: none of these.
    """
    if text in ("earliest", "latest"):
        return text  # type: ignore[return-value]  # the Literal is checked just above
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CliError(
            f"--to {shown(text)}: give earliest, latest, an offset (e.g. 42) or an ISO 8601 "
            "time with its zone (e.g. 2026-11-30T12:00:00Z)"
        )
    return moment


def show(options: OffsetsOptions) -> int:
    """Prints, per handler's group: each partition's committed offset, end offset and lag."""
    service, broker = _open(options)
    groups = handler_groups(service, options.handler)

    async def report() -> None:
        from stream.kafka import ConsumerGroups

        await check_broker(broker, options.broker_timeout, dev_hint=f"stream dev {options.target}")
        async with ConsumerGroups(broker) as admin:
            for group in groups:
                members = await admin.members(group.group_id)
                lags = await admin.lag(group.group_id, group.topics)
                print(_title(group, f"{len(members)} member(s)"))
                rows = [
                    (lag.topic, lag.partition, _number(lag.committed), lag.end, _number(lag.lag))
                    for lag in lags
                ]
                print(_table(("TOPIC", "PARTITION", "COMMITTED", "END", "LAG"), rows))

    _run(report)
    return 0


def reset(options: OffsetsOptions, to: ResetTo, *, execute: bool) -> int:
    """Prints the plan of resetting the handler's group to ``to``; commits it with ``execute``.

    Raises:
        CliError: the service has several consuming handlers and none was chosen.
    """
    service, broker = _open(options)
    groups = handler_groups(service, options.handler)
    if len(groups) > 1:
        names = ", ".join(group.handler for group in groups)
        raise CliError(
            f"{type(service).__name__} has {len(groups)} consuming handlers ({names}); "
            "choose the one whose group to reset with --handler NAME"
        )
    [group] = groups

    async def plan_and_reset() -> None:
        from stream.kafka import ConsumerGroups

        await check_broker(broker, options.broker_timeout, dev_hint=f"stream dev {options.target}")
        async with ConsumerGroups(broker) as admin:
            plan = await admin.plan_reset(group.group_id, group.topics, to)
            print(_title(group, f"to {_shown_target(to)}"))
            rows = [(r.topic, r.partition, _number(r.current), r.new) for r in plan]
            print(_table(("TOPIC", "PARTITION", "COMMITTED", "NEW"), rows))
            if execute:
                await admin.reset(group.group_id, plan)
                print("Committed: the group reads from NEW at its next start.")
                return
            members = await admin.members(group.group_id)
            running = (
                f" It has {len(members)} member(s) now: stop the service first." if members else ""
            )
            print(f"Dry run: nothing changed. Add --execute to commit these offsets.{running}")

    _run(plan_and_reset)
    return 0


def _open(options: OffsetsOptions) -> tuple[Service, KafkaBroker]:
    service = load_service(options.target, options.app_dir)
    transport = service_transport(service, options.bootstrap_servers)
    try:
        from stream.kafka import KafkaBroker
    except ImportError:
        raise CliError(
            "stream offsets needs stream-kafka; install it with `pip install 'stream-cli[kafka]'`"
        ) from None
    if not isinstance(transport, KafkaBroker):
        raise CliError(
            f"{type(service).__name__}'s broker is a {type(transport).__name__}; consumer "
            "group offsets are Kafka's: give the service a KafkaBroker"
        )
    return service, transport


def _run(work: Callable[[], Awaitable[None]]) -> None:
    from stream.kafka import KafkaTransportError

    try:
        anyio.run(work)
    except KafkaTransportError as error:
        raise CliError(str(error)) from None


def _title(group: HandlerGroup, detail: str) -> str:
    return f"group {group.group_id} (handler {group.handler}), {detail}:"


def _shown_target(to: ResetTo) -> str:
    return to.isoformat() if isinstance(to, datetime) else str(to)


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    if not rows:
        return "  (no partitions: the group has committed nothing on a topic that exists)"
    cells = [list(header), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )
