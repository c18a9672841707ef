"""Two services chained over real Kafka share one trace: parent/child spans across the
broker, and a dead letter carries the trace context."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

from stream.core import DeliveryPolicy, Retry, Service, consume, produce
from stream.opentelemetry import Tracing
from tests.behaviour.backends import KafkaBackend, running, unique

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]


class Reading(BaseModel):
    id: str
    data: float


async def test_two_chained_services_share_one_trace_and_the_dead_letter_carries_it(
    kafka_bootstrap: str,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    source, middle, target = unique("in"), unique("mid"), unique("out")
    backend = KafkaBackend(kafka_bootstrap)

    class First(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @produce(middle)
        @consume(source)
        async def forward(self, msg: Reading) -> Reading:
            return msg

    class Second(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @produce(target)
        @consume(middle, delivery=DeliveryPolicy(retry=Retry(attempts=1)))
        async def finish(self, msg: Reading) -> Reading:
            if msg.data < 0:
                raise ValueError("negative reading")
            return Reading(id=msg.id, data=msg.data + 1)

    tracer = provider.get_tracer("test")
    async with running(First(), backend) as first, running(Second(), backend):
        with tracer.start_as_current_span("request good") as good:
            await first.publish(Reading(id="good", data=1), source)
        with tracer.start_as_current_span("request bad") as bad:
            await first.publish(Reading(id="bad", data=-1), source)
        [output] = await backend.read(target, 1)
        [letter] = await backend.read(f"{middle}.dlq", 1)
    provider.shutdown()

    spans = exporter.get_finished_spans()
    good_id, bad_id = good.get_span_context().trace_id, bad.get_span_context().trace_id

    def chain(trace_id: int) -> list[str]:
        """The trace's spans, each under its parent, as ``parent > child`` names."""
        in_trace = {s.context.span_id: s for s in spans if s.context.trace_id == trace_id}
        return sorted(
            f"{_name(in_trace.get(s.parent.span_id) if s.parent else None)} > {_name(s)}"
            for s in in_trace.values()
        )

    assert chain(good_id) == sorted(
        [
            "- > request good",
            "request good > create in",
            "create in > process in",
            "process in > create mid",
            "create mid > process mid",  # across the broker, in the other service
            "process mid > create out",
        ]
    )
    assert chain(bad_id) == sorted(
        [
            "- > request bad",
            "request bad > create in",
            "create in > process in",
            "process in > create mid",
            "create mid > process mid",
            "process mid > create mid.dlq",
        ]
    )
    [dead] = [s for s in spans if s.name == f"create {middle}.dlq"]
    assert _traceparent(letter.header("traceparent")) == (bad_id, dead.context.span_id)
    [created_out] = [s for s in spans if s.name == f"create {target}"]
    assert _traceparent(output.header("traceparent")) == (good_id, created_out.context.span_id)


def _name(span: ReadableSpan | None) -> str:
    """A span's name without the topics' unique suffixes: ``create in``, ``process mid``."""
    if span is None:
        return "-"
    operation, _, topic = span.name.partition(" ")
    return f"{operation} {topic.split('-')[0]}{'.dlq' if topic.endswith('.dlq') else ''}"


def _traceparent(value: bytes | None) -> tuple[int, int]:
    assert value is not None
    _version, trace_id, span_id, _flags = value.decode().split("-")
    return int(trace_id, 16), int(span_id, 16)
