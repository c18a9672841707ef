"""stream's Apache Kafka transport, and a local single-node broker for tests and development.

``KafkaBroker`` implements :class:`stream.core.Transport` on aiokafka; ``LocalKafka``
starts a real Kafka (KRaft) broker from Maven Central jars, without Docker.
"""

from typing import TYPE_CHECKING, Any

from stream.kafka._broker import KafkaBroker
from stream.kafka._errors import KafkaTransportError, MessageTooLargeError, SubscriptionFailedError
from stream.kafka._options import ConsumerOptions, ProducerOptions
from stream.kafka._security import TLS, SASLPlain, SASLScram256, SASLScram512, Security

if TYPE_CHECKING:
    from stream.kafka.launcher import LauncherError, LocalKafka, LocalKafkaConfig

__all__ = (
    "TLS",
    "ConsumerOptions",
    "KafkaBroker",
    "KafkaTransportError",
    "LauncherError",
    "LocalKafka",
    "LocalKafkaConfig",
    "MessageTooLargeError",
    "ProducerOptions",
    "SASLPlain",
    "SASLScram256",
    "SASLScram512",
    "Security",
    "SubscriptionFailedError",
)

_LAUNCHER_NAMES = ("LauncherError", "LocalKafka", "LocalKafkaConfig")


def __getattr__(name: str) -> Any:
    # The launcher loads on first use: a service in production never needs it, and
    # `python -m stream.kafka.launcher` must not find its module imported already.
    if name in _LAUNCHER_NAMES:
        from stream.kafka import launcher

        return getattr(launcher, name)
    raise AttributeError(f"module 'stream.kafka' has no attribute {name!r}")
