"""Which lane handles a key, when a subscription runs ``concurrency > 1`` lanes.

A key keeps one lane for the subscription's life, so its messages are handled in order.
``hash(key) % lanes`` keeps that too, but spreads keys like balls into bins: 64 keys on 8
lanes gave the busiest lane 12-14 of them, and with a handler that waits on I/O that lane
sets the pace (3.9-4.2x one lane instead of up to 8x). So keys are dealt to the lanes in
turn as they are first seen: each lane gets an equal share of them.

The table stops growing at ``capacity`` keys; later keys are hashed. A key is either in the
table from its first message on or never, so no key ever changes lane. With that many
keys, hashing spreads them evenly enough: the imbalance is a problem of few keys.
"""

from __future__ import annotations

__all__ = ("KeyLanes",)

_CAPACITY = 4_096


class KeyLanes:
    """Deals keys to ``count`` lanes in turn, and remembers each key's lane."""

    __slots__ = ("_capacity", "_count", "_lanes", "_next")

    def __init__(self, count: int, capacity: int = _CAPACITY) -> None:
        self._count = count
        self._capacity = capacity
        self._lanes: dict[bytes, int] = {}
        self._next = 0

    def lane_of(self, key: bytes) -> int:
        """The lane of ``key``: the same for every message of it."""
        lane = self._lanes.get(key)
        if lane is None:
            if len(self._lanes) >= self._capacity:
                return hash(key) % self._count
            lane = self._lanes[key] = self._next
            self._next = (self._next + 1) % self._count
        return lane
