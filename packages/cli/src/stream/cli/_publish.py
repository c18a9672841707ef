"""``stream publish``: send JSON messages to a topic, checked against its consumer's model."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stream.cli._brokers import BOOTSTRAP_ENV, check_broker, kafka_broker, service_transport
from stream.cli._errors import CliError, shown
from stream.cli._loading import load_service

if TYPE_CHECKING:
    from stream.core import OutgoingMessage, Service
    from stream.core.transport import ConsumerSpec, Transport

__all__ = ("STDIN", "PublishOptions", "parse_headers", "publish", "split_arguments")

_BATCH = 500
STDIN = "-"
"""The MESSAGE that means: one message per line of stdin."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PublishOptions:
    """What ``stream publish`` was asked to send.

    Attributes:
        target: ``MODULE:ATTR`` of the service whose broker and models to use, or ``None``.
        topic: Where the messages go.
        message: One JSON document, or ``"-"`` to read one per line from stdin.
        key: The key of every message, or ``None``.
        headers: ``(name, value)`` pairs added to every message.
        partition: A fixed partition, or ``None`` to let the key choose.
        bootstrap_servers: The broker's address (overrides the service's).
        app_dir: Folder put first on ``sys.path`` before importing the module.
        broker_timeout: Seconds to wait for the broker to answer.
    """

    target: str | None
    topic: str
    message: str
    key: str | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    partition: int | None = None
    bootstrap_servers: str | None = None
    app_dir: Path = Path()
    broker_timeout: float = 10.0


def split_arguments(arguments: Sequence[str]) -> tuple[str | None, str, str]:
    """``[MODULE:ATTR] TOPIC MESSAGE`` into its parts.

    Raises:
        CliError: not two or three arguments.
    """
    if len(arguments) == 3:
        return arguments[0], arguments[1], arguments[2]
    if len(arguments) == 2:
        return None, arguments[0], arguments[1]
    raise CliError(
        f"stream publish takes [MODULE:ATTR] TOPIC MESSAGE, got {len(arguments)} "
        "argument(s); quote the JSON message, e.g. '{\"data\": 0.5}'"
    )


def parse_headers(values: Sequence[str]) -> tuple[tuple[str, bytes], ...]:
    """``["trace=abc", ...]`` into header pairs.

    Raises:
        CliError: a value is not ``NAME=VALUE``.
    """
    headers = []
    for value in values:
        name, equals, text = value.partition("=")
        if not equals or not name:
            raise CliError(f"--header expects NAME=VALUE, got {shown(value)}")
        headers.append((name, text.encode()))
    return tuple(headers)


def publish(options: PublishOptions) -> int:
    """Sends ``options.message`` (or each stdin line) and reports how many went.

    Returns:
        0 once every message was acknowledged by the broker.

    Raises:
        CliError: the service cannot be loaded, a message does not match, or the broker
            does not answer.
    """
    import anyio

    service = load_service(options.target, options.app_dir) if options.target else None
    check = _checker(service, options.topic)
    if service is not None:
        transport = service_transport(service, options.bootstrap_servers)
    elif options.bootstrap_servers is not None:
        transport = kafka_broker(options.bootstrap_servers)
    else:
        raise CliError(
            f"give MODULE:ATTR of a service, or --bootstrap-servers (or {BOOTSTRAP_ENV}), "
            "to say where to publish"
        )
    if options.message != STDIN:
        # Before the broker is asked: a bad MESSAGE need not wait out its timeout.
        check(_encoded(options.message))
    lines: Iterator[tuple[int | None, str]] = (
        _stdin_lines() if options.message == STDIN else iter([(None, options.message)])
    )
    sent = anyio.run(_send, transport, options, lines, check, backend="asyncio")
    noun = "message" if sent == 1 else "messages"
    print(f"Published {sent} {noun} to {options.topic}", file=sys.stderr)
    return 0


