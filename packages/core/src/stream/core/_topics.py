"""``Topic``: a topic a service declares, so it is made as meant instead of by accident.

A broker that creates topics on first use gives a mistyped name a topic of its own, and a
dead-letter topic the broker's defaults. A declared topic is created at start when it is
missing, with the partitions, replication and settings written here; one that exists is
left as it is (a partition count that differs is logged, never changed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from stream.core._errors import BindError

__all__ = ("Topic", "checked_topics")


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic the service needs, created at start when missing.

    Attributes:
        name: The topic's name.
        partitions: How many partitions it gets (the most consumers of a group that
            share its work).
        replication_factor: Copies of each partition; ``None`` takes the broker's
            ``default.replication.factor``.
        config: Topic-level settings (for Kafka e.g. ``{"retention.ms": "604800000"}``).

    Example:
        >>> class Orders(Service):
        ...     topics = (Topic("orders", partitions=6, replication_factor=3),)
    """

    name: str
    partitions: int = 1
    replication_factor: int | None = None
    config: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("Topic(name=''): give the topic a name")
        if self.partitions < 1:
            raise ValueError(f"Topic({self.name!r}, partitions={self.partitions}): use 1 or more")
        if self.replication_factor is not None and self.replication_factor < 1:
            raise ValueError(
                f"Topic({self.name!r}, replication_factor={self.replication_factor}): "
                "use 1 or more, or None for the broker's default"
            )


def checked_topics(service: str, topics: Iterable[Topic]) -> tuple[Topic, ...]:
    """``topics`` as a tuple, each a ``Topic`` and each name declared once.

    Raises:
        BindError: an entry is not a ``Topic``, or one name is declared twice.
    """
    seen: dict[str, Topic] = {}
    for topic in topics:
        if not isinstance(topic, Topic):
            raise BindError(
                f"{service}.topics holds {topic!r}; declare each topic as Topic('name', ...)"
            )
        if topic.name in seen:
            raise BindError(f"{service}.topics declares {topic.name!r} twice; keep one declaration")
        seen[topic.name] = topic
    return tuple(seen.values())
