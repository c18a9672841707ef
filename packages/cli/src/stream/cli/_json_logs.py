"""``stream run --log-format json``: one JSON object per log line, with the message's place.

Handler logs carry the coordinates of the message being handled (handler, topic,
partition, offset) through a context variable that a middleware sets around each
attempt; the CLI adds that middleware only with ``--log-format json``, so a service run
without it pays nothing. The trace id comes from OpenTelemetry's current span when
``opentelemetry-api`` is installed and a span is active (e.g. under stream's tracing
middleware).
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from stream.core import CallNext, Message, Middleware, Service
from stream.core.transport import ConsumerSpec

__all__ = ("JsonFormatter", "LogContext", "add_log_context", "name_service")

_handling: ContextVar[tuple[str, Message] | None] = ContextVar("stream_cli_handling", default=None)


class LogContext(Middleware):
    """Makes the handler and message being handled known to :class:`JsonFormatter`."""

    def for_handler(self, handler: ConsumerSpec) -> Middleware:
        """The middleware for ``handler``, which names it on every log line."""
        return _HandlerLogContext(handler.qualname)


class _HandlerLogContext(Middleware):
    def __init__(self, name: str) -> None:
        self._name = name

    async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
        token = _handling.set((self._name, message))
        try:
            return await call_next()
        finally:
            _handling.reset(token)


def add_log_context(service: Service) -> None:
    """Adds :class:`LogContext` innermost of ``service``'s middlewares, for this instance."""
    # An instance attribute: the class, and other instances of it, stay as they were.
    setattr(service, "middlewares", (*service.middlewares, LogContext()))  # noqa: B010


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: ``time`` (UTC, ISO 8601), ``level``,
    ``logger``, ``message``, and when known ``service``, ``worker``, ``handler``,
    ``topic``, ``partition``, ``offset``, ``trace_id`` and ``exception``.

    Args:
        service: The service's name, on every line.
        worker: The worker number under ``--workers``.
    """

    def __init__(self, service: str | None = None, worker: int | None = None) -> None:
        super().__init__()
        self.service = service
        self._worker = worker
        self._trace_id = _trace_id_reader()

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": _utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.service is not None:
            line["service"] = self.service
        if self._worker is not None:
            line["worker"] = self._worker
        handling = _handling.get()
        if handling is not None:
            handler, message = handling
            line["handler"] = handler
            line["topic"] = message.topic
            line["partition"] = message.partition
            line["offset"] = message.offset
        trace_id = self._trace_id()
        if trace_id is not None:
            line["trace_id"] = trace_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def name_service(name: str) -> None:
    """Names the service on the lines of every JSON handler of the root logger."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter):
            handler.formatter.service = name


def _utc_time(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def _trace_id_reader() -> Callable[[], str | None]:
    try:
        # Optional, and without a dependency on it: imported by name.
        trace = importlib.import_module("opentelemetry.trace")
    except ImportError:
        return lambda: None

    def current_trace_id() -> str | None:
        context = trace.get_current_span().get_span_context()
        return format(context.trace_id, "032x") if context.is_valid else None

    return current_trace_id
