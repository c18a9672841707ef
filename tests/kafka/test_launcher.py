"""Tests of stream.kafka_local: a real broker started from Maven Central jars."""

from __future__ import annotations

import asyncio
import hashlib
import json
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
    # A stand-in mvn that "downloads" slowly and logs its runs.
    calls = _stand_in_mvn(tmp_path, monkeypatch, delay=0.5)
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
    [args] = _runs(calls)
    assert marker.stat().st_mtime_ns == mtime
    assert [p.name for p in (cache / "9.9.9").iterdir() if p.name.startswith(".staging")] == []
    # Checksums enforced, and every file downloaded (so checked) in this run.
    assert "--strict-checksums" in args
    [repository] = [a.split("=", 1)[1] for a in args if a.startswith("-Dmaven.repo.local=")]
    assert Path(repository).parent.name.startswith(".staging-")


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


def test_manifest_records_each_jar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stand_in_mvn(tmp_path, monkeypatch)
    libs = ensure_kafka_jars("9.9.9", tmp_path / "cache")
    assert _manifest(libs.parent) == {
        name: hashlib.sha256(data).hexdigest() for name, data in _JARS.items()
    }


def test_preseeded_cache_with_extra_jar_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the launcher used to trust: a marker and a libs folder, here with a jar of
    # somebody else's. Without a manifest it is not used; without Maven, nothing runs.
    root = tmp_path / "cache" / "9.9.9"
    (root / "libs").mkdir(parents=True)
    for name, data in _JARS.items():
        (root / "libs" / name).write_bytes(data)
    (root / "libs" / "evil.jar").write_bytes(b"PK evil")
    (root / "complete").write_text("kafka 9.9.9\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    java = _stand_in_java(tmp_path)
    with pytest.raises(LauncherError, match=r"Maven is needed .*have no manifest"):
        LocalKafka(_config(tmp_path, java)).start()
    assert _ran_with_classpath(java) == []

    # With Maven, the folder is downloaded again as a whole: the extra jar is gone.
    _stand_in_mvn(tmp_path, monkeypatch)
    libs = ensure_kafka_jars("9.9.9", tmp_path / "cache")
    assert sorted(p.name for p in libs.iterdir()) == sorted(_JARS)


def test_extra_jar_next_to_the_manifest_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs = _cached(tmp_path, monkeypatch)
    (libs / "evil.jar").write_bytes(b"PK evil")
    java = _stand_in_java(tmp_path)
    with pytest.raises(LauncherError, match=_refusal(libs / "evil.jar", "is not in")):
        LocalKafka(_config(tmp_path, java)).start()
    assert _ran_with_classpath(java) == []


def test_tampered_jar_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    libs = _cached(tmp_path, monkeypatch)
    jar = libs / "kafka-clients-9.9.9.jar"
    before = jar.stat()
    data = bytearray(jar.read_bytes())
    data[0] ^= 0xFF
    jar.write_bytes(data)
    # Same size, same mtime: only the bytes tell.
    os.utime(jar, ns=(before.st_atime_ns, before.st_mtime_ns))
    java = _stand_in_java(tmp_path)
    with pytest.raises(LauncherError, match=_refusal(jar, "has changed since it was downloaded")):
        LocalKafka(_config(tmp_path, java)).start()
    assert _ran_with_classpath(java) == []


def test_missing_or_linked_jar_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    libs = _cached(tmp_path, monkeypatch)
    jar = libs / "kafka-clients-9.9.9.jar"
    jar.rename(tmp_path / "elsewhere.jar")
    with pytest.raises(LauncherError, match=_refusal(jar, "lacks")):
        ensure_kafka_jars("9.9.9", tmp_path / "cache")
    jar.symlink_to(tmp_path / "elsewhere.jar")  # the same bytes, through a link
    with pytest.raises(LauncherError, match=r"a symbolic link is refused"):
        ensure_kafka_jars("9.9.9", tmp_path / "cache")


@pytest.mark.parametrize("writable_by", [0o020, 0o002], ids=["group", "others"])
@pytest.mark.parametrize("where", ["cache root", "version folder", "libs", "jar", "manifest"])
def test_cache_writable_by_others_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, writable_by: int
) -> None:
    libs = _cached(tmp_path, monkeypatch)
    path = {
        "cache root": tmp_path / "cache",
        "version folder": libs.parent,
        "libs": libs,
        "jar": libs / "kafka_2.13-9.9.9.jar",
        "manifest": libs.parent / MANIFEST,
    }[where]
    path.chmod(path.stat().st_mode | writable_by)
    java = _stand_in_java(tmp_path)
    quoted = re.escape(str(path))
    with pytest.raises(
        LauncherError, match=rf"{quoted} is writable by group or others .*chmod (-R )?go-w {quoted}"
    ):
        LocalKafka(_config(tmp_path, java)).start()
    assert _ran_with_classpath(java) == []


