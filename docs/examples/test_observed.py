from observed import Reading, Service
from prometheus_client import REGISTRY
from stream.testing import MemoryBroker, TestBroker

ON = {"handler": "Service.on_reading", "topic": "readings.celsius"}


async def test_every_reading_is_counted() -> None:
    broker = MemoryBroker(raise_handler_errors=False)
    before = (
        REGISTRY.get_sample_value("stream_messages_received_total", ON) or 0
    )
    async with TestBroker(Service(), broker=broker) as service:
        await service.publish(
            Reading(sensor="s1", celsius=20), "readings.celsius"
        )
        await service.publish(b"not a reading", "readings.celsius")

        def count(name: str) -> float:
            return REGISTRY.get_sample_value(name, ON) or 0

        assert count("stream_messages_received_total") == before + 2
        # Every message received ends handled or dead-lettered.
        assert count("stream_messages_received_total") == count(
            "stream_messages_handled_total"
        ) + count("stream_messages_dead_lettered_total")
