"""A local Apache Kafka (KRaft) broker or cluster for tests, benchmarks and development.

:class:`LocalKafka` starts a real broker from the Maven Central jars (Java 17+ and Maven
needed; the first run downloads them into a per-user cache), without Docker. Each one
gets its own temporary folder, free ports and a freshly formatted log dir;
``LocalKafkaConfig(nodes=3)`` makes it a replicated three-node cluster, and
``proxied=True`` puts a :class:`FaultProxy` between clients and the nodes. Run
``python -m stream.kafka_local`` to start one from a shell: it prints
``STREAM_KAFKA_BOOTSTRAP=127.0.0.1:PORT`` once the broker is ready.

Development tooling, kept out of the production ``stream-kafka`` wheel.
"""

from stream.kafka_local._broker import LocalKafka
from stream.kafka_local._config import LocalKafkaConfig
from stream.kafka_local._jars import LauncherError
from stream.kafka_local._node import KafkaNode
from stream.kafka_local._proxy import FaultProxy

__all__ = ("FaultProxy", "KafkaNode", "LauncherError", "LocalKafka", "LocalKafkaConfig")
