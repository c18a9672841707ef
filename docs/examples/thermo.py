"""Converts temperature readings from Celsius to Fahrenheit."""

from stream import core
from stream.core import Logger, consume, produce
from stream.kafka import KafkaBroker

from readings import Celsius, Fahrenheit


class Service(core.Service):
    """Converts every reading to Fahrenheit."""

    broker = KafkaBroker("localhost:9092")

    @produce("readings.fahrenheit", key="sensor")
    @consume("readings.celsius")
    async def on_reading(self, reading: Celsius, logger: Logger) -> Fahrenheit:
        """Sends a Celsius reading on in Fahrenheit, keyed by its sensor."""
        logger.info("%s reads %.1f", reading.sensor, reading.celsius)
        return Fahrenheit(
            sensor=reading.sensor, fahrenheit=reading.celsius * 9 / 5 + 32
        )
