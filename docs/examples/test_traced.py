import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from stream.opentelemetry import Tracing
from stream.testing import TestBroker, records

from traced import Reading, Thermostat, tracer_provider

pytestmark = pytest.mark.anyio


async def test_the_conversion_is_traced() -> None:
    exporter = InMemorySpanExporter()
    provider = tracer_provider(exporter)

    # The same handlers (and consumer groups), with spans kept in memory.
    class TracedThermostat(Thermostat):
        middlewares = (Tracing(tracer_provider=provider),)

    async with TestBroker(TracedThermostat()) as service:
        await service.publish(Reading(celsius=20), "readings.celsius")
        [output] = records(service, "readings.fahrenheit")
    provider.shutdown()  # sends the last batch

    names = [span.name for span in exporter.get_finished_spans()]
    assert names == [
        "create readings.celsius",  # the publish above
        "process readings.celsius",  # the handler's attempt
        "create readings.fahrenheit",  # its output
    ]
    assert output.header("traceparent") is not None
