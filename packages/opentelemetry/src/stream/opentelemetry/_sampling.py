"""Spans started as an OpenTelemetry SDK starts them, its sampler asked first.

The SDK's ``Tracer.start_span`` decides inside: even a trace its sampler drops (99 in 100
at 1%) pays for the whole call, about half of what tracing costs a fast handler. Here the
same sampler is asked before, once per span, with the same trace id:

- dropped: the span is the API's ``NonRecordingSpan`` with the context the SDK would give
  it (the trace id, a new span id, the sampler's trace state, unsampled flags);
- kept: the SDK makes the span, handed the trace id and the decision already made, so the
  sampler is not asked twice (a rate of 1% stays 1%, not 0.01%);
- a root that the SDK's ratio rule drops (``TraceIdRatioBased``, alone or as
  ``ParentBased``'s root) is dropped without asking: see ``_root_ratio``.

The SDK is reached through its tracer's public ``sampler`` and ``id_generator``
attributes only (duck-typed: the package needs ``opentelemetry-api`` alone).
"""

from __future__ import annotations

import copy
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags, TraceState

from stream.opentelemetry._root_ratio import LOW_64, root_bound

__all__ = ("SampledTracer", "SpanStarter", "span_starter")

# W3C trace context level 2's random-trace-id flag (TraceFlags.RANDOM_TRACE_ID in recent
# APIs): set, as the SDK sets it, when the id generator's trace ids are random.
_RANDOM = 0x02
_UNSAMPLED = TraceFlags(TraceFlags.DEFAULT)
_UNSAMPLED_RANDOM = TraceFlags(TraceFlags.DEFAULT | _RANDOM)


class SpanStarter(Protocol):
    """What Tracing starts its spans with: a tracer, or a :class:`SampledTracer`."""

    def start_span(
        self, name: str, context: Context | None = None, kind: SpanKind = SpanKind.INTERNAL
    ) -> trace.Span: ...


def span_starter(tracer: trace.Tracer) -> SpanStarter:
    """``tracer`` asked through a :class:`SampledTracer` when it is the SDK's (it has a
    ``sampler`` and an ``id_generator``), else as it is."""
    if hasattr(tracer, "sampler") and hasattr(tracer, "id_generator"):
        return SampledTracer(tracer)
    return tracer


class SampledTracer:
    """An SDK tracer whose sampler is asked before the SDK is: see the module's text."""

    __slots__ = ("_handed", "_ids", "_random_ids", "_root_bound", "_sampler", "_tracer")

    def __init__(self, tracer: Any) -> None:
        self._sampler = tracer.sampler
        self._ids = tracer.id_generator
        is_random = getattr(self._ids, "is_trace_id_random", None)
        self._random_ids = bool(is_random()) if is_random is not None else False
        self._root_bound = root_bound(self._sampler)
        self._handed = _HandedDecision(self._sampler, self._ids)
        # A copy: the provider shares its tracer among everyone who asks for this scope;
        # only this one takes handed decisions.
        own = copy.copy(tracer)
        own.sampler = own.id_generator = self._handed
        self._tracer: trace.Tracer = own

    def start_span(
        self, name: str, context: Context | None = None, kind: SpanKind = SpanKind.INTERNAL
    ) -> trace.Span:
        """A span as the SDK's ``start_span(name, context, kind)`` makes it."""
        # An empty context (an input without headers) has no parent to look for.
        parent = None if context is not None and not context else _valid_parent(context)
        if parent is not None:
            trace_id = parent.trace_id
            random_id = bool(parent.trace_flags & _RANDOM)
        else:
            trace_id = self._ids.generate_trace_id()
            random_id = self._random_ids
            bound = self._root_bound
            if bound is not None and trace_id & LOW_64 >= bound:
                # Dropped by the ratio rule the sampler follows (see _root_ratio): not asked.
                return self._dropped(trace_id, random_id, None)
        result = self._sampler.should_sample(context, trace_id, name, kind, None, ())
        if result.decision.is_recording():
            self._handed.decided = (trace_id, result)
            try:
                return self._tracer.start_span(name, context=context, kind=kind)
            finally:
                self._handed.decided = None
        return self._dropped(trace_id, random_id, result.trace_state)

    def _dropped(
        self, trace_id: int, random_id: bool, trace_state: TraceState | None
    ) -> trace.Span:
        span_context = SpanContext(
            trace_id,
            self._ids.generate_span_id(),
            is_remote=False,
            trace_flags=_UNSAMPLED_RANDOM if random_id else _UNSAMPLED,
            trace_state=trace_state,
        )
        return trace.NonRecordingSpan(span_context)


def _valid_parent(context: Context | None) -> SpanContext | None:
    parent = trace.get_current_span(context).get_span_context()
    return parent if parent.is_valid else None


class _HandedDecision:
    """The SDK tracer's sampler and id generator, in the copy :class:`SampledTracer`
    keeps: the decision (and a root's trace id) handed to it for the span being started,
    else the real ones' answers."""

    __slots__ = ("_ids", "_sampler", "decided")

    def __init__(self, sampler: Any, ids: Any) -> None:
        self._sampler = sampler
        self._ids = ids
        self.decided: tuple[int, Any] | None = None

    # The sampler's side.

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Any = None,
        links: Any = None,
    ) -> Any:
        decided = self.decided
        if decided is not None and decided[0] == trace_id:
            self.decided = None
            return decided[1]
        return self._sampler.should_sample(parent_context, trace_id, name, kind, attributes, links)

    def get_description(self) -> str:
        return str(self._sampler.get_description())

    # The id generator's side.

    def generate_trace_id(self) -> int:
        decided = self.decided
        return decided[0] if decided is not None else int(self._ids.generate_trace_id())

    def generate_span_id(self) -> int:
        return int(self._ids.generate_span_id())

    def is_trace_id_random(self) -> bool:
        is_random = getattr(self._ids, "is_trace_id_random", None)
        return bool(is_random()) if is_random is not None else False