def test_writable_cache_root_is_refused_before_any_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _stand_in_mvn(tmp_path, monkeypatch)
    cache = tmp_path / "shared"
    cache.mkdir()
    cache.chmod(0o777)
    with pytest.raises(LauncherError, match=r"shared is writable by group or others"):
        ensure_kafka_jars("9.9.9", cache)
    assert _runs(calls) == []


def test_cache_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    libs = _cached(tmp_path, monkeypatch)
    me = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: me + 1)
    with pytest.raises(
        LauncherError,
        match=rf"folder \S*cache belongs to uid {me}, not to you .*as root: chown -R {me + 1} ",
    ):
        ensure_kafka_jars("9.9.9", libs.parent.parent)


def test_download_under_a_permissive_umask_leaves_a_private_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stand_in_mvn(tmp_path, monkeypatch)
    old = os.umask(0o002)
    try:
        libs = ensure_kafka_jars("9.9.9", tmp_path / "new" / "cache")
    finally:
        os.umask(old)
    for path in [tmp_path / "new", libs.parent.parent, libs.parent, libs, *libs.iterdir()]:
        assert path.stat().st_mode & 0o022 == 0, path
    assert ensure_kafka_jars("9.9.9", tmp_path / "new" / "cache") == libs


def test_download_not_matching_the_published_sha1_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stand_in_mvn(tmp_path, monkeypatch, sha1s={"kafka-clients-9.9.9.jar": "0" * 40})
    root = tmp_path / "cache" / "9.9.9"
    with pytest.raises(LauncherError, match=r"kafka-clients-9.9.9.jar does not match the SHA-1"):
        ensure_kafka_jars("9.9.9", tmp_path / "cache")
    _stand_in_mvn(tmp_path, monkeypatch, sha1s={"kafka-clients-9.9.9.jar": None})
    with pytest.raises(LauncherError, match=r"published no SHA-1 for it"):
        ensure_kafka_jars("9.9.9", tmp_path / "cache")
    assert sorted(p.name for p in root.iterdir()) == [".lock"]


def test_maven_checksum_failure_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mvn = tmp_path / "mvn"
    mvn.write_text(
        "#!/bin/sh\necho '[ERROR] Could not transfer artifact x:y:jar:1: Checksum validation "
        "failed, expected 1234 but is 5678' >&2\nexit 1\n"
    )
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(
        LauncherError, match=r"(?s)did not match the checksum its repository.*expected 1234"
    ):
        ensure_kafka_jars("9.9.7", cache_dir=tmp_path / "cache")


@pytest.mark.kafka
def test_fresh_download_is_verified_and_starts(kafka: LocalKafka, tmp_path: Path) -> None:
    # A real download (Maven, through the machine's repository settings) into an empty
    # cache: checked against the published checksums, recorded, and java runs from it.
    version = kafka.config.kafka_version
    libs = ensure_kafka_jars(version, tmp_path / "cache")
    recorded = _manifest(libs.parent)
    assert recorded == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in libs.iterdir()}
    assert f"kafka_2.13-{version}.jar" in recorded
    # The same jars as in the shared cache the module's broker runs from.
    shared = ensure_kafka_jars(version, kafka.config.cache_dir)
    assert _manifest(shared.parent) == recorded
    with LocalKafka(LocalKafkaConfig(cache_dir=tmp_path / "cache")) as broker:
        topic = _topic()
        asyncio.run(_produce(broker.bootstrap_servers, topic, b"verified"))
        assert asyncio.run(_consume(broker.bootstrap_servers, topic, until=b"verified"))


