"""The seed's test, in the class-based form: no broker needed."""

import pytest

from demo.app import DataBasic, Service
from stream.testing import TestBroker, sent

pytestmark = pytest.mark.anyio


async def test_adds_one() -> None:
    async with TestBroker(Service()) as service:
        await service.publish(DataBasic(data=0.2), "input_data")
        service.on_input_data.mock.assert_called_once_with(dict(DataBasic(data=0.2)))
        assert sent(service, "output_data") == [{"data": 1.2}]


async def test_handler_is_a_plain_coroutine() -> None:
    import logging

    result = await Service().on_input_data(DataBasic(data=1.0), logging.getLogger("test"))
    assert result == DataBasic(data=2.0)


async def test_negative_reading_is_dead_lettered() -> None:
    async with TestBroker(Service()) as service:
        with pytest.raises(Exception, match="greater than or equal to 0"):
            await service.publish({"data": -1.0}, "input_data")
        assert sent(service, "input_data.dlq") == [{"data": -1.0}]
        assert sent(service, "output_data") == []
