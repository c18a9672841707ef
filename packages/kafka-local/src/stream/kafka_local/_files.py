"""Text of the files the local Kafka launcher writes: the Maven pom, server.properties, log4j2.

Kept apart from the process handling so each piece stays small and can be read (and
tested) on its own. Everything here is pure: strings in, strings out.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

__all__ = (
    "LOG4J_VERSION",
    "cluster_id",
    "log4j2_properties",
    "pom_xml",
    "server_properties",
    "validate_version",
)

# Every Kafka 4.x broker logs through SLF4J 1.7 (slf4j-api 1.7.36), so the binding that
# routes it into log4j2 is log4j-slf4j-impl, not the SLF4J 2 one. Kafka 4.0 brings no
# log4j jars at all and 4.1+ bring log4j-api/core only (no binding), so all three are
# pinned here; a newer log4j 2.x is backward compatible with what older brokers expect.
LOG4J_VERSION = "2.25.5"

# Pinned so the result does not depend on which plugin version Maven would pick by prefix.
_DEPENDENCY_PLUGIN_VERSION = "3.8.1"

_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(?:[-.][0-9A-Za-z]+)*$")


def validate_version(version: str) -> str:
    """Return ``version`` if it looks like a Maven version, else raise ``ValueError``.

    The version ends up in a pom and in a cache path, so it must not smuggle in markup
    or path separators.
    """
    if not _VERSION_RE.fullmatch(version):
        raise ValueError(f"not a Kafka version: {version!r} (expected e.g. '4.1.2')")
    return version


def pom_xml(kafka_version: str) -> str:
    """Return a minimal pom whose dependencies are everything the broker needs at run time."""
    validate_version(kafka_version)
    log4j = "\n".join(
        f"    <dependency><groupId>org.apache.logging.log4j</groupId>"
        f"<artifactId>{artifact}</artifactId><version>{LOG4J_VERSION}</version></dependency>"
        for artifact in ("log4j-api", "log4j-core", "log4j-slf4j-impl")
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.stream</groupId>
  <artifactId>stream-kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>\
<version>{kafka_version}</version></dependency>
{log4j}
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>{_DEPENDENCY_PLUGIN_VERSION}</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
"""


def cluster_id() -> str:
    """Return a fresh KRaft cluster id: 16 random bytes, url-safe base64 without padding.

    An id starting with "-" would be read as an option by the storage tool's argument
    parser; Kafka's own ``Uuid.randomUuid`` draws again in that case, and so do we.
    """
    while True:
        found = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")
        if not found.startswith("-"):
            return found


def server_properties(
    *,
    port: int,
    controller_port: int,
    data_dir: Path,
    partitions: int,
    extra: Mapping[str, str],
    node_id: int = 1,
    voters: Mapping[int, int] | None = None,
    proxied: tuple[int, int] | None = None,
) -> str:
    """Return server.properties for a combined broker+controller node on 127.0.0.1.

    Args:
        port: The PLAINTEXT listener: clients and the other brokers.
        controller_port: This node's controller listener.
        data_dir: ``log.dirs``.
        partitions: ``num.partitions`` of auto-created topics.
        extra: Wins over every default, so callers can tune anything.
        node_id: ``node.id``.
        voters: ``{node id: controller port}`` of every node of the quorum; ``None`` for
            a single node. With three or more, every topic (internal ones too) is
            replicated three times and needs two in-sync replicas to take a write.
        proxied: ``(listener port, proxy port)``: a second client listener, advertised
            as the fault proxy's port, so clients that bootstrap through the proxy stay
            behind it while the brokers replicate over PLAINTEXT, around it.
    """
    voters = voters or {node_id: controller_port}
    replicas = min(len(voters), 3)
    in_sync = str(max(1, replicas - 1))
    listeners = {"PLAINTEXT": port, "CONTROLLER": controller_port}
    advertised = {"PLAINTEXT": port}
    if proxied is not None:
        listeners["PROXIED"], advertised["PROXIED"] = proxied
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": ",".join(
            f"{node}@127.0.0.1:{controller}" for node, controller in sorted(voters.items())
        ),
        "listeners": _listeners(listeners),
        "advertised.listeners": _listeners(advertised),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": ",".join(f"{name}:PLAINTEXT" for name in listeners),
        "log.dirs": str(data_dir),
        "num.partitions": str(partitions),
        "auto.create.topics.enable": "true",
        "default.replication.factor": str(replicas),
        "min.insync.replicas": in_sync,
        # One partition per internal topic: creating 50 offset partitions costs seconds
        # on a small machine, and one is enough to test its leader moving.
        "offsets.topic.replication.factor": str(replicas),
        "offsets.topic.num.partitions": "1",
        # Transactions (exactly-once) need the state log to be creatable on one node.
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": in_sync,
        "transaction.state.log.num.partitions": "1",
        "share.coordinator.state.topic.replication.factor": str(replicas),
        "share.coordinator.state.topic.min.isr": in_sync,
        # Tests join groups all the time; the default 3 s delay would slow every one.
        "group.initial.rebalance.delay.ms": "0",
        # Lets tests use short session timeouts to make failover quick.
        "group.min.session.timeout.ms": "1000",
        # After a crash (kill -9) the restarted broker cannot register until the old
        # incarnation's session expires: 9 s by default, ~4 s with these.
        "broker.heartbeat.interval.ms": "1000",
        "broker.session.timeout.ms": "4000",
        "log.retention.check.interval.ms": "300000",
        # The cleaner's dedupe buffer lives on the heap (128 MiB by default); a test
        # broker with a 512 MiB heap has better uses for it.
        "log.cleaner.dedupe.buffer.size": str(32 * 1024 * 1024),
    }
    for key, value in extra.items():
        if any(c in key + value for c in "\r\n"):
            raise ValueError(f"broker property {key!r} must be one line")
        props[key] = value
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _listeners(ports: Mapping[str, int]) -> str:
    return ",".join(f"{name}://127.0.0.1:{port}" for name, port in ports.items())


def log4j2_properties() -> str:
    """Return a log4j2 config that sends broker logs to ``${kafka.logs.dir}/server.log``."""
    return """status = warn
name = stream-kafka

appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2

rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE

# Per-request and state-change chatter drowns the lines that explain a failure.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""
