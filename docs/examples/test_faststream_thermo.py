import pytest
from faststream.kafka import TestKafkaBroker

from faststream_thermo import broker, on_reading, to_fahrenheit
from readings import Celsius

pytestmark = pytest.mark.anyio


async def test_converts_to_fahrenheit() -> None:
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            Celsius(sensor="kitchen", celsius=100.0), "readings.celsius"
        )

        on_reading.mock.assert_called_once_with(
            {"sensor": "kitchen", "celsius": 100.0}
        )
        to_fahrenheit.mock.assert_called_once_with(
            {"sensor": "kitchen", "fahrenheit": 212.0}
        )
