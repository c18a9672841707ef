"""Adds one to every reading: ``input_data`` in, ``output_data`` out.

Run it with ``stream run demo.app:Service`` (``stream dev`` also starts a local broker).
"""

from pydantic import BaseModel, Field, NonNegativeFloat

from stream import core
from stream.core import Logger, consume, produce
from stream.kafka import KafkaBroker

__all__ = ("DataBasic", "Service")


class DataBasic(BaseModel):
    """One reading."""

    data: NonNegativeFloat = Field(..., examples=[0.5], description="Float data example")


class Service(core.Service):
    """Adds one to every reading."""

    broker = KafkaBroker("localhost:9092")

    @produce("output_data")
    @consume("input_data")
    async def on_input_data(self, msg: DataBasic, logger: Logger) -> DataBasic:
        """Reads a value from ``input_data`` and sends it, plus one, to ``output_data``."""
        logger.info(msg)
        return DataBasic(data=msg.data + 1.0)
