"""Partition hooks and pause: state that moves with its partition."""

from pydantic import BaseModel
from stream import core
from stream.core import Message, TopicPartition, consume
from stream.kafka import KafkaBroker


class Deposit(BaseModel):
    account: str
    amount: float


LIMIT = 1000.0


# --8<-- [start:service]
class Ledger(core.Service):
    broker = KafkaBroker("localhost:9092")

    def __init__(self) -> None:
        self.totals: dict[TopicPartition, float] = {}
        self.store: dict[
            TopicPartition, float
        ] = {}  # stands for a real state store

    async def on_partitions_assigned(
        self, partitions: frozenset[TopicPartition]
    ) -> None:
        # Before the first message of these partitions is handled.
        for partition in partitions:
            self.totals[partition] = self.store.get(partition, 0.0)

    async def on_partitions_revoked(
        self, partitions: frozenset[TopicPartition]
    ) -> None:
        # After their last message was handled and committed: safe to flush.
        for partition in partitions:
            self.store[partition] = self.totals.pop(partition)

    @consume("deposits")
    async def on_deposit(self, msg: Deposit, message: Message) -> None:
        partition = TopicPartition(message.topic, message.partition)
        self.totals[partition] += msg.amount
        if self.totals[partition] > LIMIT:
            # Hold this partition's next deposits until someone resumes
            # it: they wait in Kafka, nothing is skipped.
            await self.pause("on_deposit", partitions=[partition])


# --8<-- [end:service]
