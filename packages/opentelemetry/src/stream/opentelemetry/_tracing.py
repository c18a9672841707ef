"""``Tracing``: a consumer span per attempt, a producer span per record, W3C trace context
carried in Kafka headers from every input to every output and dead letter."""

from __future__ import annotations

import copy
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from stream.core import CallNext, Message, Middleware, OutgoingMessage
from stream.core.transport import ConsumerSpec
from stream.opentelemetry._attributes import created, processed
from stream.opentelemetry._headers import HEADER_GETTER, HEADER_SETTER, HeaderList

__all__ = ("Tracing",)

_SCOPE = "stream.opentelemetry"


class Tracing(Middleware):
    """Traces a service with OpenTelemetry, following the messaging semantic conventions.

    Each attempt of a handler is a ``CONSUMER`` span (``process <topic>``), the child of
    the trace context its input carries (W3C ``traceparent``/``tracestate`` headers, read
    with the globally configured propagator). Each record sent is a ``PRODUCER`` span
    (``create <topic>``), the child of the attempt that made it (or of the span current
    where ``Publisher`` is called), and carries that span's context in its headers: the
    handler's outputs, its dead letters, and what the service publishes. A failed attempt's
    span has status ``ERROR`` and the exception recorded; a retry is a span of its own.

    Without an OpenTelemetry SDK configured the spans record nothing, and the input's
    trace context still passes on to the outputs.

    Args:
        tracer_provider: Where spans go; ``None`` uses the global one (set by the SDK's
            ``trace.set_tracer_provider``).

    Example:
        >>> class Service(core.Service):
        ...     middlewares = (Tracing(),)
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        self._group: str | None = None
        self._batch = False
        # The last attempt's span, for the outputs and dead letters built right after it
        # in the same task (set where handle returns: a coroutine's context is its
        # caller's). Paired with its message, so another message's records never take it.
        self._attempt: ContextVar[tuple[Message, Context] | None] = ContextVar(
            "stream.opentelemetry.attempt", default=None
        )

    def for_handler(self, spec: ConsumerSpec) -> Tracing:
        bound = copy.copy(self)
        bound._group = spec.group_id
        bound._batch = spec.options.batch
        return bound

    async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
        parent = propagate.extract(message.headers, getter=HEADER_GETTER)
        span = self._tracer.start_span(
            f"process {message.topic}", context=parent, kind=SpanKind.CONSUMER
        )
        if span.is_recording():
            # Computed only for a span that keeps them: the hot path without an SDK.
            size = len(body) if self._batch and isinstance(body, list) else None
            span.set_attributes(processed(message, self._group, size))
        self._attempt.set((message, trace.set_span_in_context(span, parent)))
        # end_on_exit is ours to do (after the status), record_exception the SDK's.
        with trace.use_span(span, end_on_exit=True, set_status_on_exception=False):
            try:
                return await call_next()
            except Exception as error:
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                span.set_attribute("error.type", _qualified_name(error))
                raise

    def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        parent = self._parent_of(record, source)
        span = self._tracer.start_span(
            f"create {record.topic}", context=parent, kind=SpanKind.PRODUCER
        )
        if span.is_recording():
            span.set_attributes(created(record))
        headers: HeaderList = list(record.headers)
        propagate.inject(headers, context=trace.set_span_in_context(span), setter=HEADER_SETTER)
        span.end()
        return replace(record, headers=tuple(headers))

    def _parent_of(self, record: OutgoingMessage, source: Message | None) -> Context | None:
        if source is None:
            if trace.get_current_span().get_span_context().is_valid:
                return None  # the current context: a handler's attempt, or the caller's
            # Outside any span, a traceparent the caller set (bridging from HTTP, say).
            return propagate.extract(record.headers, getter=HEADER_GETTER)
        attempt = self._attempt.get()
        if attempt is not None and attempt[0] is source:
            return attempt[1]
        # A record for an input no attempt was made for (it could not be decoded).
        return propagate.extract(source.headers, getter=HEADER_GETTER)


def _qualified_name(error: BaseException) -> str:
    kind = type(error)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
