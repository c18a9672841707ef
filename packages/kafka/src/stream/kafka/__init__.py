"""stream's Apache Kafka transport.

``KafkaBroker`` implements :class:`stream.core.transport.Transport` on aiokafka. The local
single-node broker for tests and development is its own distribution,
``stream-kafka-local`` (``stream.kafka_local``).
"""

from stream.kafka._broker import KafkaBroker
from stream.kafka._errors import (
    KafkaTransportError,
    MessageTooLargeError,
    SubscriptionFailedError,
    UndecodableRecordError,
)
from stream.kafka._group_offsets import (
    ConsumerGroups,
    GroupNotEmptyError,
    PartitionLag,
    PlannedReset,
    ResetTo,
    UnknownTopicError,
)
from stream.kafka._options import ConsumerOptions, ProducerOptions
from stream.kafka._security import TLS, SASLPlain, SASLScram256, SASLScram512, Security

__all__ = (
    "TLS",
    "ConsumerGroups",
    "ConsumerOptions",
    "GroupNotEmptyError",
    "KafkaBroker",
    "KafkaTransportError",
    "MessageTooLargeError",
    "PartitionLag",
    "PlannedReset",
    "ProducerOptions",
    "ResetTo",
    "SASLPlain",
    "SASLScram256",
    "SASLScram512",
    "Security",
    "SubscriptionFailedError",
    "UndecodableRecordError",
    "UnknownTopicError",
)
