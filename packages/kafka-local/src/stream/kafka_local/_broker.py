"""The local broker: one ``java kafka.Kafka`` process with its own folder and ports.

The broker runs from jars that Maven downloads once into a per-user cache; each
:class:`LocalKafka` gets its own temporary folder, free ports and a freshly formatted
log dir.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from stream.kafka_local._config import LocalKafkaConfig
from stream.kafka_local._files import cluster_id, log4j2_properties, server_properties
from stream.kafka_local._jars import LauncherError, check_java, ensure_kafka_jars, tail
from stream.kafka_local._process import (
    broker_ready,
    free_ports,
    kill_group,
    spawn_watchdog,
    terminate_group,
)

__all__ = ("LocalKafka",)

_HOST = "127.0.0.1"
_STOP_GRACE = 20.0
_PORT_ATTEMPTS = 3


class _PortInUseError(LauncherError):
    """The broker exited because one of its ports was taken."""


class LocalKafka:
    """One local Kafka broker process; also a context manager (start on enter, stop on exit).

    Example:
        >>> with LocalKafka() as kafka:  # doctest: +SKIP
        ...     print(kafka.bootstrap_servers)
    """

    def __init__(self, config: LocalKafkaConfig | None = None) -> None:
        """Prepare a broker; nothing runs until :meth:`start`."""
        self.config = config if config is not None else LocalKafkaConfig()
        self._tmp: Path | None = None
        self._port = 0
        self._controller_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._java_ok = False

    @property
    def bootstrap_servers(self) -> str:
        """``"127.0.0.1:<port>"`` of the running broker."""
        if self._tmp is None:
            raise LauncherError("the local Kafka broker has not been started")
        return f"{_HOST}:{self._port}"

    @property
    def data_dir(self) -> Path:
        """The broker's log dir (``log.dirs``) inside its temporary folder."""
        if self._tmp is None:
            raise LauncherError("the local Kafka broker has not been started")
        return self._tmp / "data"

    @property
    def pid(self) -> int | None:
        """Process id of the running java process, or ``None``."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Download the jars if needed, format storage once, start java and wait until ready.

        Raises:
            LauncherError: Java or Maven missing, download failed, the jar cache failed
                its checks (see the package README, "Trust"), the broker exited early or
                was not ready within ``startup_timeout``.
        """
        with self._lock:
            if self.pid is not None:
                return
            self._halt(kill=True)  # reap a broker that died on its own, and its watchdog
            if not self._java_ok:
                check_java(self.config.java)
                self._java_ok = True
            libs = ensure_kafka_jars(self.config.kafka_version, self.config.cache_dir)
            fresh = self._tmp is None
            # Free ports are picked before java binds them, so another process can take
            # one in between; on a fresh start, pick again rather than fail.
            attempts = _PORT_ATTEMPTS if fresh and self.config.port is None else 1
            for attempt in range(1, attempts + 1):
                try:
                    if fresh:
                        self._prepare(libs)
                    self._launch(libs)
                    return
                except BaseException as exc:
                    self._halt(kill=True)
                    if fresh:
                        self._remove_tmp()
                    if not (isinstance(exc, _PortInUseError) and attempt < attempts):
                        raise

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 20 s) and remove its temporary folder.

        The folder is kept if ``config.keep_data`` is set. Safe to call more than once.
        """
        with self._lock:
            self._halt(kill=False)
            self._remove_tmp()

    def restart(self) -> None:
        """Stop the broker cleanly and start it again on the same ports with the same data."""
        with self._lock:
            self._halt(kill=False)
            self.start()

    def kill(self) -> None:
        """SIGKILL the broker, like a crash; data and ports are kept for :meth:`start`."""
        with self._lock:
            self._halt(kill=True)

    def __enter__(self) -> LocalKafka:
        """Start the broker."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the broker."""
        self.stop()

    def _prepare(self, libs: Path) -> None:
        """Create the temporary folder, pick ports, write the configs and format storage."""
        self._tmp = Path(tempfile.mkdtemp(prefix="stream-kafka-"))
        # Until stop(): a killed broker still leaves a folder to remove at exit.
        atexit.register(self._atexit_stop)
        if self.config.port is None:
            self._port, self._controller_port = free_ports(2)
        else:
            self._port = self.config.port
            (self._controller_port,) = free_ports(1)
        (self._tmp / "logs").mkdir()
        (self._tmp / "log4j2.properties").write_text(log4j2_properties(), encoding="utf-8")
        (self._tmp / "server.properties").write_text(
            server_properties(
                port=self._port,
                controller_port=self._controller_port,
                data_dir=self._tmp / "data",
                partitions=self.config.partitions,
                extra=self.config.extra_properties,
            ),
            encoding="utf-8",
        )
        command = [
            *self._java_command(libs, heap="256m"),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id(),
            "-c",
            str(self._tmp / "server.properties"),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - java chosen by the caller, fixed arguments
                command, capture_output=True, text=True, timeout=180, check=False
            )
        except subprocess.TimeoutExpired:
            raise LauncherError(f"Formatting the Kafka storage in {self._tmp} hung") from None
        if done.returncode != 0:
            raise LauncherError(
                f"Formatting the Kafka storage in {self._tmp} failed (exit code "
                f"{done.returncode}).\n" + tail(done.stdout + done.stderr)
            )

    def _java_command(self, libs: Path, heap: str) -> list[str]:
        assert self._tmp is not None
        return [
            self.config.java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self._tmp / 'logs'}",
            f"-Dlog4j2.configurationFile={self._tmp / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",
        ]

    def _launch(self, libs: Path) -> None:
        """Spawn the broker and wait until it serves metadata to clients."""
        assert self._tmp is not None
        command = [
            *self._java_command(libs, heap=self.config.heap),
            "kafka.Kafka",
            str(self._tmp / "server.properties"),
        ]
        # A file, not a PIPE: nobody reads java's output while it runs, and a full pipe
        # would stall the broker.
        with (self._tmp / "java.out").open("ab") as out:
            # Own session: a Ctrl-C in the terminal reaches us, not java; we stop it.
            self._proc = subprocess.Popen(  # noqa: S603 - java chosen by the caller
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self._tmp,
                start_new_session=True,
            )
        self._watchdog = spawn_watchdog(self._proc.pid)
        self._wait_ready(self._proc)

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.config.startup_timeout
        while True:
            if proc.poll() is not None:
                logs = self._logs()
                if any("Address already in use" in text for text in logs.values()):
                    raise _PortInUseError(
                        f"The local Kafka broker could not listen on 127.0.0.1:{self._port} "
                        f"or :{self._controller_port}: the port is already in use.\n"
                        + self._log_tail()
                    )
                raise LauncherError(
                    f"The local Kafka broker exited early with code {proc.returncode}.\n"
                    + self._log_tail()
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LauncherError(
                    f"The local Kafka broker was not ready within "
                    f"{self.config.startup_timeout:.0f} s on {self.bootstrap_servers}.\n"
                    + self._log_tail()
                )
            if broker_ready(_HOST, self._port, timeout=min(2.0, max(remaining, 0.1))):
                return
            # A short pause between probes; connection refused returns at once.
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))

    def _logs(self) -> dict[Path, str]:
        """The broker's log and java's own output, by path (missing ones left out)."""
        assert self._tmp is not None
        paths = (self._tmp / "logs" / "server.log", self._tmp / "java.out")
        return {p: p.read_text(encoding="utf-8", errors="replace") for p in paths if p.is_file()}

    def _log_tail(self) -> str:
        parts = [
            f"  last lines of {path}:\n{tail(text)}"
            for path, text in self._logs().items()
            if text.strip()
        ]
        return "\n".join(parts) or "  (the broker wrote no log)"

    def _halt(self, *, kill: bool) -> None:
        """End the java process (and its watchdog) but keep the temporary folder."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if kill:
                kill_group(proc)
            else:
                terminate_group(proc, grace=_STOP_GRACE)
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            # Killed, not released: releasing it would signal a group id that may be reused.
            watchdog.kill()
            watchdog.wait()
            if watchdog.stdin is not None:
                watchdog.stdin.close()

    def _remove_tmp(self) -> None:
        atexit.unregister(self._atexit_stop)
        tmp, self._tmp = self._tmp, None
        if tmp is not None and not self.config.keep_data:
            shutil.rmtree(tmp, ignore_errors=True)

    def _atexit_stop(self) -> None:
        self.stop()
