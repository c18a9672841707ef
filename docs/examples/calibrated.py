"""Settings: a model `stream run` fills from options and the environment."""

from pydantic_settings import BaseSettings, SettingsConfigDict
from stream import core
from stream.core import consume, produce
from stream.kafka import KafkaBroker

from readings import Celsius, Fahrenheit


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THERMO_")

    offset: float = 0.0
    """Degrees Celsius added to every reading (the sensors read low)."""
    sensors: list[str] = []
    """Convert only these sensors' readings; all when empty."""


class Service(core.Service):
    broker = KafkaBroker("localhost:9092")
    settings: Settings

    @produce("readings.fahrenheit", key="sensor")
    @consume("readings.celsius")
    async def on_reading(self, reading: Celsius) -> Fahrenheit | None:
        if (
            self.settings.sensors
            and reading.sensor not in self.settings.sensors
        ):
            return None
        celsius = reading.celsius + self.settings.offset
        return Fahrenheit(
            sensor=reading.sensor, fahrenheit=celsius * 9 / 5 + 32
        )
