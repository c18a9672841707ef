"""The trace headers of a context that holds one span and nothing else, formatted here
when the global propagator is W3C trace context (and baggage, which such a context has
none of): the same headers, without the propagator's calls (a third of what a dropped
trace's record cost).

Whether the global propagator formats as this module does is checked once per propagator
(it can be replaced at any time), by injecting two probe contexts and comparing.
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import DEFAULT_TRACE_STATE, SpanContext, TraceFlags, TraceState

from stream.core.transport import HeaderItems

__all__ = ("headers_of_span", "injected")

_W3C_FIELDS = ({"traceparent", "tracestate"}, {"traceparent", "tracestate", "baggage"})
_PROBES = tuple(
    SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C,
        0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=TraceFlags(flags),
        trace_state=state,
    )
    for flags, state in ((0x01, TraceState()), (0x02, TraceState([("probe", "1")])))
)

# The global propagator last checked, and whether it formats as _formatted does.
_checked: tuple[TextMapPropagator, bool] | None = None


def headers_of_span(span_context: SpanContext, context: Context) -> HeaderItems:
    """The global propagator's headers for ``context``, which holds nothing but the span
    whose context is ``span_context``."""
    global _checked  # a cache of one: the propagator last seen
    textmap = propagate.get_global_textmap()
    checked = _checked
    if checked is None or checked[0] is not textmap:
        checked = _checked = (textmap, _formats_as_w3c(textmap))
    if checked[1]:
        return _formatted(span_context)
    return injected(context)


def injected(context: Context) -> HeaderItems:
    """The global propagator's headers for ``context``."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    return tuple((name, value.encode("latin-1")) for name, value in carrier.items())


def _formatted(span_context: SpanContext) -> HeaderItems:
    """W3C trace context headers, as ``TraceContextTextMapPropagator`` writes them."""
    # bytes' % formats in one C call: three times faster than an f-string and encode.
    traceparent = b"00-%032x-%016x-%02x" % (
        span_context.trace_id,
        span_context.span_id,
        span_context.trace_flags,
    )
    state = span_context.trace_state
    # The shared empty state (most spans'), known without TraceState's __len__.
    if state is DEFAULT_TRACE_STATE or not state:
        return (("traceparent", traceparent),)
    return (("traceparent", traceparent), ("tracestate", state.to_header().encode("latin-1")))


def _formats_as_w3c(textmap: TextMapPropagator) -> bool:
    if textmap.fields not in _W3C_FIELDS:
        return False
    for probe in _PROBES:
        carrier: dict[str, str] = {}
        alone = trace.set_span_in_context(trace.NonRecordingSpan(probe), Context())
        textmap.inject(carrier, context=alone)
        expected = {name: value.decode("latin-1") for name, value in _formatted(probe)}
        if carrier != expected:
            return False
    return True
