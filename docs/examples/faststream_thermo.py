"""The thermometer service written with FastStream, for comparison."""

from faststream import FastStream, Logger
from faststream.kafka import KafkaBroker

from readings import Celsius, Fahrenheit

broker = KafkaBroker("localhost:9092")
app = FastStream(broker)
to_fahrenheit = broker.publisher("readings.fahrenheit")


@broker.subscriber("readings.celsius")
async def on_reading(reading: Celsius, logger: Logger) -> None:
    logger.info("%s reads %.1f", reading.sensor, reading.celsius)
    converted = Fahrenheit(
        sensor=reading.sensor, fahrenheit=reading.celsius * 9 / 5 + 32
    )
    await to_fahrenheit.publish(converted, key=reading.sensor.encode())
