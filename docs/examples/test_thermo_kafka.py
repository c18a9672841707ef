import uuid

import anyio
import pytest
from stream import core
from stream.core import consume
from stream.kafka import KafkaBroker

from readings import Celsius, Fahrenheit
from thermo import Service


class Reader(core.Service):
    """Reads what the service under test wrote, until it sees `sensor`."""

    def __init__(self, sensor: str) -> None:
        self.sensor = sensor
        self.found = anyio.Event()
        self.converted: Fahrenheit | None = None

    @consume("readings.fahrenheit")
    async def on_converted(self, converted: Fahrenheit) -> None:
        if converted.sensor == self.sensor:
            self.converted = converted
            self.found.set()


@pytest.mark.anyio
@pytest.mark.kafka
async def test_converts_on_a_real_broker(kafka_bootstrap: str) -> None:
    # The broker may outlive this test: look for this test's reading.
    sensor = f"test-{uuid.uuid4()}"
    reader, service = Reader(sensor), Service()
    await reader.start(KafkaBroker(kafka_bootstrap))
    await service.start(Service.broker.with_bootstrap(kafka_bootstrap))
    try:
        await service.publish(
            Celsius(sensor=sensor, celsius=100.0), "readings.celsius"
        )
        with anyio.fail_after(30):
            await reader.found.wait()
    finally:
        await service.stop()
        await reader.stop()

    assert reader.converted == Fahrenheit(sensor=sensor, fahrenheit=212.0)
