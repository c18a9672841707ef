"""One run of a :class:`~stream.kafka.KafkaBroker`, from ``start`` to ``stop``.

The consume loops outlive ``start()``, so they run in one task the run owns (an anyio
task group inside it, one task per subscription) and ``stop()`` awaits: nothing is
left running that nobody waits for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import anyio

from stream.core import Guarantee
from stream.core.transport import RecordHandler, Subscription, TransportObserver
from stream.kafka._errors import SubscriptionFailedError
from stream.kafka._exactly_once import TransactionalSubscriber
from stream.kafka._loop import ConsumeLoop
from stream.kafka._sender import Sender
from stream.kafka._subscriber import Subscriber
from stream.kafka._watchdog import LoopWatchdog, handler_task_name

__all__ = ("Run",)

logger = logging.getLogger("stream.kafka")


class Run:
    """A started broker: its producer, its subscribers and the task consuming for them.

    Args:
        sender: The connected producer.
        subscribers: The connected subscriptions.
    """

    def __init__(
        self,
        sender: Sender,
        subscribers: Sequence[ConsumeLoop],
        watchdog: LoopWatchdog | None = None,
    ) -> None:
        self.sender = sender
        self.subscribers = tuple(subscribers)
        self._watchdog = watchdog
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._failed = anyio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        sender: Sender,
        subscriptions: Sequence[tuple[Subscription, RecordHandler, dict[str, Any]]],
        client_kwargs: dict[str, Any],
        *,
        max_unacked_batches: int,
        shutdown_timeout: float,
        outage_timeout: float,
        transactional_id_prefix: str,
        transaction_interval: float,
        block_warning: float | None,
        observers: tuple[TransportObserver, ...] = (),
    ) -> Run:
        """Connects the producer and every subscription; on any error closes them again."""
        subscribers: list[ConsumeLoop] = []
        try:
            await sender.start()
            for subscription, handler, consumer_kwargs in subscriptions:
                subscriber: ConsumeLoop
                if subscription.options.delivery.guarantee is Guarantee.EXACTLY_ONCE:
                    subscriber = TransactionalSubscriber(
                        subscription,
                        handler,
                        sender,
                        transactional_id_prefix=transactional_id_prefix,
                        transaction_interval=transaction_interval,
                        queued_chunks=max_unacked_batches,
                        rebalance_timeout=shutdown_timeout,
                        outage_timeout=outage_timeout,
                        observers=observers,
                    )
                else:
                    subscriber = Subscriber(
                        subscription,
                        handler,
                        sender,
                        max_unacked_batches=max_unacked_batches,
                        rebalance_timeout=shutdown_timeout,
                        outage_timeout=outage_timeout,
                        observers=observers,
                    )
                await subscriber.start(client_kwargs, consumer_kwargs)
                subscribers.append(subscriber)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await cls(sender, subscribers).close()
            raise
        watchdog = LoopWatchdog(block_warning) if block_warning is not None else None
        return cls(sender, subscribers, watchdog)

    def launch(self) -> None:
        """Starts consuming, in a task that :meth:`shutdown` awaits."""
        if self._watchdog is not None:
            self._watchdog.start()
        self._task = asyncio.get_running_loop().create_task(
            self._supervise(), name="stream.kafka.KafkaBroker"
        )

    @property
    def failure(self) -> SubscriptionFailedError | None:
        """The first subscription failure, or ``None``."""
        return next((s.failure for s in self.subscribers if s.failure is not None), None)

    async def wait_failed(self) -> SubscriptionFailedError:
        """Waits until a subscription stops on a failure; returns the first failure."""
        await self._failed.wait()
        failure = self.failure
        assert failure is not None
        return failure

    async def shutdown(self, timeout: float) -> None:
        """Stops fetching, waits up to ``timeout`` for handlers in flight (then cancels
        them), commits what finished and disconnects everything."""
        try:
            await self._drain(timeout)
        finally:
            await self.close()

    async def close(self) -> None:
        """Leaves the groups and disconnects the consumers, then flushes the producer."""
        for subscriber in self.subscribers:
            await _close(subscriber)
        try:
            await self.sender.stop()
        except Exception:
            logger.exception("closing the producer failed")

    async def _drain(self, timeout: float) -> None:
        for subscriber in self.subscribers:
            subscriber.request_stop()
        with anyio.move_on_after(timeout) as deadline:
            await self._done.wait()
        if deadline.cancelled_caught:
            logger.warning(
                "handlers still running after %.1fs; cancelling them (their records are "
                "handled again on the next start)",
                timeout,
            )
            self._scope.cancel()
        if self._task is not None:
            try:
                await self._task
            except Exception:
                logger.exception("the consume loops ended with an error")

    async def _supervise(self) -> None:
        try:
            with self._scope:
                async with anyio.create_task_group() as group:
                    if self._watchdog is not None:
                        group.start_soon(self._watchdog.beat)
                    async with anyio.create_task_group() as consumers:
                        for subscriber in self.subscribers:
                            # With concurrency 1 the handler runs in the fetch loop's task.
                            consumers.start_soon(
                                self._consume,
                                subscriber,
                                name=handler_task_name(subscriber.subscription.name),
                            )
                    group.cancel_scope.cancel()  # the watchdog's beat, once all ended
        finally:
            if self._watchdog is not None:
                self._watchdog.stop()
            self._done.set()

    async def _consume(self, subscriber: ConsumeLoop) -> None:
        try:
            await subscriber.run()
            # A transient broker outage only interrupts a loop: it runs again once rewound.
            while await subscriber.recover():
                await subscriber.run()
        except Exception as error:
            logger.exception("%s: consume loop crashed", subscriber.subscription.name)
            subscriber.failure = SubscriptionFailedError(subscriber.subscription.name, error)
            subscriber.failure.__cause__ = error
        # It consumes no more (stopped, with its work committed, or failed): leave the group
        # now, not when the whole service's drain ends, so partitions the group hands out
        # meanwhile go to members that consume them (issue 11, #2).
        with anyio.CancelScope(shield=True):
            await _close(subscriber)
        if subscriber.failure is not None:
            self._failed.set()


async def _close(subscriber: ConsumeLoop) -> None:
    """Closes ``subscriber`` (safe twice); a failure is logged, not raised."""
    try:
        await subscriber.close()
    except Exception:
        logger.exception("%s: closing the consumer failed", subscriber.subscription.name)
