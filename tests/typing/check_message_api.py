"""Checked by mypy --strict: filters, partition hooks, pause and resume are typed (issue 17).

A ``# type: ignore[...]`` line is a mistake mypy must catch (``warn_unused_ignores``,
part of strict, fails the check if it does not).
"""

from typing import assert_type

from pydantic import BaseModel

from stream.core import Message, Service, TopicPartition, consume


class Order(BaseModel):
    id: int


def is_order(message: Message) -> bool:
    return message.header("type") == b"order"


async def is_refund(message: Message) -> bool:
    return message.header("type") == b"refund"


class Payments(Service):
    @consume("payments", group_id="payments", filter=is_order)
    async def orders(self, msg: Order) -> None: ...

    @consume("payments", group_id="payments", filter=is_refund)
    async def refunds(self, msg: Order) -> None: ...

    @consume("payments", group_id="payments", filter=lambda m: m.key is not None)
    async def keyed(self, msg: Order) -> None: ...

    async def on_partitions_assigned(self, partitions: frozenset[TopicPartition]) -> None:
        for partition in partitions:
            assert_type(partition.partition, int)

    async def on_partitions_revoked(self, partitions: frozenset[TopicPartition]) -> None:
        await self.pause("orders", partitions=partitions)
        await self.resume("orders")
        assert_type(self.unmatched("orders"), int)


def takes_the_body(msg: Order) -> bool:
    return msg.id > 0


class Wrong(Service):
    # A filter sees the received Message, not the decoded body.
    @consume("payments", filter=takes_the_body)  # type: ignore[arg-type]
    async def handle(self, msg: Order) -> None: ...


async def pause_takes_topic_partitions(service: Payments) -> None:
    await service.pause("orders", partitions=[("payments", 0)])  # type: ignore[list-item]
