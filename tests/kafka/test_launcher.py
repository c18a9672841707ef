"""Tests of stream.kafka_local: a real broker started from Maven Central jars."""

from __future__ import annotations

import asyncio
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from stream.kafka_local import LauncherError, LocalKafka, LocalKafkaConfig, _broker, _jars
from stream.kafka_local._jars import ensure_kafka_jars

# The first test to start a broker may download the jars (minutes on a cold cache); the
# launcher bounds every wait itself, so a generous limit here hides no hang for long.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def kafka() -> Iterator[LocalKafka]:
    """One broker shared by the module: starting one costs seconds."""
    broker = LocalKafka(LocalKafkaConfig(partitions=1))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _topic() -> str:
    return f"launcher-{uuid.uuid4().hex[:12]}"


async def _produce(bootstrap: str, topic: str, *values: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def _consume(
    bootstrap: str, topic: str, until: bytes, isolation_level: str = "read_uncommitted"
) -> list[bytes]:
    """Read ``topic`` from the start until ``until`` shows up; return all values seen."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation_level,
    )
    await consumer.start()
    seen: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while until not in seen:
                record = await consumer.getone()
                assert record.value is not None
                seen.append(record.value)
    finally:
        await consumer.stop()
    return seen


@pytest.mark.kafka
def test_produce_and_consume(kafka: LocalKafka) -> None:
    topic = _topic()
    asyncio.run(_produce(kafka.bootstrap_servers, topic, b"hello"))
    assert asyncio.run(_consume(kafka.bootstrap_servers, topic, until=b"hello")) == [b"hello"]


@pytest.mark.kafka
def test_transactions_work(kafka: LocalKafka) -> None:
    topic = _topic()

    async def run() -> list[bytes]:
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka.bootstrap_servers, transactional_id=f"tx-{topic}"
        )
        await producer.start()
        try:
            await producer.begin_transaction()
            await producer.send_and_wait(topic, b"aborted")
            await producer.abort_transaction()
            async with producer.transaction():
                await producer.send_and_wait(topic, b"committed")
        finally:
            await producer.stop()
        return await _consume(
            kafka.bootstrap_servers, topic, until=b"committed", isolation_level="read_committed"
        )

    assert asyncio.run(run()) == [b"committed"]


@pytest.mark.kafka
def test_restart_and_kill_keep_data_and_address(kafka: LocalKafka) -> None:
    topic = _topic()
    bootstrap, data_dir = kafka.bootstrap_servers, kafka.data_dir
    asyncio.run(_produce(bootstrap, topic, b"before"))

    kafka.restart()
    assert (kafka.bootstrap_servers, kafka.data_dir) == (bootstrap, data_dir)
    asyncio.run(_produce(bootstrap, topic, b"after-restart"))
    assert asyncio.run(_consume(bootstrap, topic, until=b"after-restart")) == [
        b"before",
        b"after-restart",
    ]

    old_pid = kafka.pid
    kafka.kill()
    assert kafka.pid is None
    assert old_pid is not None and not _alive(old_pid)
    kafka.start()
    assert kafka.bootstrap_servers == bootstrap
    assert asyncio.run(_consume(bootstrap, topic, until=b"after-restart"))[0] == b"before"


@pytest.mark.kafka
def test_stop_ends_process_and_removes_temp_dir() -> None:
    with LocalKafka(LocalKafkaConfig(partitions=3)) as broker:
        pid, tmp = broker.pid, broker.data_dir.parent
        assert pid is not None and tmp.is_dir()
        assert (tmp / "logs" / "server.log").is_file()
        assert "num.partitions=3\n" in (tmp / "server.properties").read_text()
    assert not _alive(pid)
    assert not tmp.exists()
    broker.stop()  # a second stop is harmless


@pytest.mark.kafka
def test_taken_port_is_picked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process may grab a picked port before java binds it; the launcher retries.
    real_free_ports = _broker.free_ports
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = int(busy.getsockname()[1])
        picks = iter([[taken, *real_free_ports(1)]])
        monkeypatch.setattr(
            _broker, "free_ports", lambda n: next(picks, None) or real_free_ports(n)
        )
        with LocalKafka() as broker:
            assert broker.bootstrap_servers != f"127.0.0.1:{taken}"
            assert next(picks, None) is None


@pytest.mark.kafka
def test_cli_prints_bootstrap_and_stops_on_sigterm() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "stream.kafka_local", "--partitions", "2"],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            line = _read_line(proc, deadline=time.monotonic() + 300)
            assert line.startswith("STREAM_KAFKA_BOOTSTRAP=127.0.0.1:")
            bootstrap = line.strip().split("=", 1)[1]

            async def partitions() -> set[int]:
                producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
                await producer.start()
                try:
                    await producer.send_and_wait(topic, b"x")
                    return await producer.partitions_for(topic)
                finally:
                    await producer.stop()

            topic = _topic()
            assert asyncio.run(partitions()) == {0, 1}
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.terminate()  # the launcher stops its broker and cleans up


@pytest.mark.kafka
def test_broker_dies_with_its_python_process(tmp_path: Path) -> None:
    # The owner is SIGKILLed, so no atexit runs: only the watchdog can stop the broker.
    code = (
        "import time\n"
        "from stream.kafka_local import LocalKafka\n"
        "k = LocalKafka()\n"
        "k.start()\n"
        "print(k.pid, k.data_dir.parent, flush=True)\n"
        "time.sleep(600)\n"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as owner:
        try:
            pid_text, tmp = _read_line(owner, deadline=time.monotonic() + 300).split()
        finally:
            owner.kill()
    pid = int(pid_text)
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    shutil.rmtree(tmp, ignore_errors=True)
    assert not _alive(pid)


def test_missing_java_is_a_clear_error() -> None:
    broker = LocalKafka(LocalKafkaConfig(java="/nonexistent/bin/java"))
    with pytest.raises(LauncherError, match=r"Java 17\+ is needed .*Install OpenJDK 17"):
        broker.start()


def test_old_java_is_a_clear_error(tmp_path: Path) -> None:
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    broker = LocalKafka(LocalKafkaConfig(java=str(java)))
    with pytest.raises(
        LauncherError, match=rf"found Java 11 at {re.escape(str(java))}\. Install OpenJDK"
    ):
        broker.start()


def test_missing_maven_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LauncherError, match=r"Maven is needed .*Install Maven"):
        ensure_kafka_jars("4.1.0", cache_dir=tmp_path / "cache")


def test_ensure_kafka_jars_runs_maven_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in mvn that "downloads" one jar slowly and counts its runs.
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(
        "#!/bin/sh\n"
        f"echo run >> {calls}\n"
        "sleep 0.5\n"
        'for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#*=}";; esac; done\n'
        'mkdir -p "$out" && touch "$out/kafka_2.13-9.9.9.jar"\n'
    )
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    cache = tmp_path / "cache"

    # Two at once must not both download or corrupt the cache.
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_kafka_jars("9.9.9", cache)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [cache / "9.9.9" / "libs"] * 2
    assert (results[0] / "kafka_2.13-9.9.9.jar").is_file()
    marker = cache / "9.9.9" / "complete"
    mtime = marker.stat().st_mtime_ns

    assert ensure_kafka_jars("9.9.9", cache) == results[0]
    assert calls.read_text().count("run") == 1
    assert marker.stat().st_mtime_ns == mtime
    assert [p.name for p in (cache / "9.9.9").iterdir() if p.name.startswith(".staging")] == []


def test_ensure_kafka_jars_reports_maven_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mvn = tmp_path / "mvn"
    mvn.write_text("#!/bin/sh\necho '[ERROR] Could not resolve dependencies' >&2\nexit 1\n")
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(LauncherError, match=r"(?s)failed \(exit code 1\).*Could not resolve"):
        ensure_kafka_jars("9.9.8", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "9.9.8" / "libs").exists()


@pytest.mark.kafka
def test_ensure_kafka_jars_is_idempotent(
    kafka: LocalKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = kafka.config.kafka_version
    libs = ensure_kafka_jars(version, kafka.config.cache_dir)
    marker = libs.parent / "complete"
    mtime = marker.stat().st_mtime_ns

    def no_maven(*args: object, **kwargs: object) -> None:
        raise AssertionError("Maven must not run for a cached version")

    monkeypatch.setattr(_jars.subprocess, "run", no_maven)
    assert ensure_kafka_jars(version, kafka.config.cache_dir) == libs
    assert marker.stat().st_mtime_ns == mtime
    assert any(p.name.startswith("log4j-slf4j-impl-") for p in libs.iterdir())


def test_bad_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="not a Kafka version"):
        ensure_kafka_jars("../4.1.0")


def _alive(pid: int) -> bool:
    """True if ``pid`` runs and is no zombie (a reparented zombie may never be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline()
            if line:
                return line
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode} before printing a line")
    raise AssertionError("no line printed in time")
