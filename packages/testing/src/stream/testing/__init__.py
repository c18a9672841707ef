"""Testing stream services without a broker: the in-memory broker and ``TestBroker``."""

from stream.testing.memory import MemoryBroker
from stream.testing.partitioner import murmur2, partition_for_key
from stream.testing.test_broker import HandlerProxy, TestBroker, records, sent

__all__ = (
    "HandlerProxy",
    "MemoryBroker",
    "TestBroker",
    "murmur2",
    "partition_for_key",
    "records",
    "sent",
)
