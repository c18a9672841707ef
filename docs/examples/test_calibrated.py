import pytest
from stream.testing import TestBroker, sent

from calibrated import Service, Settings
from readings import Celsius

pytestmark = pytest.mark.anyio


async def test_the_offset_is_added_and_other_sensors_are_skipped() -> None:
    service = Service()
    service.settings = Settings(offset=1.0, sensors=["kitchen"])
    async with TestBroker(service):
        await service.publish(
            Celsius(sensor="kitchen", celsius=99.0), "readings.celsius"
        )
        await service.publish(
            Celsius(sensor="attic", celsius=20.0), "readings.celsius"
        )

        assert sent(service, "readings.fahrenheit") == [
            {"sensor": "kitchen", "fahrenheit": 212.0}
        ]
