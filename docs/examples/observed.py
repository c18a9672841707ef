"""Prometheus scrapes this service: Metrics is one of its middlewares."""

from pydantic import BaseModel
from stream import core
from stream.core import Logger, consume, produce
from stream.kafka import KafkaBroker
from stream.prometheus import Metrics


class Reading(BaseModel):
    sensor: str
    celsius: float


class Service(core.Service):
    """Converts readings to Fahrenheit."""

    broker = KafkaBroker("localhost:9092")
    middlewares = (
        Metrics(),
    )  # counts, durations, commits, lag: served at /metrics

    @produce("readings.fahrenheit")
    @consume("readings.celsius")
    async def on_reading(self, msg: Reading, logger: Logger) -> Reading:
        logger.info(
            "reading from %s", msg.sensor
        )  # a JSON line names the message
        return Reading(sensor=msg.sensor, celsius=msg.celsius * 9 / 5 + 32)
