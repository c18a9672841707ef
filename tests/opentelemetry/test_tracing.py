"""Tracing on the in-memory broker: spans, their parents, attributes and the headers that
carry the trace on (the chained real-Kafka case is in test_tracing_kafka.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

from stream.core import (
    DeliveryPolicy,
    Message,
    PropagateHeaders,
    Publisher,
    Retry,
    Service,
    consume,
    outgoing,
    produce,
)
from stream.opentelemetry import Tracing
from stream.testing import MemoryBroker, TestBroker, records

pytestmark = pytest.mark.anyio

# A traceparent from an upstream service that is not stream (W3C's own example).
UPSTREAM_TRACE = "0af7651916cd43dd8448eb211c80319c"
UPSTREAM = f"00-{UPSTREAM_TRACE}-b7ad6b7169203331-01".encode()


class Reading(BaseModel):
    data: float


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def trace_id_of(record: Message) -> str:
    traceparent = record.header("traceparent")
    assert traceparent is not None
    return traceparent.decode().split("-")[1]


def span_id_of(record: Message) -> int:
    traceparent = record.header("traceparent")
    assert traceparent is not None
    return int(traceparent.decode().split("-")[2], 16)


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_an_attempt_is_a_consumer_span_under_the_inputs_trace(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @produce("out")
        @consume("in", group_id="readers")
        async def handle(self, msg: Reading) -> Reading:
            return Reading(data=msg.data + 1)

    async with TestBroker(S()) as service:
        await service.publish(
            Reading(data=1), "in", key="sensor-1", headers={"traceparent": UPSTREAM}
        )
        [output] = records(service, "out")
    sent, processed, created = exporter.get_finished_spans()
    # Published outside any span: the traceparent the caller set is the parent.
    assert parent_id(sent) == 0xB7AD6B7169203331
    assert (processed.name, processed.kind) == ("process in", SpanKind.CONSUMER)
    assert (created.name, created.kind) == ("create out", SpanKind.PRODUCER)
    assert processed.context.trace_id == int(UPSTREAM_TRACE, 16)
    assert parent_id(processed) == sent.context.span_id
    assert parent_id(created) == processed.context.span_id
    # The output carries its own span's context, in the upstream trace.
    assert trace_id_of(output) == UPSTREAM_TRACE
    assert span_id_of(output) == created.context.span_id
    assert [v for n, v in output.headers if n == "traceparent"] == [output.header("traceparent")]
    assert processed.attributes == {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": "in",
        "messaging.destination.partition.id": "0",
        "messaging.kafka.offset": 0,
        "messaging.consumer.group.name": "readers",
        "messaging.kafka.message.key": "sensor-1",
        "messaging.message.body.size": len(b'{"data":1.0}'),
    }
    assert created.attributes is not None
    assert created.attributes["messaging.operation.type"] == "create"
    assert created.attributes["messaging.destination.name"] == "out"
    assert created.attributes["messaging.kafka.message.key"] == "sensor-1"


async def test_a_failed_attempt_is_an_error_span_and_the_dead_letter_stays_in_the_trace(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @consume("in", delivery=DeliveryPolicy(retry=Retry(attempts=2, backoff=0)))
        async def handle(self, msg: Reading) -> None:
            raise ValueError("too hot")

    async with TestBroker(S(), broker=MemoryBroker(raise_handler_errors=False)) as service:
        await service.publish(Reading(data=1), "in")
        [letter] = records(service, "in.dlq")
    sent, first, second, dead = exporter.get_finished_spans()
    assert [s.name for s in (sent, first, second, dead)] == [
        "create in",
        "process in",
        "process in",
        "create in.dlq",
    ]
    for attempt in (first, second):
        assert attempt.status.status_code is StatusCode.ERROR
        assert attempt.attributes is not None
        assert attempt.attributes["error.type"] == "ValueError"
        [event] = attempt.events
        assert event.name == "exception"
        assert event.attributes is not None
        assert event.attributes["exception.message"] == "too hot"
        assert parent_id(attempt) == sent.context.span_id
    assert parent_id(dead) == second.context.span_id
    assert span_id_of(letter) == dead.context.span_id
    assert trace_id_of(letter) == format(sent.context.trace_id, "032x")
    # The input's own traceparent gave way to the dead letter's: one of them, not two.
    assert len([n for n, _ in letter.headers if n == "traceparent"]) == 1


async def test_a_message_that_cannot_be_decoded_is_dead_lettered_in_its_trace(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @consume("in")
        async def handle(self, msg: Reading) -> None: ...

    async with TestBroker(S(), broker=MemoryBroker(raise_handler_errors=False)) as service:
        await service.publish(b"not json", "in", headers={"traceparent": UPSTREAM})
        [letter] = records(service, "in.dlq")
    sent, dead = exporter.get_finished_spans()
    assert dead.name == "create in.dlq"
    assert parent_id(dead) == sent.context.span_id  # no attempt: the input's own context
    assert trace_id_of(letter) == UPSTREAM_TRACE


async def test_what_a_handler_publishes_is_a_child_of_its_attempt(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @consume("in")
        async def handle(self, msg: Reading, publisher: Publisher) -> None:
            await publisher.publish(msg, "side")

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in")
        [side] = records(service, "side")
    _sent, created, processed = exporter.get_finished_spans()
    assert created.name == "create side"
    assert parent_id(created) == processed.context.span_id
    assert span_id_of(side) == created.context.span_id


async def test_a_batch_attempt_counts_its_messages(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @consume("in", batch=True)
        async def handle(self, msgs: list[Reading]) -> None: ...

    async with TestBroker(S()) as service:
        await service.publisher.publish_many(
            [outgoing(Reading(data=1), "in"), outgoing(Reading(data=2), "in")]
        )
    [processed] = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    assert processed.attributes is not None
    assert processed.attributes["messaging.batch.message_count"] == 2
    assert processed.attributes["messaging.kafka.offset"] == 1  # the batch's last


async def test_without_an_sdk_the_inputs_trace_context_passes_on_unchanged() -> None:
    class S(Service):
        middlewares = (Tracing(tracer_provider=trace.NoOpTracerProvider()),)

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in", headers={"traceparent": UPSTREAM})
        [output] = records(service, "out")
    assert output.header("traceparent") == UPSTREAM


async def test_propagated_headers_and_tracing_leave_one_traceparent(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    class S(Service):
        middlewares = (PropagateHeaders("*"), Tracing(tracer_provider=provider))

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in", headers={"x-tenant": "acme"})
        [output] = records(service, "out")
    created = exporter.get_finished_spans()[-1]
    assert output.header("x-tenant") == b"acme"
    assert [span_id_of(output)] == [created.context.span_id]
    assert len([n for n, _ in output.headers if n == "traceparent"]) == 1


async def test_a_key_that_is_not_text_is_escaped_and_capped(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @consume("in")
        async def handle(self, msg: Reading) -> None: ...

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in", key=b"line\nbreak\xff" + b"k" * 1000)
    processed = exporter.get_finished_spans()[-1]
    assert processed.attributes is not None
    key = processed.attributes["messaging.kafka.message.key"]
    assert isinstance(key, str)
    assert key.startswith("line\\nbreak\\\\xff")
    assert "\n" not in key
    assert key.count("k") <= 256


async def test_a_global_sdk_configured_in_on_startup_is_in_time(
    provider: TracerProvider, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    class S(Service):
        middlewares = (Tracing(),)  # the global provider: none when the handlers are bound

        async def on_startup(self) -> None:
            # As trace.set_tracer_provider(provider) would (the API allows one global per
            # process, so the test stands in for it).
            monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in", headers={"traceparent": UPSTREAM})
        [output] = records(service, "out")
    assert [s.name for s in exporter.get_finished_spans()] == [
        "create in",
        "process in",
        "create out",
    ]
    assert trace_id_of(output) == UPSTREAM_TRACE


async def test_without_a_global_sdk_there_are_no_spans_and_the_trace_passes_on() -> None:
    class S(Service):
        middlewares = (Tracing(),)

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    async with TestBroker(S()) as service:
        await service.publish(
            Reading(data=1), "in", headers={"traceparent": UPSTREAM, "tracestate": b"a=1"}
        )
        [output] = records(service, "out")
    assert output.headers == (
        ("content-type", b"application/json"),
        ("traceparent", UPSTREAM),
        ("tracestate", b"a=1"),
    )


async def test_a_trace_the_sampler_dropped_goes_on_unrecorded(
    exporter: InMemorySpanExporter,
) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    unsampled = f"00-{UPSTREAM_TRACE}-b7ad6b7169203331-00".encode()
    async with TestBroker(S()) as service:
        await service.publish(Reading(data=1), "in", headers={"traceparent": unsampled})
        [output] = records(service, "out")
    assert exporter.get_finished_spans() == ()
    traceparent = output.header("traceparent")
    assert traceparent is not None
    _version, trace_id, _span, flags = traceparent.decode().split("-")
    assert (trace_id, flags) == (UPSTREAM_TRACE, "00")  # the same trace, still unsampled


async def test_a_dropped_trace_replaces_the_propagated_traceparent(
    exporter: InMemorySpanExporter,
) -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    class S(Service):
        middlewares = (PropagateHeaders("*"), Tracing(tracer_provider=provider))

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    unsampled = f"00-{UPSTREAM_TRACE}-b7ad6b7169203331-00"
    async with TestBroker(S()) as service:
        headers = {"x-tenant": "acme", "traceparent": unsampled}
        await service.publish(Reading(data=1), "in", headers=headers)
        [output] = records(service, "out")
    assert exporter.get_finished_spans() == ()
    assert output.header("x-tenant") == b"acme"
    [traceparent] = [value.decode() for name, value in output.headers if name == "traceparent"]
    _version, trace_id, span_id, flags = traceparent.split("-")
    # The attempt's own (unrecorded) span, in the upstream's trace, still unsampled.
    assert (trace_id, flags) == (UPSTREAM_TRACE, "00")
    assert span_id != "b7ad6b7169203331"
