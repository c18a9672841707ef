"""A service run's reply topic on Kafka: created, read and deleted by that run alone.

The topic has one partition and is read by a consumer of its own, assigned that
partition with no consumer group: nothing is committed, no group is left behind, and no
rebalance can move the replies to another instance. It is new when the run opens it, so
the consumer reads from its beginning and no reply can slip past it. At stop the run
deletes the topic; one a crashed run leaves behind holds only replies nobody waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import anyio
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code
from aiokafka.structs import TopicPartition

from stream.core.transport import Message, message_of

__all__ = ("ReplyReader",)

logger = logging.getLogger("stream.kafka")

# One replica, and a min.insync.replicas of its own that one replica satisfies, so the
# producer's acks="all" is met on a cluster whose default asks for more (aiokafka's
# CreateTopics cannot ask for the cluster's default replication factor).
_TOPIC_CONFIG = {"min.insync.replicas": "1"}


class ReplyReader:
    """Reads one reply topic and hands each message to ``deliver``, until :meth:`close`."""

    def __init__(
        self, topic: str, deliver: Callable[[Message], None], client_kwargs: dict[str, Any]
    ) -> None:
        self.topic = topic
        self._deliver = deliver
        self._client_kwargs = client_kwargs
        self._consumer: Any = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Creates the topic, connects the consumer and starts reading."""
        await self._admin(self._create)
        consumer = AIOKafkaConsumer(
            **self._client_kwargs,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        consumer.assign([TopicPartition(self.topic, 0)])
        await consumer.start()
        self._consumer = consumer
        # Awaited by close(): the reader never outlives its broker's run.
        self._task = asyncio.get_running_loop().create_task(
            self._read(), name=f"stream.kafka replies {self.topic}"
        )

    async def close(self) -> None:
        """Stops reading, disconnects and deletes the topic (a failure is logged)."""
        with anyio.CancelScope(shield=True):
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            if self._consumer is not None:
                await self._consumer.stop()
            try:
                await self._admin(self._delete)
            except Exception as error:
                logger.warning("could not delete the reply topic %s: %s", self.topic, error)

    async def _read(self) -> None:
        consumer = self._consumer
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    self._deliver(message_of(record))

    async def _create(self, admin: Any) -> None:
        response = await admin.create_topics(
            [NewTopic(self.topic, 1, 1, topic_configs=_TOPIC_CONFIG)]
        )
        for topic, code, *_ in response.topic_errors:
            if code and for_code(code) is not TopicAlreadyExistsError:
                raise for_code(code)(f"cannot create the reply topic {topic}")

    async def _delete(self, admin: Any) -> None:
        await admin.delete_topics([self.topic])

    async def _admin(self, action: Callable[[Any], Any]) -> None:
        admin = AIOKafkaAdminClient(**self._client_kwargs)
        await admin.start()
        try:
            await action(admin)
        finally:
            await admin.close()