async def _send(
    transport: Transport,
    options: PublishOptions,
    lines: Iterator[tuple[int | None, str]],
    check: Callable[[bytes], None],
) -> int:
    import anyio

    from stream.core import OutgoingMessage

    dev_hint = f"stream dev {options.target}" if options.target else "stream dev MODULE:ATTR"
    await check_broker(transport, options.broker_timeout, dev_hint=dev_hint)
    key = options.key.encode() if options.key is not None else None
    sent = 0
    await transport.start()
    try:
        batch: list[OutgoingMessage] = []
        while True:
            # The first line of a batch may block (a slow pipe); the rest are taken while
            # they are already there, so a file goes out in pipelined batches.
            item = await anyio.to_thread.run_sync(next, lines, None)
            problem = None
            if item is not None:
                number, text = item
                try:
                    check(_encoded(text))
                except CliError as error:
                    problem = f"stdin line {number}: {error}" if number is not None else str(error)
                else:
                    batch.append(
                        OutgoingMessage(
                            topic=options.topic,
                            value=_encoded(text),
                            key=key,
                            headers=options.headers,
                            partition=options.partition,
                        )
                    )
            last = item is None or problem is not None
            if batch and (last or len(batch) >= _BATCH or not _more_waiting()):
                await transport.publish_many(batch)
                sent += len(batch)
                batch = []
            if problem is not None:
                # What came before the bad line is sent, as it would be from a slow pipe.
                already = f" ({sent} earlier message(s) were sent)" if sent else ""
                raise CliError(f"{problem}{already}")
            if item is None:
                return sent
    finally:
        with anyio.CancelScope(shield=True):
            await transport.stop()


def _more_waiting() -> bool:
    # Only stdin can have more; a single MESSAGE never does.
    import select

    try:
        ready, _, _ = select.select([sys.stdin], [], [], 0)
    except (OSError, ValueError):
        return False
    return bool(ready)


def _stdin_lines() -> Iterator[tuple[int | None, str]]:
    # Bytes, decoded here: a line that is not UTF-8 is that line's error (see _encoded),
    # whatever the locale, and the lines before it are still sent.
    stdin = getattr(sys.stdin, "buffer", None)
    raw_lines = stdin if stdin is not None else (line.encode() for line in sys.stdin)
    for number, raw in enumerate(raw_lines, start=1):
        line = raw.decode(errors="surrogateescape")
        if line.strip():
            yield number, line.rstrip("\r\n")


def _encoded(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # An argument that was not UTF-8 arrives with surrogates standing for its bytes.
        raise CliError("MESSAGE is not UTF-8 text") from None


def _checker(service: Service | None, topic: str) -> Callable[[bytes], None]:
    """Checks a body against every handler of ``service`` consuming ``topic``; else as JSON.

    A body any of them reads as JSON must be JSON as every other reader of the topic
    understands it: Python's ``NaN`` and ``Infinity`` are refused even where the model
    would take them.
    """
    specs = _consumers(service, topic) if service is not None else ()

    def check(body: bytes) -> None:
        if not specs or any(spec.message_type not in (bytes, str) for spec in specs):
            _check_json(body)
        for spec in specs:
            try:
                spec.decode(body)
            except Exception as error:
                raise CliError(
                    f"the message does not fit {_type_name(spec.message_type)}, the model of "
                    f"{spec.qualname}: {_validation_text(error)}"
                ) from None

    return check


def _check_json(body: bytes) -> None:
    try:
        json.loads(body, parse_constant=_not_json)
    except RecursionError:
        raise CliError(
            "MESSAGE is nested too deeply to be read (hundreds of levels of [ or {)"
        ) from None
    except ValueError as error:  # JSONDecodeError, not UTF-8, an integer of 5,000 digits
        raise CliError(f"MESSAGE is not JSON: {error}") from None


def _not_json(constant: str) -> Any:
    raise ValueError(
        f"{constant} is not a JSON number (JSON has no NaN or Infinity; send null or a string)"
    )


def _consumers(service: Service, topic: str) -> tuple[ConsumerSpec, ...]:
    from stream.core import BindError
    from stream.core.transport import ConsumerSpec

    try:
        specs = type(service).handlers()
    except BindError as error:
        raise CliError(str(error)) from None
    return tuple(
        spec
        for spec in specs
        if isinstance(spec, ConsumerSpec)
        and (
            topic in spec.options.topics
            or (spec.options.pattern is not None and re.fullmatch(spec.options.pattern, topic))
        )
    )


def _validation_text(error: Exception) -> str:
    errors: Callable[[], list[dict[str, Any]]] | None = getattr(error, "errors", None)
    if errors is None:
        return str(error)
    parts = []
    for item in errors():
        location = ".".join(str(part) for part in item.get("loc", ())) or "message"
        parts.append(f"{location}: {item.get('msg')} (got {shown(item.get('input'))})")
    return "; ".join(parts)


def _type_name(annotation: object) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)
