"""The messaging semantic conventions' attributes for a processed and a created record.

Names from the current conventions (``messaging.consumer.group.name``,
``messaging.kafka.offset``, ``messaging.operation.type``), not the 1.24 ones
(``messaging.kafka.consumer.group``, ``messaging.kafka.message.offset``): this is a new
instrumentation, with no old names to keep. Kept here as constants, so the package needs
``opentelemetry-api`` alone, not the semantic-conventions package.
"""

from __future__ import annotations

from opentelemetry.util.types import AttributeValue

from stream.core.transport import Message, OutgoingMessage

__all__ = ("KEY_LIMIT", "created", "processed")

SYSTEM = "messaging.system"
OPERATION_TYPE = "messaging.operation.type"
OPERATION_NAME = "messaging.operation.name"
DESTINATION = "messaging.destination.name"
PARTITION = "messaging.destination.partition.id"
OFFSET = "messaging.kafka.offset"
GROUP = "messaging.consumer.group.name"
KEY = "messaging.kafka.message.key"
TOMBSTONE = "messaging.kafka.message.tombstone"
BODY_SIZE = "messaging.message.body.size"
BATCH_COUNT = "messaging.batch.message_count"

KEY_LIMIT = 256
"""A key is whatever a producer wrote: a span carries at most this many characters of it."""


def processed(
    message: Message, group: str | None, batch_size: int | None
) -> dict[str, AttributeValue]:
    """A consumer ``process`` span's attributes for ``message`` (a batch's last)."""
    attributes: dict[str, AttributeValue] = {
        SYSTEM: "kafka",
        OPERATION_TYPE: "process",
        OPERATION_NAME: "process",
        DESTINATION: message.topic,
        PARTITION: str(message.partition),
        OFFSET: message.offset,
    }
    if group is not None:
        attributes[GROUP] = group
    if batch_size is not None:
        attributes[BATCH_COUNT] = batch_size
    _add_record(attributes, message.key, message.value)
    return attributes


def created(record: OutgoingMessage) -> dict[str, AttributeValue]:
    """A producer ``create`` span's attributes for ``record``."""
    attributes: dict[str, AttributeValue] = {
        SYSTEM: "kafka",
        OPERATION_TYPE: "create",
        OPERATION_NAME: "create",
        DESTINATION: record.topic,
    }
    if record.partition is not None:
        attributes[PARTITION] = str(record.partition)
    _add_record(attributes, record.key, record.value)
    return attributes


def _add_record(
    attributes: dict[str, AttributeValue], key: bytes | None, value: bytes | None
) -> None:
    if key is not None:
        # Capped, and escaped where it is not printable text, so that a key's bytes never
        # pass for other text (a line break, a terminal escape) in a trace viewer.
        text = key[:KEY_LIMIT].decode("utf-8", "backslashreplace")
        attributes[KEY] = text if text.isprintable() else text.encode("unicode_escape").decode()
    if value is None:
        attributes[TOMBSTONE] = True
    else:
        attributes[BODY_SIZE] = len(value)
