"""Producer and consumer options of :class:`~stream.kafka.KafkaBroker`, declared once.

The settings the delivery promises rest on are not options: the producer always runs
with ``acks="all"`` and idempotence, consumers never auto-commit. Anything else aiokafka
accepts may go in ``extra`` (broker-wide) or in a subscription's ``transport_options``;
both are checked against aiokafka's own signatures when the service starts.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from stream.core import BindError, Guarantee
from stream.core.transport import Subscription

__all__ = (
    "ConsumerOptions",
    "ProducerOptions",
    "consumer_kwargs",
    "producer_kwargs",
    "static_member_id",
)

# Options stream sets itself, and where a user sets them instead.
_PRODUCER_RESERVED = {
    "acks": "acks='all' is what at-least-once needs; it is not an option",
    "enable_idempotence": "idempotence keeps order across retries; it is always on",
    "transactional_id": "transactions come with Guarantee.EXACTLY_ONCE, one id per input "
    "partition; set ProducerOptions(transactional_id_prefix=...)",
    "bootstrap_servers": "give it to KafkaBroker(...)",
    "client_id": "use KafkaBroker(client_id=...)",
    "key_serializer": "stream encodes keys itself",
    "value_serializer": "stream encodes values itself",
    "loop": "aiokafka's loop argument is deprecated",
    "api_version": "aiokafka ignores it (deprecated); the version is negotiated",
}
_CONSUMER_RESERVED = {
    "group_id": "use @consume(group_id=...)",
    "auto_offset_reset": "use @consume(auto_offset_reset=...)",
    "max_poll_records": "use @consume(max_records=...)",
    "enable_auto_commit": "stream commits after handling, as the delivery guarantee says",
    "auto_commit_interval_ms": "stream commits after handling, as the delivery guarantee says",
    "bootstrap_servers": "give it to KafkaBroker(...)",
    "client_id": "use KafkaBroker(client_id=...)",
    "key_deserializer": "stream decodes messages itself",
    "value_deserializer": "stream decodes messages itself",
    "loop": "aiokafka's loop argument is deprecated",
    "api_version": "aiokafka ignores it (deprecated); the version is negotiated",
}
_SECURITY_KEYS = (
    "security_protocol",
    "ssl_context",
    "sasl_mechanism",
    "sasl_plain_username",
    "sasl_plain_password",
)
for _key in _SECURITY_KEYS:
    _PRODUCER_RESERVED[_key] = _CONSUMER_RESERVED[_key] = "use KafkaBroker(security=...)"


@dataclass(frozen=True, kw_only=True, slots=True)
class ProducerOptions:
    """Settings of the broker's one producer.

    Attributes:
        max_batch_size: Bytes per batch and partition. The outputs of many handled
            messages share a batch: keep it at or below the output topics'
            ``max.message.bytes``, which a broker checks per batch.
        compression_type: ``"gzip"``, ``"snappy"``, ``"lz4"``, ``"zstd"`` or ``None``.
        max_request_size: The largest message, in bytes, the producer sends; keep it at
            or below the broker's ``message.max.bytes``.
        request_timeout_ms: How long a send may wait for the broker's ack.
        transactional_id_prefix: Starts the transactional ids of ``EXACTLY_ONCE``
            subscriptions (``"<prefix>-<group>-<topic>-<partition>"``). Keep it the same
            on every instance of a service and across deployments: fencing works only
            between producers of the same id.
        transaction_interval_ms: How long an ``EXACTLY_ONCE`` partition's transaction
            stays open, taking in the chunks fetched meanwhile, before it commits (as
            Kafka Streams' ``commit.interval.ms``, 100 under exactly-once). Each commit
            costs a few round trips to the transaction coordinator, so a longer interval
            means more throughput, and later visibility of the outputs to
            ``read_committed`` readers; a failed transaction hands the whole interval to
            the handler again. ``0``: one transaction per fetched chunk.
        extra: Further ``AIOKafkaProducer`` keyword arguments.
    """

    max_batch_size: int = 256 * 1024
    compression_type: Literal["gzip", "snappy", "lz4", "zstd"] | None = None
    max_request_size: int = 1024 * 1024
    request_timeout_ms: int = 40_000
    transactional_id_prefix: str = "stream"
    transaction_interval_ms: int = 100
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsumerOptions:
    """Settings of every subscription's consumer (a subscription may add its own).

    Attributes:
        session_timeout_ms: How long the group waits for a silent member.
        heartbeat_interval_ms: How often a member says it is alive; below the session timeout.
        max_poll_interval_ms: The longest a member may go without fetching.
        fetch_max_wait_ms: How long the broker may hold a fetch to fill it.
        max_partition_fetch_bytes: Bytes fetched per partition at once.
        max_unacked_batches: Handled batches whose outputs may await their acks while
            the next ones are handled (pipelining); their offsets commit in order. With
            ``concurrency=N``, N units (lanes' parts of fetched batches) count as one.
            Under ``EXACTLY_ONCE``: fetched chunks that may wait for their partition's
            turn (its handler, or its transaction's commit) while other partitions go on.
        group_instance_id: Static membership (opt-in): a name for this instance that
            stays the same across its restarts and differs between instances (a pod's
            or host's name). Each subscription's consumer joins its group as
            ``"<group_instance_id>-<Service>.<method>"``. A member restarted within
            ``session_timeout_ms`` gets its partitions back without a rebalance, and the
            other members keep theirs throughout; a member that is gone holds its
            partitions until that timeout, so raise the timeout to cover a restart.
            ``None`` (the default): members leave at stop, and every join rebalances.
        extra: Further ``AIOKafkaConsumer`` keyword arguments.
    """

    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    fetch_max_wait_ms: int = 500
    max_partition_fetch_bytes: int = 1024 * 1024
    max_unacked_batches: int = 4
    group_instance_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@cache
def _accepted(client: type) -> frozenset[str]:
    named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return frozenset(
        p.name for p in inspect.signature(client).parameters.values() if p.kind in named
    )


def _check(given: Mapping[str, Any], client: type, reserved: Mapping[str, str], where: str) -> None:
    accepted = _accepted(client)
    for name in given:
        if name in reserved:
            raise BindError(f"{where}: `{name}` cannot be set here; {reserved[name]}")
        if name not in accepted:
            raise BindError(
                f"{where}: `{name}` is not an option of aiokafka's {client.__name__}; "
                f"known ones: {', '.join(sorted(accepted - set(reserved)))}"
            )


def producer_kwargs(options: ProducerOptions) -> dict[str, Any]:
    """The ``AIOKafkaProducer`` keyword arguments of ``options`` (security and address apart).

    Raises:
        BindError: ``extra`` names an unknown or reserved option.
    """
    _check(options.extra, AIOKafkaProducer, _PRODUCER_RESERVED, "ProducerOptions.extra")
    if options.transaction_interval_ms < 0:
        raise BindError(
            f"ProducerOptions(transaction_interval_ms={options.transaction_interval_ms}): "
            "give 0 (a transaction per fetched chunk) or more milliseconds"
        )
    return {
        "acks": "all",
        "enable_idempotence": True,
        # stream hands the producer whole record batches, closed as soon as aiokafka can
        # take them (see stream.kafka._accumulator): nothing to linger for.
        "linger_ms": 0,
        "max_batch_size": options.max_batch_size,
        "compression_type": options.compression_type,
        "max_request_size": options.max_request_size,
        "request_timeout_ms": options.request_timeout_ms,
        **options.extra,
    }


def consumer_kwargs(options: ConsumerOptions, subscription: Subscription) -> dict[str, Any]:
    """The ``AIOKafkaConsumer`` keyword arguments for ``subscription``.

    Raises:
        BindError: an option is unknown, reserved, or does not fit the others; the
            message names the subscription.
    """
    where = subscription.name
    _check(options.extra, AIOKafkaConsumer, _CONSUMER_RESERVED, "ConsumerOptions.extra")
    _check(
        subscription.options.transport_options,
        AIOKafkaConsumer,
        _CONSUMER_RESERVED,
        f"{where}: transport_options",
    )
    _check_subscription(subscription)
    if "group_instance_id" in options.extra:
        raise BindError(
            "ConsumerOptions.extra: `group_instance_id` cannot be set here; every "
            "subscription's consumer needs its own, so use ConsumerOptions(group_instance_id=...)"
        )
    kwargs: dict[str, Any] = {
        "group_id": subscription.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": subscription.options.auto_offset_reset,
        "max_poll_records": subscription.options.max_records,
        "session_timeout_ms": options.session_timeout_ms,
        "heartbeat_interval_ms": options.heartbeat_interval_ms,
        "max_poll_interval_ms": options.max_poll_interval_ms,
        "fetch_max_wait_ms": options.fetch_max_wait_ms,
        "max_partition_fetch_bytes": options.max_partition_fetch_bytes,
        **options.extra,
        **subscription.options.transport_options,
    }
    if options.group_instance_id is not None and subscription.options.partitions is None:
        kwargs.setdefault(
            "group_instance_id", static_member_id(options.group_instance_id, subscription)
        )
    if kwargs["heartbeat_interval_ms"] >= kwargs["session_timeout_ms"]:
        raise BindError(
            f"{where}: heartbeat_interval_ms ({kwargs['heartbeat_interval_ms']}) must be below "
            f"session_timeout_ms ({kwargs['session_timeout_ms']}), or the group drops the member"
        )
    if subscription.options.delivery.guarantee is Guarantee.EXACTLY_ONCE:
        # A transactional pipeline reads only committed records, so an aborted upstream
        # transaction is never handled; set isolation_level to say otherwise.
        kwargs.setdefault("isolation_level", "read_committed")
    isolation = kwargs.get("isolation_level", "read_uncommitted")
    if isolation not in ("read_uncommitted", "read_committed"):
        raise BindError(
            f"{where}: isolation_level={isolation!r}; use 'read_uncommitted' or 'read_committed'"
        )
    return kwargs


def static_member_id(instance: str, subscription: Subscription) -> str:
    """The ``group.instance.id`` of ``subscription``'s consumer on instance ``instance``.

    Kafka takes letters, digits, ``.``, ``_`` and ``-`` (up to 249); anything else in the
    name becomes ``_``.

    Raises:
        BindError: ``instance`` is empty.
    """
    if not instance:
        raise BindError(
            f"{subscription.name}: ConsumerOptions(group_instance_id='') names no instance; "
            "give this instance's stable name (e.g. the pod's), or None"
        )
    return _NOT_IN_ID.sub("_", f"{instance}-{subscription.name}")[:249]


_NOT_IN_ID = re.compile(r"[^a-zA-Z0-9._-]")


def _check_subscription(subscription: Subscription) -> None:
    where = subscription.name
    if subscription.options.pattern is not None and (
        subscription.options.topics or subscription.options.partitions
    ):
        raise BindError(
            f"{where}: a pattern subscription takes no topics and no partitions; give either "
            "topics (optionally with partitions) or pattern="
        )
    if subscription.options.pattern is None and not subscription.options.topics:
        raise BindError(f"{where}: no topics to consume; name at least one, or give pattern=")
    if subscription.options.partitions is not None and not subscription.options.partitions:
        raise BindError(f"{where}: partitions=() assigns nothing; list partitions or drop it")
    if subscription.options.concurrency < 1 or subscription.options.max_records < 1:
        raise BindError(f"{where}: concurrency and max_records must be 1 or more")
    if subscription.options.max_wait < 0:
        raise BindError(f"{where}: max_wait must be 0 or more seconds")
