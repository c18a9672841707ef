"""A dropped attempt's trace headers, formatted without the propagator only where the
propagator would write the same ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanContext, TraceFlags, TraceState
from pydantic import BaseModel

from stream.core import Service, consume, produce
from stream.opentelemetry import Tracing
from stream.opentelemetry._propagation import headers_of_span
from stream.testing import TestBroker, records

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


class TraceIdOnly(TextMapPropagator):
    """A propagator of another format: the trace id alone, in a header of its own."""

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,  # type: ignore[assignment]
    ) -> Context:
        return context if context is not None else Context()

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,  # type: ignore[assignment]
    ) -> None:
        span_context = trace.get_current_span(context).get_span_context()
        setter.set(carrier, "x-trace-id", format(span_context.trace_id, "032x"))

    @property
    def fields(self) -> set[str]:
        return {"x-trace-id"}


@pytest.fixture
def global_textmap() -> Iterator[None]:
    before = propagate.get_global_textmap()
    yield
    propagate.set_global_textmap(before)


@pytest.mark.parametrize(
    ("flags", "state"),
    [(0x00, TraceState()), (0x02, TraceState()), (0x02, TraceState([("a", "1"), ("b", "x")]))],
)
def test_a_lone_spans_headers_are_the_global_propagators(flags: int, state: TraceState) -> None:
    span_context = SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C,
        0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=TraceFlags(flags),
        trace_state=state,
    )
    alone = trace.set_span_in_context(trace.NonRecordingSpan(span_context), Context())
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=alone)
    assert headers_of_span(span_context, alone) == tuple(
        (name, value.encode()) for name, value in carrier.items()
    )


async def test_a_dropped_trace_uses_a_global_propagator_of_another_format(
    global_textmap: None,
) -> None:
    propagate.set_global_textmap(TraceIdOnly())

    class S(Service):
        middlewares = (Tracing(tracer_provider=TracerProvider(sampler=ParentBased(ALWAYS_OFF))),)

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    async with TestBroker(S()) as broker:
        await broker.publish(Reading(data=1), "in")
        [output] = records(broker, "out")
    assert output.header("traceparent") is None
    trace_id = output.header("x-trace-id")
    assert trace_id is not None
    assert int(trace_id, 16) != 0
