import logging

import pytest
from stream.core import DecodeError
from stream.testing import TestBroker, records, sent

from readings import Celsius, Fahrenheit
from thermo import Service

pytestmark = pytest.mark.anyio


async def test_converts_to_fahrenheit() -> None:
    async with TestBroker(Service()) as service:
        await service.publish(
            Celsius(sensor="kitchen", celsius=100.0), "readings.celsius"
        )

        service.on_reading.mock.assert_called_once_with(
            {"sensor": "kitchen", "celsius": 100.0}
        )
        assert sent(service, "readings.fahrenheit") == [
            {"sensor": "kitchen", "fahrenheit": 212.0}
        ]
        assert records(service, "readings.fahrenheit")[0].key == b"kitchen"


async def test_a_reading_below_absolute_zero_is_dead_lettered() -> None:
    async with TestBroker(Service()) as service:
        with pytest.raises(
            DecodeError
        ):  # TestBroker shows the error to the test
            await service.publish(
                {"sensor": "kitchen", "celsius": -300}, "readings.celsius"
            )

        assert sent(service, "readings.fahrenheit") == []
        assert sent(service, "readings.celsius.dlq") == [
            {"sensor": "kitchen", "celsius": -300}
        ]


async def test_the_handler_is_a_plain_coroutine() -> None:
    logger = logging.getLogger("test")
    result = await Service().on_reading(
        Celsius(sensor="attic", celsius=0.0), logger
    )
    assert result == Fahrenheit(sensor="attic", fahrenheit=32.0)
