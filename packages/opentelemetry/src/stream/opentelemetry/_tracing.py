"""``Tracing``: a consumer span per attempt, a producer span per record, W3C trace context
carried in Kafka headers from every input to every output and dead letter."""

from __future__ import annotations

import copy
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode

from stream.core import CallNext, Message, Middleware, OutgoingMessage
from stream.core.transport import ConsumerSpec, HeaderItems
from stream.opentelemetry._attributes import created, processed
from stream.opentelemetry._headers import HEADER_GETTER, HEADER_SETTER, HeaderList
from stream.opentelemetry._propagation import headers_of_span, injected
from stream.opentelemetry._sampling import SpanStarter, span_starter

__all__ = ("Tracing",)

_SCOPE = "stream.opentelemetry"
# What a tracer provider is before an SDK is configured: spans would record nothing.
_NO_SDK = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_NO_PARENT = Context()
# Looked up once: an Enum member read through its class costs 0.1 µs, twice a message.
_CONSUMER, _PRODUCER = SpanKind.CONSUMER, SpanKind.PRODUCER


class Tracing(Middleware):
    """Traces a service with OpenTelemetry, following the messaging semantic conventions.

    Each attempt of a handler is a ``CONSUMER`` span (``process <topic>``), the child of
    the trace context its input carries (W3C ``traceparent``/``tracestate`` headers, read
    with the globally configured propagator). Each record sent is a ``PRODUCER`` span
    (``create <topic>``), the child of the attempt that made it (or of the span current
    where ``Publisher`` is called), and carries that span's context in its headers: the
    handler's outputs, its dead letters, and what the service publishes. A failed attempt's
    span has status ``ERROR`` and the exception recorded; a retry is a span of its own.

    Without an OpenTelemetry SDK it makes no spans: the input's trace headers pass on to
    the outputs as they are, so a trace goes on through a service that does not record it.

    Args:
        tracer_provider: Where spans go; ``None`` uses the global one, which the SDK's
            ``trace.set_tracer_provider`` sets: at import, or in ``on_startup`` at the
            latest (Tracing looks once, at the first message or record it sees).

    Example:
        >>> class Service(core.Service):
        ...     middlewares = (Tracing(),)
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._provider = tracer_provider
        self._tracer: SpanStarter | None = None
        self._decided = False
        self._group: str | None = None
        self._batch = False
        # The last attempt's span, for the outputs and dead letters built right after it
        # in the same task (set where handle returns: a coroutine's context is its
        # caller's). Paired with its message, so another message's records never take it.
        self._attempt: ContextVar[_Attempt | None] = ContextVar(
            "stream.opentelemetry.attempt", default=None
        )

    def for_handler(self, spec: ConsumerSpec) -> Tracing:
        bound = copy.copy(self)
        bound._group = spec.group_id
        bound._batch = spec.options.batch
        return bound

    async def handle(self, message: Message, body: Any, call_next: CallNext) -> Any:
        tracer = self._tracer if self._decided else self._decide()
        if tracer is None:
            return await call_next()
        parent = _extracted(message)
        span = tracer.start_span(f"process {message.topic}", context=parent, kind=_CONSUMER)
        recording = span.is_recording()
        if recording:
            # Computed only for a span that keeps them (sampled): none for the others.
            size = len(body) if self._batch and isinstance(body, list) else None
            span.set_attributes(processed(message, self._group, size))
        attempt = trace.set_span_in_context(span, parent)
        # Not sampled: no producer span to make (ParentBased, the SDK's default, keeps no
        # child), so each record carries the attempt's own context.
        context = span.get_span_context()
        dropped = context if context.is_valid and not context.trace_flags.sampled else None
        self._attempt.set(_Attempt(message, attempt, dropped, alone=parent is _NO_PARENT))
        # By hand rather than trace.use_span: this runs once per message.
        token = otel_context.attach(attempt)
        try:
            return await call_next()
        except Exception as error:
            if recording:
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
                span.set_attribute("error.type", _qualified_name(error))
                span.record_exception(error)
            raise
        finally:
            otel_context.detach(token)
            span.end()

    def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        tracer = self._tracer if self._decided else self._decide()
        if tracer is None:
            return _passed_on(record, source)
        attempt = self._attempt.get() if source is not None else None
        if attempt is not None and attempt.message is source and attempt.dropped is not None:
            # The usual record of a trace the sampler did not keep (99 in 100 at 1%):
            # its attempt's context, injected once for all the attempt's records.
            return _stamped(record, attempt.trace_headers())
        parent = self._parent_of(record, source)
        parent_context = trace.get_current_span(parent).get_span_context()
        headers: HeaderList = list(record.headers)
        if parent_context.is_valid and not parent_context.trace_flags.sampled:
            # A trace the sampler did not keep: its context goes on as it is, without the
            # cost of a span nobody records (ParentBased, the SDK's default, keeps no child).
            propagate.inject(headers, context=parent, setter=HEADER_SETTER)
        else:
            span = tracer.start_span(f"create {record.topic}", context=parent, kind=_PRODUCER)
            if span.is_recording():
                span.set_attributes(created(record))
            context = trace.set_span_in_context(span)
            propagate.inject(headers, context=context, setter=HEADER_SETTER)
            span.end()
        if source is None:
            # The caller's record (Publisher.publish_many takes them as built): a copy.
            return replace(record, headers=tuple(headers))
        # One of the records the dispatcher built for this input: its own to change.
        record.headers = tuple(headers)
        return record

    def _decide(self) -> SpanStarter | None:
        """The tracer when an SDK's provider is there, else ``None`` (no spans at all).

        Decided at the first message or record, not when the service binds its handlers:
        an SDK configured in ``on_startup`` is in time, and the check costs nothing after.
        """
        provider = self._provider if self._provider is not None else trace.get_tracer_provider()
        if not isinstance(provider, _NO_SDK):
            self._tracer = span_starter(provider.get_tracer(_SCOPE))
        self._decided = True
        return self._tracer

    def _parent_of(self, record: OutgoingMessage, source: Message | None) -> Context | None:
        if source is None:
            if trace.get_current_span().get_span_context().is_valid:
                return None  # the current context: a handler's attempt, or the caller's
            # Outside any span, a traceparent the caller set (bridging from HTTP, say).
            return propagate.extract(record.headers, getter=HEADER_GETTER)
        attempt = self._attempt.get()
        if attempt is not None and attempt.message is source:
            return attempt.context
        # A record for an input no attempt was made for (it could not be decoded).
        return _extracted(source)


class _Attempt:
    """One attempt's span context, and the trace headers its records get when the trace is
    not recorded (no producer span to make: every record carries the attempt's context)."""

    __slots__ = ("_headers", "alone", "context", "dropped", "message")

    def __init__(
        self, message: Message, context: Context, dropped: SpanContext | None, *, alone: bool
    ) -> None:
        self.message = message
        self.context = context
        self.dropped = dropped
        """The attempt's span context when its trace is not recorded, else ``None``."""
        self.alone = alone
        """Whether ``context`` holds the attempt's span and nothing else (no parent)."""
        self._headers: HeaderItems | None = None

    def trace_headers(self) -> HeaderItems:
        """The propagator's headers for this dropped attempt's context, made at the first
        record."""
        if self._headers is None:
            if self.alone and self.dropped is not None:
                self._headers = headers_of_span(self.dropped, self.context)
            else:
                self._headers = injected(self.context)
        return self._headers


def _stamped(record: OutgoingMessage, trace_headers: HeaderItems) -> OutgoingMessage:
    """``record`` (one the dispatcher built for its source: its own to change) carrying
    ``trace_headers`` in place of any headers of the same names, as HEADER_SETTER does."""
    headers = record.headers
    if not headers:
        record.headers = trace_headers
        return record
    # Loops, not a set: a record has a header or two, the trace one or two.
    for name, _ in headers:
        for trace_name, _ in trace_headers:
            if name == trace_name:
                # Rare (PropagateHeaders("*"), a dead letter): the input's give way.
                names = {trace_name for trace_name, _ in trace_headers}
                headers = tuple(header for header in headers if header[0] not in names)
                record.headers = headers + trace_headers
                return record
    record.headers = headers + trace_headers
    return record


def _extracted(message: Message) -> Context:
    # Most messages of a service that starts traces carry no headers at all. Contexts are
    # never changed in place (set_value makes a new one), so one empty one serves them all.
    if not message.headers:
        return _NO_PARENT
    return propagate.extract(message.headers, getter=HEADER_GETTER)


def _passed_on(record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
    """Without an SDK: the input's trace headers, on to the record that lacks them."""
    if source is None or not source.headers or record.headers is source.headers:
        return record
    fields = propagate.get_global_textmap().fields
    own = {name for name, _ in record.headers}
    carried = tuple((n, v) for n, v in source.headers if n in fields and n not in own)
    if carried:
        record.headers = record.headers + carried
    return record


def _qualified_name(error: BaseException) -> str:
    kind = type(error)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"
