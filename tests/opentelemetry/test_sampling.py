"""Tracing asks the SDK's sampler itself: a dropped trace costs no SDK span, a kept one is
the SDK's span with the same decision, and the sampler is asked once per span."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes
from pydantic import BaseModel

from stream.core import Message, Service, consume, produce
from stream.opentelemetry import Tracing
from stream.testing import TestBroker, records

pytestmark = pytest.mark.anyio


class Reading(BaseModel):
    data: float


class EverySecond(Sampler):
    """Keeps every second root it is asked about: its rate is its own, not a trace id's
    function, so asking it twice for one span would keep a quarter, not a half."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
    ) -> SamplingResult:
        self.asked.append(trace_id)
        keep = len(self.asked) % 2 == 0
        decision = Decision.RECORD_AND_SAMPLE if keep else Decision.DROP
        return SamplingResult(decision, {"kept.by": "every-second"} if keep else None)

    def get_description(self) -> str:
        return "EverySecond"


def traced(provider: TracerProvider) -> type[Service]:
    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @produce("out")
        @consume("in")
        async def handle(self, msg: Reading) -> Reading:
            return msg

    return S


def traceparent(record: Message) -> list[str]:
    value = record.header("traceparent")
    assert value is not None
    return value.decode().split("-")


async def test_a_root_the_sampler_drops_makes_no_sdk_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[str] = []
    sdk_start_span = Tracer.start_span

    def counted(self: Tracer, name: str, *args: object, **kwargs: object) -> trace.Span:
        started.append(name)
        return sdk_start_span(self, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Tracer, "start_span", counted)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    service = traced(provider)()
    async with TestBroker(service) as broker:
        for data in range(3):
            await broker.publish(Reading(data=data), "in")
        outputs = records(broker, "out")
    # The test's own publishes are roots too: none of them, no attempt and no output
    # asked the SDK for a span nobody records.
    assert started == []
    assert exporter.get_finished_spans() == ()
    for output in outputs:
        version, trace_id, span_id, flags = traceparent(output)
        # What the SDK's own non-recording span carries: a valid, random, unsampled id.
        assert (version, flags) == ("00", "02")
        assert int(trace_id, 16) != 0
        assert int(span_id, 16) != 0
    assert len({traceparent(output)[1] for output in outputs}) == 3


async def test_the_sampler_is_asked_once_per_span_so_its_rate_is_kept() -> None:
    sampler = EverySecond()
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    class S(Service):
        middlewares = (Tracing(tracer_provider=provider),)

        @consume("in")
        async def handle(self, msg: Reading) -> None: ...

    async with TestBroker(S()) as broker:
        # Asked outside any span: a producer span for the publish, a consumer span each.
        for data in range(4):
            await broker.publish(Reading(data=data), "in")
    assert len(sampler.asked) == 8
    kept = exporter.get_finished_spans()
    assert len(kept) == 4
    # Each kept span is the one the sampler was asked about: its trace id and its
    # attributes, not a second root the SDK made up and sampled again.
    assert {span.context.trace_id for span in kept} <= set(sampler.asked)
    assert all(span.attributes and span.attributes["kept.by"] == "every-second" for span in kept)
    for span in kept:
        assert span.context.trace_flags.sampled
        assert span.context.trace_flags.random_trace_id


async def test_a_recorded_attempts_output_is_its_child_in_its_trace() -> None:
    sampler = EverySecond()
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(sampler))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with TestBroker(traced(provider)()) as broker:
        # The publish's root is dropped (first asked), the attempt below it follows its
        # parent: dropped, and the output carries the dropped trace's id.
        await broker.publish(Reading(data=1), "in")
        [dropped] = records(broker, "out")
    assert exporter.get_finished_spans() == ()
    assert traceparent(dropped)[3] == "02"
    async with TestBroker(traced(provider)()) as broker:
        await broker.publish(Reading(data=2), "in")  # the second root: kept
        [kept] = records(broker, "out")
    sent, processed, created = exporter.get_finished_spans()
    assert sampler.asked == [sampler.asked[0], sent.context.trace_id]
    assert processed.parent is not None and processed.parent.span_id == sent.context.span_id
    assert created.parent is not None and created.parent.span_id == processed.context.span_id
    _version, trace_id, span_id, flags = traceparent(kept)
    assert (int(trace_id, 16), int(span_id, 16), flags) == (
        sent.context.trace_id,
        created.context.span_id,
        "03",
    )


class CountedRatio(TraceIdRatioBased):
    """The SDK's ratio sampler, counting how often it is asked."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.asked = 0

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        self.asked += 1
        return super().should_sample(*args, **kwargs)


class ClaimsRatio(TraceIdRatioBased):
    """Describes itself as a ratio of 0 (its parent's description) but keeps every span."""

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE)


def _low_64(trace_id: str) -> int:
    return int(trace_id, 16) & ((1 << 64) - 1)


async def roots_through(sampler: Sampler, count: int) -> tuple[list[Message], InMemorySpanExporter]:
    """``count`` inputs without trace headers (each attempt a root) through ``traced``,
    sampled by ``sampler``: the outputs, and the exporter of the spans kept."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with TestBroker(traced(provider)()) as broker:
        for data in range(count):
            await broker.publish(Reading(data=data), "in")
        return records(broker, "out"), exporter


async def test_a_ratio_sampler_is_not_asked_about_the_roots_it_drops() -> None:
    sampler = CountedRatio(0.0)
    provider = TracerProvider(sampler=ParentBased(sampler))
    async with TestBroker(traced(provider)()) as broker:
        await broker.publish(Reading(data=0), "in")
        asked_once_going = sampler.asked
        for data in range(1, 21):
            await broker.publish(Reading(data=data), "in")
        outputs = records(broker, "out")
    # 20 more publishes and 20 more attempts, each a root: none asked its dropped root's fate.
    assert sampler.asked == asked_once_going
    assert [traceparent(output)[3] for output in outputs] == ["02"] * 21
    assert len({traceparent(output)[1] for output in outputs}) == 21


async def test_roots_are_kept_exactly_as_the_ratio_sampler_keeps_them() -> None:
    outputs, exporter = await roots_through(ParentBased(TraceIdRatioBased(0.5)), 64)
    kept_traces = {span.context.trace_id for span in exporter.get_finished_spans()}
    for output in outputs:
        _version, trace_id, _span_id, flags = traceparent(output)
        kept = _low_64(trace_id) < 1 << 63
        assert flags == ("03" if kept else "02")
        assert (int(trace_id, 16) in kept_traces) == kept
    assert 0 < len(kept_traces) < 64


async def test_a_sampler_that_only_describes_itself_as_a_ratio_is_asked() -> None:
    outputs, exporter = await roots_through(ParentBased(ClaimsRatio(0.0)), 3)
    # Its probes kept what a ratio of 0 drops: it decides every root itself, as before.
    assert [traceparent(output)[3] for output in outputs] == ["03"] * 3
    assert len(exporter.get_finished_spans()) == 9
