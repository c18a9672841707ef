"""``KafkaBroker``: stream's ``Transport`` on Apache Kafka, through aiokafka."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any

import anyio

from stream.core import BindError, NotRunningError
from stream.core.transport import (
    Message,
    OutgoingMessage,
    RecordHandler,
    ServerDescription,
    Subscription,
    Topic,
    TopicPartition,
    Transport,
    TransportDescription,
    TransportStatus,
)
from stream.kafka._client_logs import quiet_transient_client_errors
from stream.kafka._errors import SubscriptionFailedError
from stream.kafka._loop import ConsumeLoop
from stream.kafka._options import ConsumerOptions, ProducerOptions, consumer_kwargs, producer_kwargs
from stream.kafka._replies import ReplyReader
from stream.kafka._running import Run
from stream.kafka._security import Security, security_kwargs
from stream.kafka._sender import Sender, oversize, ping
from stream.kafka._topics import MissingTopics, prepare_topics

__all__ = ("KafkaBroker",)

logger = logging.getLogger("stream.kafka")

_COMMIT_MARGIN = 5.0
"""Seconds a rebalance allows, beyond the wait for work in flight, for its commit."""


class KafkaBroker(Transport):
    """A ``Transport`` on Apache Kafka: one producer, one consumer per subscription.

    Delivery is at-least-once by default: an offset is committed only after its
    handler returned and every output was acknowledged by the broker (``acks="all"``,
    idempotent producer). Outputs are sent without waiting message by message, and the
    next batch is handled while the acks of the last are on their way.

    A subscription with ``DeliveryPolicy(guarantee=Guarantee.EXACTLY_ONCE)`` instead
    writes each partition chunk's outputs, dead letters and input offset in one Kafka
    transaction, on a transactional producer of its own per input partition (see
    :mod:`stream.kafka._transactions` for what that guarantees and what aiokafka cannot);
    its consumer reads ``read_committed``, and so must every reader of its outputs.

    A subscription whose handler raises with no dead-letter topic (or whose outputs the
    broker refuses) stops with nothing committed past the failed message and leaves its
    group; the others go on. A transient broker outage (timeouts, lost connections, a
    coordinator moving) does not stop it: it commits what finished, rewinds to the
    committed offsets and consumes again once the broker answers, for up to
    ``outage_timeout``, logging a WARNING meanwhile. :meth:`wait_failed` returns such a failure as it happens,
    and :meth:`stop` raises it (``SubscriptionFailedError``), so ``Service.stop`` ends
    with it.

    Args:
        bootstrap_servers: ``"host:port"``, a comma-separated list, or a sequence of them.
        client_id: The client id every connection presents.
        security: TLS and/or SASL settings; ``None`` for plaintext.
        producer: Producer settings.
        consumer: Consumer settings shared by every subscription.
        shutdown_timeout: Seconds :meth:`stop` (and a rebalance) waits for handlers in
            flight before cancelling them. Keep it below the time the platform allows a
            stop: Kubernetes sends SIGKILL 30 s after SIGTERM by default
            (``terminationGracePeriodSeconds``), and the drain still has to commit and
            leave the group after this wait.
        block_warning: Seconds a handler may block the event loop before a WARNING
            names it and the line it is stuck on (``None``: no watchdog). The watchdog
            is a thread and a timer task: nothing is measured per message.
        outage_timeout: Seconds a subscription rides out a transient broker outage
            (retrying with backoff from its committed offsets, nothing committed past
            the failure) before it stops; counted from the first error with no
            successful commit since.
        missing_topics: What start does about a consumed topic that neither exists nor
            is declared in the service's ``topics``: ``"warn"`` logs a WARNING naming
            it (the broker may then create it with its defaults, or the subscription
            idles), ``"fail"`` refuses to start with a ``BindError``.

    Example:
        >>> class Service(core.Service):
        ...     broker = KafkaBroker("localhost:9092")
    """

    def __init__(
        self,
        bootstrap_servers: str | Sequence[str] = "localhost:9092",
        *,
        client_id: str = "stream",
        security: Security | None = None,
        producer: ProducerOptions | None = None,
        consumer: ConsumerOptions | None = None,
        shutdown_timeout: float = 25.0,
        block_warning: float | None = 0.5,
        outage_timeout: float = 300.0,
        missing_topics: MissingTopics = "warn",
    ) -> None:
        if isinstance(bootstrap_servers, str):
            bootstrap_servers = bootstrap_servers.split(",")
        self.bootstrap_servers: tuple[str, ...] = tuple(
            server.strip() for server in bootstrap_servers if server.strip()
        )
        if not self.bootstrap_servers:
            raise ValueError("KafkaBroker: give at least one bootstrap server, e.g. 'host:9092'")
        self.client_id = client_id
        self.security = security
        self.producer_options = producer if producer is not None else ProducerOptions()
        self.consumer_options = consumer if consumer is not None else ConsumerOptions()
        if shutdown_timeout <= 0:
            raise ValueError(f"KafkaBroker(shutdown_timeout={shutdown_timeout}): use seconds > 0")
        self.shutdown_timeout = shutdown_timeout
        if block_warning is not None and block_warning <= 0:
            raise ValueError(f"KafkaBroker(block_warning={block_warning}): use seconds > 0 or None")
        self.block_warning = block_warning
        if outage_timeout <= 0:
            raise ValueError(f"KafkaBroker(outage_timeout={outage_timeout}): use seconds > 0")
        self.outage_timeout = outage_timeout
        if missing_topics not in ("warn", "fail"):
            raise ValueError(
                f"KafkaBroker(missing_topics={missing_topics!r}): use 'warn' or 'fail'"
            )
        self.missing_topics: MissingTopics = missing_topics
        self._declared: tuple[Topic, ...] = ()
        self._subscriptions: list[tuple[Subscription, RecordHandler, dict[str, Any]]] = []
        self._running: Run | None = None
        self._reply_readers: list[ReplyReader] = []

    def __repr__(self) -> str:
        return f"KafkaBroker({','.join(self.bootstrap_servers)!r}, client_id={self.client_id!r})"

    def with_bootstrap(self, bootstrap_servers: str | Sequence[str]) -> KafkaBroker:
        """A copy of this broker's settings, connecting to ``bootstrap_servers`` instead."""
        return KafkaBroker(
            bootstrap_servers,
            client_id=self.client_id,
            security=self.security,
            producer=self.producer_options,
            consumer=self.consumer_options,
            shutdown_timeout=self.shutdown_timeout,
            block_warning=self.block_warning,
            outage_timeout=self.outage_timeout,
            missing_topics=self.missing_topics,
        )

    # The Transport interface.

    def declare_topics(self, topics: Sequence[Topic]) -> None:
        """Registers the service's declared topics; :meth:`start` creates those missing."""
        self._declared = tuple(topics)

    def subscribe(self, subscription: Subscription, handler: RecordHandler) -> None:
        """Registers a handler before ``start``.

        Raises:
            BindError: an option does not exist in aiokafka or does not fit the others.
        """
        if self._running is not None:
            raise BindError(
                f"{subscription.name}: KafkaBroker is already started; subscribe before start "
                "(services that run at the same time need a KafkaBroker each)"
            )
        kwargs = consumer_kwargs(self.consumer_options, subscription)
        # aiokafka lets the group wait only a session timeout for a member to rejoin,
        # but at a revocation a member first finishes its work in flight, for up to
        # shutdown_timeout: wait that long, or the group drops a member that is busy
        # keeping its promise, and its partitions' work is done twice.
        kwargs.setdefault(
            "rebalance_timeout_ms", int((self.shutdown_timeout + _COMMIT_MARGIN) * 1000)
        )
        self._subscriptions.append((subscription, handler, kwargs))

    async def start(self) -> None:
        """Creates the missing declared topics and dead-letter topics (a dead-letter topic
        like its source: partitions, replication, ``max.message.bytes``), then connects
        the producer and every subscription's consumer and starts consuming.

        Raises:
            BindError: aiokafka refused an option, assigned partitions do not exist, a
                consumed topic does not exist (with ``missing_topics="fail"``), a declared
                or dead-letter topic could not be created, or a dead-letter topic does not
                exist while the broker creates no topics, or takes smaller messages
                (``max.message.bytes``) than its source topic.
            aiokafka.errors.KafkaConnectionError: no bootstrap server answered.
        """
        if self._running is not None:
            raise NotRunningError(f"{self!r} is already started; stop it first")
        servers = ",".join(self.bootstrap_servers)
        quiet_transient_client_errors()
        logger.info("connecting to Kafka at %s as %r", servers, self.client_id)
        client_kwargs = self._client_kwargs()
        # Options refused before anything connects: a mistake is told without a broker.
        producer = producer_kwargs(self.producer_options)
        await prepare_topics(
            client_kwargs,
            self._declared,
            [s for s, _, _ in self._subscriptions],
            self.missing_topics,
        )
        run = await Run.open(
            Sender(client_kwargs, producer),
            self._subscriptions,
            client_kwargs,
            max_unacked_batches=self.consumer_options.max_unacked_batches,
            shutdown_timeout=self.shutdown_timeout,
            outage_timeout=self.outage_timeout,
            transactional_id_prefix=self.producer_options.transactional_id_prefix,
            transaction_interval=self.producer_options.transaction_interval_ms / 1000,
            block_warning=self.block_warning,
            observers=self.observers,
        )
        run.launch()
        self._running = run
        logger.info("connected to Kafka at %s", servers)

    async def stop(self) -> None:
        """Stops fetching, lets handlers in flight finish (up to ``shutdown_timeout``),
        waits for their outputs' acks, commits, leaves the groups and disconnects.

        Subscriptions are forgotten, so a new start of the service subscribes afresh.
        Safe to call twice, and before start.

        Raises:
            SubscriptionFailedError: a subscription had stopped on a failure (the
                original error is its ``__cause__``); everything is closed regardless.
        """
        run, self._running = self._running, None
        self._subscriptions.clear()
        self._declared = ()
        readers, self._reply_readers = self._reply_readers, []
        for reader in readers:
            await reader.close()
        if run is None:
            return
        with anyio.CancelScope(shield=True):
            await run.shutdown(self.shutdown_timeout)
        logger.info("disconnected from Kafka")
        if run.failure is not None:
            raise run.failure

    async def publish(self, message: OutgoingMessage) -> None:
        """Sends one message and waits for the broker's ack.

        Raises:
            MessageTooLargeError: it is larger than the producer or the broker allows.
        """
        await self._require().sender.publish(message)

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Sends all messages without waiting for each, then waits for every ack."""
        await self._require().sender.publish_many(messages)

    async def pause(
        self, subscription: Subscription, partitions: Collection[TopicPartition] | None
    ) -> None:
        """Pauses fetching ``partitions`` of ``subscription`` (``None``: all, also those
        assigned later); records already fetched but not handed over are fetched again
        on resume."""
        self._loop_of(subscription).partitions.pause(partitions)

    async def resume(
        self, subscription: Subscription, partitions: Collection[TopicPartition] | None
    ) -> None:
        """Fetches ``partitions`` of ``subscription`` (``None``: all) again."""
        self._loop_of(subscription).partitions.resume(partitions)

    async def open_replies(self, topic: str, deliver: Callable[[Message], None]) -> None:
        """Creates the reply topic (one partition) and reads it with a consumer of its own,
        assigned without a consumer group; :meth:`stop` deletes the topic."""
        self._require()
        reader = ReplyReader(topic, deliver, self._client_kwargs())
        try:
            await reader.open()
        except BaseException:
            await reader.close()  # the topic may exist already
            raise
        self._reply_readers.append(reader)

    def refusal(self, message: OutgoingMessage) -> str | None:
        """Refuses a handler output larger than the producer's ``max_request_size``
        (counted as the producer counts it), so the core dead-letters its input."""
        limit = self.producer_options.max_request_size
        size = oversize(message, limit)
        if size is None:
            return None
        return (
            f"{size} bytes is over the {limit} bytes the producer sends in one request; "
            "send less per message or raise the limit (ProducerOptions(max_request_size=...) "
            "and the broker's message.max.bytes)"
        )

    async def ping(self, timeout: float) -> bool:
        """Whether the cluster answers a metadata request within ``timeout`` seconds."""
        client = self._running.sender.client if self._running is not None else None
        return await ping(client, self._client_kwargs(), timeout)

    def describe(self) -> TransportDescription:
        """Protocol ``kafka``, one server per bootstrap address, and the security scheme."""
        scheme = self.security.scheme() if self.security is not None else None
        encrypted = self.security is not None and self.security.encrypted
        servers = tuple(
            ServerDescription(
                host=server,
                protocol="kafka-secure" if encrypted else "kafka",
                security=(scheme,) if scheme is not None else (),
            )
            for server in self.bootstrap_servers
        )
        return TransportDescription(protocol="kafka", servers=servers, client_id=self.client_id)

    def status(self) -> TransportStatus:
        """Each subscription's group membership, partitions, committed and end offsets
        and units in flight, from what its consumer already knows (no round trip)."""
        run = self._running
        if run is None:
            return TransportStatus(running=False)
        return TransportStatus(
            running=True, subscriptions=tuple(s.status() for s in run.subscribers)
        )

    # Failures.

    @property
    def failure(self) -> SubscriptionFailedError | None:
        """The first subscription failure of the current run, or ``None``."""
        return None if self._running is None else self._running.failure

    async def wait_failed(self) -> SubscriptionFailedError:
        """Waits until a subscription stops on a failure, and returns that failure.

        Raises:
            NotRunningError: the broker is not started.
        """
        return await self._require().wait_failed()

    # Internals.

    def _client_kwargs(self) -> dict[str, Any]:
        # What every aiokafka client of this broker gets: address, identity, security.
        return {
            "bootstrap_servers": list(self.bootstrap_servers),
            "client_id": self.client_id,
            **security_kwargs(self.security),
        }

    def _require(self) -> Run:
        if self._running is None:
            raise NotRunningError(f"{self!r} is not started; start the service first")
        return self._running

    def _loop_of(self, subscription: Subscription) -> ConsumeLoop:
        for loop in self._require().subscribers:
            if loop.subscription is subscription:
                return loop
        raise NotRunningError(f"{subscription.name} is not subscribed on {self!r}")
