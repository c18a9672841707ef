"""Tracing: a span per attempt and per record, the trace carried in headers."""

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from pydantic import BaseModel
from stream import core
from stream.core import consume, produce
from stream.kafka import KafkaBroker
from stream.opentelemetry import Tracing


class Reading(BaseModel):
    celsius: float


def tracer_provider(exporter: SpanExporter) -> TracerProvider:
    """Spans of this service, sent to ``exporter`` in batches, off the hot path
    (in production: ``OTLPSpanExporter()`` of opentelemetry-exporter-otlp)."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": "thermostat"})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class Thermostat(core.Service):
    """Converts readings; traced end to end."""

    broker = KafkaBroker("localhost:9092")
    # The global provider: trace.set_tracer_provider(tracer_provider(...)).
    middlewares = (Tracing(),)

    @produce("readings.fahrenheit")
    @consume("readings.celsius")
    async def convert(self, reading: Reading) -> Reading:
        return Reading(celsius=reading.celsius * 9 / 5 + 32)
