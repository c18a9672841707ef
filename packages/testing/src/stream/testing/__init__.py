"""Testing stream services without a broker: the in-memory broker and ``TestBroker``.

``TestBroker(service)`` runs a service on a :class:`MemoryBroker` inside ``async with``;
``sent`` and ``records`` read what reached a topic. The pytest plugin
(:mod:`stream.testing.plugin`, registered as an entry point) adds the ``memory_broker``
and ``kafka_bootstrap`` fixtures.
"""

from stream.testing._memory import MemoryBroker
from stream.testing._partitioner import murmur2, partition_for_key
from stream.testing._test_broker import MockedHandler, TestBroker, records, sent

__all__ = (
    "MemoryBroker",
    "MockedHandler",
    "TestBroker",
    "murmur2",
    "partition_for_key",
    "records",
    "sent",
)
