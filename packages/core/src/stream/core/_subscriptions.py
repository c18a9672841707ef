"""Which handlers share one subscription: those reading the same topics in one group.

Kafka gives each partition of a group to one consumer, so two handlers reading a topic
in one group would split its messages. stream makes them one subscription instead, and
each message goes to the first of its handlers (in class order) whose ``filter`` takes
it (FastStream's semantics). Everything here runs at bind time.
"""

from __future__ import annotations

from collections.abc import Sequence

from stream.core._errors import BindError
from stream.core._options import ConsumeOptions
from stream.core._specs import ConsumerSpec

__all__ = ("shared_subscriptions",)

# What a consumer of the group is: every handler of one subscription must agree on it.
_SHARED_OPTIONS = (
    "topics",
    "pattern",
    "partitions",
    "auto_offset_reset",
    "max_records",
    "max_wait",
    "concurrency",
    "transport_options",
)


def shared_subscriptions(
    service: str, specs: Sequence[ConsumerSpec]
) -> tuple[tuple[ConsumerSpec, ...], ...]:
    """The service's subscriptions: each a tuple of the handlers sharing it, in class order.

    Raises:
        BindError: handlers of one group overlap on a topic without reading the same
            topics the same way, or one would never receive a message.
    """
    groups: list[list[ConsumerSpec]] = []
    for spec in specs:
        shared = next((g for g in groups if _overlap(g[0], spec) is not None), None)
        if shared is None:
            groups.append([spec])
            continue
        _check_can_share(service, shared, spec)
        shared.append(spec)
    return tuple(tuple(group) for group in groups)


def _topics(options: ConsumeOptions) -> tuple[str, ...]:
    return options.topics or (f"pattern:{options.pattern}",)


def _overlap(first: ConsumerSpec, other: ConsumerSpec) -> str | None:
    """A topic both read in one group, or ``None``."""
    if first.group_id != other.group_id:
        return None
    mine = _topics(first.options)
    return next((topic for topic in _topics(other.options) if topic in mine), None)


def _check_can_share(service: str, shared: list[ConsumerSpec], spec: ConsumerSpec) -> None:
    first, last = shared[0], shared[-1]
    topic = _overlap(first, spec)
    where = f"{service}.{spec.name}: consumes {topic!r} in group {spec.group_id!r}"
    if last.options.filter is None:
        raise BindError(
            f"{where} after {service}.{last.name}, which has no filter and so takes every "
            f"message; give {service}.{last.name} a filter=..., or one of them another group_id"
        )
    for name in _SHARED_OPTIONS:
        if getattr(first.options, name) != getattr(spec.options, name):
            raise BindError(
                f"{where} like {service}.{first.name}, so the two share one subscription, "
                f"but their {name} differ; make them the same, or give one another group_id"
            )
    if first.options.delivery.guarantee is not spec.options.delivery.guarantee:
        raise BindError(
            f"{where} like {service}.{first.name}, so the two share one subscription, but "
            "their delivery guarantees differ; make them the same, or give one another group_id"
        )
    for member in (first, spec):
        if member.options.batch:
            raise BindError(
                f"{service}.{member.name}: a batch handler cannot share {topic!r} in group "
                f"{spec.group_id!r} with another handler (filters pick single messages); "
                "give it a group_id of its own"
            )
