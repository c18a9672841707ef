"""Records aiokafka cannot decode: found, dead-lettered by their coordinates, skipped.

aiokafka decodes every header name as UTF-8 while it unpacks a fetched batch (its C and
its Python record readers alike), so a record whose header name is not UTF-8 (librdkafka
and kcat write names as the bytes they are given) raises ``UnicodeDecodeError`` out of
``getmany``. Nothing of that call is returned, yet the partitions it drained before the
failing one have moved on already: carrying on would lose their records, and fetching
again fails again at the same record.

So the loop notes where every assigned partition stands before each fetch
(:func:`positions`). On a decode error :func:`find_undecodable` puts them all back, fetches
the partitions that did not move alone to find the one that fails, then that one record by
record up to the failing position. It returns either the good records before it (handled
as usual) or a stand-in for the undecodable record, and seeks past it. The loop hands the
stand-in to :func:`dead_letter_of_undecodable` instead of the handler: its dead letter
carries the record's coordinates (no key, value or headers: aiokafka gives none of them
back), and it is committed in order like any handled record.

aiokafka reads a batch's records one after another and cannot step over one it failed to
decode, so the good records after it *in the same producer batch* cannot be read either:
each is dead-lettered by its coordinates the same way (they are still in the topic, for a
client that reads raw bytes). Records in other batches and other partitions are handled.

The stand-in's offset is the partition's position when decoding failed. That is the
record's own offset unless offsets before it hold no record (a transaction marker,
compaction); then the position is dead-lettered first and the record itself next time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import IllegalStateError

from stream.core.transport import DeadLetterMessage, HeaderItems, Record, Subscription
from stream.kafka._errors import UndecodableRecordError

__all__ = (
    "UndecodableRecord",
    "dead_letter_of_undecodable",
    "find_undecodable",
    "is_undecodable",
    "positions",
)

logger = logging.getLogger("stream.kafka")

# A stand-in is known by these very headers (an identity check, so no received record can
# pass for one): it travels through the loops as an ordinary one-record chunk.
_MARK: HeaderItems = (("stream.undecodable", b"true"),)


@dataclass(frozen=True, slots=True)
class UndecodableRecord:
    """Stands in for a record aiokafka could not decode, with the fields of a
    ``ConsumerRecord`` the loops read."""

    topic: str
    partition: int
    offset: int
    key: None = None
    value: None = None
    headers: HeaderItems = _MARK
    timestamp: int = 0


def is_undecodable(messages: Sequence[Record]) -> bool:
    """Whether ``messages`` is the stand-in for an undecodable record (always alone)."""
    return len(messages) == 1 and messages[0].headers is _MARK


def dead_letter_of_undecodable(message: Record, subscription: Subscription) -> DeadLetterMessage:
    """The dead letter of an undecodable record: its coordinates and why.

    Raises:
        UndecodableRecordError: The subscription has no dead-letter topic, so the
            record can be neither handled nor kept: the subscription stops on it.
    """
    error = UndecodableRecordError(message.topic, message.partition, message.offset)
    policy = subscription.options.delivery
    if policy.dead_letter is None:
        raise error
    headers: HeaderItems = (
        ("stream.error.type", b"stream.kafka.UndecodableRecordError"),
        ("stream.error.message", str(error).encode()),
        ("stream.source.topic", message.topic.encode()),
        ("stream.source.partition", str(message.partition).encode()),
        ("stream.source.offset", str(message.offset).encode()),
        ("stream.handler", subscription.name.encode()),
        ("stream.attempts", b"0"),
    )
    return DeadLetterMessage(
        topic=policy.dead_letter.topic_for(message.topic),
        value=None,
        headers=headers,
        error=error,
        attempts=0,
    )


def positions(consumer: Any) -> dict[Any, int]:
    """The next offset to fetch of every assigned partition that has one now.

    A partition still looking its offset up is left out rather than waited for, so one
    slow lookup never holds the fetch of the others: ``position()`` is run only as far as
    it goes without waiting (it returns at once when the position is known).
    """
    found = {}
    for tp in consumer.assignment():
        lookup = consumer.position(tp)
        try:
            lookup.send(None)
        except StopIteration as done:
            found[tp] = done.value
        else:
            lookup.close()  # it would wait for the offset: nothing fetched from it yet
    return found


async def find_undecodable(
    consumer: Any,
    before: dict[Any, int],
    *,
    name: str,
    reset_to: str,
    timeout_ms: int,
    max_records: int,
) -> dict[Any, list[Any]]:
    """After ``getmany`` failed to decode a record: what to hand over next, by partition.

    Every partition goes back to where it stood ``before`` the failed fetch. Then either
    the good records of the failing partition up to the undecodable one, or the
    :class:`UndecodableRecord` standing in for it (and its partition seeks past it), or
    nothing (a rebalance took the partition, or its data has not come yet: the next
    fetch fails again and this runs again).
    """
    try:
        moved = positions(consumer)
        for tp, offset in before.items():
            consumer.seek(tp, offset)
        for tp in moved.keys() - before.keys():
            await _back_to_start(consumer, tp, reset_to)
        # The failing partition did not move: aiokafka moves a partition once it drained it.
        for tp in sorted(tp for tp, offset in before.items() if moved.get(tp) == offset):
            if not _may_have_records(consumer, tp, before[tp]):
                continue
            try:
                found = await consumer.getmany(tp, timeout_ms=timeout_ms)
            except UnicodeDecodeError:
                return await _step_to_undecodable(consumer, tp, name, timeout_ms, max_records)
            if found:
                consumer.seek(tp, before[tp])  # the next fetch hands them over, in turn
    except IllegalStateError:
        pass  # revoked meanwhile: its new owner starts from the committed offset
    return {}


async def _back_to_start(consumer: Any, tp: Any, reset_to: str) -> None:
    # It found its position during the failed fetch, so nothing of it was handed over:
    # back to where it started, the group's committed offset or else its reset point.
    committed = await consumer.committed(tp)
    if committed is not None:
        consumer.seek(tp, committed)
    elif reset_to == "earliest":
        await consumer.seek_to_beginning(tp)
    # "latest" with no committed offset started at an end that is gone by now: the
    # records of such a partition drained by the failed fetch are not handled.


def _may_have_records(consumer: Any, tp: Any, offset: int) -> bool:
    end = consumer.highwater(tp)  # None until a fetch response told it
    return end is None or offset < end


async def _step_to_undecodable(
    consumer: Any, tp: Any, name: str, timeout_ms: int, max_records: int
) -> dict[Any, list[Any]]:
    good: list[Any] = []
    while len(good) < max_records:
        at = await consumer.position(tp)
        try:
            batch = await consumer.getmany(tp, timeout_ms=timeout_ms, max_records=1)
        except UnicodeDecodeError as error:
            if good:
                # Handed over first; the next fetch fails right here and comes back.
                consumer.seek(tp, at)
                return {tp: good}
            logger.warning(
                "%s: record %d of %s[%d] cannot be decoded (%s): dead-lettered by its "
                "coordinates and skipped",
                name,
                at,
                tp.topic,
                tp.partition,
                error,
            )
            consumer.seek(tp, at + 1)
            return {tp: [UndecodableRecord(tp.topic, tp.partition, at)]}
        records = batch.get(tp)
        if not records:
            break
        good.extend(records)
    return {tp: good} if good else {}