MANIFEST = "manifest.sha256"
"""Where a download records each jar's sha256, next to ``libs`` (``sha256sum`` format)."""

_JARS = {"kafka_2.13-9.9.9.jar": b"PK kafka broker", "kafka-clients-9.9.9.jar": b"PK clients"}
"""What the stand-in Maven "downloads" for Kafka 9.9.9."""


def _stand_in_mvn(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    delay: float = 0.0,
    sha1s: dict[str, str | None] | None = None,
) -> Path:
    """Put a stand-in ``mvn`` first on PATH; return the file where it logs its arguments.

    Like Maven's dependency:copy-dependencies, it writes the jars into ``-DoutputDirectory``
    and into the local repository (``-Dmaven.repo.local``) next to their published
    ``.sha1``: the right one unless ``sha1s`` says otherwise (``None``: none published).
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "mvn-calls"
    script = bin_dir / "mvn"
    script.write_text(
        f"#!{sys.executable}\n"
        "import hashlib, json, sys, time\n"
        "from pathlib import Path\n"
        f"jars, sha1s, calls = {_JARS!r}, {sha1s or {}!r}, {str(calls)!r}\n"
        "with open(calls, 'a') as log:\n"
        "    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "args = [a[2:].split('=', 1) for a in sys.argv[1:] if a.startswith('-D') and '=' in a]\n"
        "opts = dict(args)\n"
        "out = Path(opts['outputDirectory'])\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "for name, data in jars.items():\n"
        "    (out / name).write_bytes(data)\n"
        "    if 'maven.repo.local' in opts:\n"
        "        folder = Path(opts['maven.repo.local'], 'org', 'example', name[:-4])\n"
        "        folder.mkdir(parents=True, exist_ok=True)\n"
        "        (folder / name).write_bytes(data)\n"
        "        sha1 = sha1s.get(name, hashlib.sha1(data).hexdigest())\n"
        "        if sha1 is not None:\n"
        "            (folder / (name + '.sha1')).write_text(sha1 + '\\n')\n"
        f"time.sleep({delay})\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def _runs(calls: Path) -> list[list[str]]:
    """The argument lists the stand-in mvn was run with."""
    if not calls.exists():
        return []
    return [json.loads(line) for line in calls.read_text().splitlines()]


def _cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache for Kafka 9.9.9 as a download leaves it, under ``tmp_path/cache``; its libs."""
    _stand_in_mvn(tmp_path, monkeypatch)
    return ensure_kafka_jars("9.9.9", tmp_path / "cache")


def _stand_in_java(tmp_path: Path) -> Path:
    """A java that reports version 17 and logs every other run (and fails it)."""
    java = tmp_path / "java"
    java.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {tmp_path / "java-calls"}\n'
        'if [ "$1" = -version ]; then echo \'openjdk version "17.0.2"\' >&2; exit 0; fi\n'
        "exit 1\n"
    )
    java.chmod(0o755)
    return java


def _ran_with_classpath(java: Path) -> list[str]:
    """The runs of the stand-in java that were given a class path (so would run jars)."""
    calls = java.parent / "java-calls"
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [line for line in lines if "-cp" in line.split()]


def _config(tmp_path: Path, java: Path) -> LocalKafkaConfig:
    return LocalKafkaConfig(kafka_version="9.9.9", cache_dir=tmp_path / "cache", java=str(java))


def _refusal(path: Path, what: str) -> str:
    """A pattern for an error naming ``path`` and saying to delete its version folder."""
    root = path.parent.parent
    return rf"^(?=.*{re.escape(str(path))})(?=.*{what}).* rm -rf {re.escape(str(root))}$"


def _manifest(root: Path) -> dict[str, str]:
    """name -> sha256 from the manifest of a version folder."""
    lines = (root / MANIFEST).read_text().splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


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
