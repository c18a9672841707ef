"""One node of a local cluster: one ``java kafka.Kafka`` process, its folder and ports.

A node is a combined broker and KRaft controller. :class:`~stream.kafka_local.LocalKafka`
creates, formats and starts its nodes; a test takes one down and up again through the
node itself (:meth:`KafkaNode.kill`, :meth:`KafkaNode.terminate`, :meth:`KafkaNode.start`)
while the others go on.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from stream.kafka_local._jars import LauncherError, tail
from stream.kafka_local._process import (
    broker_ready,
    kill_group,
    spawn_watchdog,
    terminate_group,
)

__all__ = ("KafkaNode", "NodePorts", "PortInUseError")

HOST = "127.0.0.1"
_STOP_GRACE = 20.0


class PortInUseError(LauncherError):
    """The node exited because one of its ports was taken."""


@dataclass(frozen=True)
class NodePorts:
    """A node's ports on 127.0.0.1.

    Attributes:
        client: The PLAINTEXT listener: clients, and the other brokers.
        controller: The KRaft controller listener.
        proxied: The listener clients reach through the fault proxy (``None`` without one).
        proxy: The proxy's port this node advertises for ``proxied`` (``None`` without one).
    """

    client: int
    controller: int
    proxied: int | None = None
    proxy: int | None = None


class KafkaNode:
    """One combined broker/controller process of a :class:`~stream.kafka_local.LocalKafka`.

    Attributes:
        node_id: Its ``node.id`` (1, 2, 3, ...).
        ports: Its ports.
        folder: Its folder: ``server.properties``, ``data/``, ``logs/``.
    """

    def __init__(
        self,
        node_id: int,
        ports: NodePorts,
        folder: Path,
        java_command: list[str],
        startup_timeout: float,
    ) -> None:
        """Describe a node; :class:`LocalKafka` writes its files and starts it."""
        self.node_id = node_id
        self.ports = ports
        self.folder = folder
        self._java_command = java_command
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()

    @property
    def bootstrap_servers(self) -> str:
        """``"127.0.0.1:<port>"`` of this node's own client listener (no proxy)."""
        return f"{HOST}:{self.ports.client}"

    @property
    def pid(self) -> int | None:
        """Process id of the running java process, or ``None``."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start the node on its ports and data if it is not running; wait until it serves."""
        with self._lock:
            if self.pid is not None:
                return
            self._halt(kill=True)  # reap a process that died on its own, and its watchdog
            self.spawn()
            try:
                self.wait_ready()
            except BaseException:
                self._halt(kill=True)
                raise

    def terminate(self) -> None:
        """SIGTERM (a clean shutdown: leadership moves away first); SIGKILL after 20 s."""
        with self._lock:
            self._halt(kill=False)

    def kill(self) -> None:
        """SIGKILL, like a crash; :meth:`start` brings it back on the same data and ports."""
        with self._lock:
            self._halt(kill=True)

    def spawn(self) -> None:
        """Start java without waiting (the nodes of a quorum must start together)."""
        command = [*self._java_command, "kafka.Kafka", str(self.folder / "server.properties")]
        # A file, not a PIPE: nobody reads java's output while it runs, and a full pipe
        # would stall the broker.
        with (self.folder / "java.out").open("ab") as out:
            # Own session: a Ctrl-C in the terminal reaches us, not java; we stop it.
            self._proc = subprocess.Popen(  # noqa: S603 - java chosen by the caller
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                start_new_session=True,
            )
        self._watchdog = spawn_watchdog(self._proc.pid)

    def wait_ready(self) -> None:
        """Wait until the node serves metadata to clients (it is then unfenced)."""
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + self._startup_timeout
        while True:
            if proc.poll() is not None:
                if any("Address already in use" in text for text in self._logs().values()):
                    raise PortInUseError(
                        f"Kafka node {self.node_id} could not listen on one of its ports "
                        f"({self.ports}): the port is already in use.\n" + self._log_tail()
                    )
                raise LauncherError(
                    f"Kafka node {self.node_id} exited early with code {proc.returncode}.\n"
                    + self._log_tail()
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LauncherError(
                    f"Kafka node {self.node_id} was not ready within "
                    f"{self._startup_timeout:.0f} s on {self.bootstrap_servers}.\n"
                    + self._log_tail()
                )
            if broker_ready(HOST, self.ports.client, timeout=min(2.0, max(remaining, 0.1))):
                return
            # A short pause between probes; connection refused returns at once.
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0)))

    def _logs(self) -> dict[Path, str]:
        """The node's log and java's own output, by path (missing ones left out)."""
        paths = (self.folder / "logs" / "server.log", self.folder / "java.out")
        return {p: p.read_text(encoding="utf-8", errors="replace") for p in paths if p.is_file()}

    def _log_tail(self) -> str:
        parts = [
            f"  last lines of {path}:\n{tail(text)}"
            for path, text in self._logs().items()
            if text.strip()
        ]
        return "\n".join(parts) or "  (the node wrote no log)"

    def signal_stop(self) -> None:
        """Send SIGTERM without waiting (:meth:`halt` waits), to stop nodes together."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def halt(self, *, kill: bool) -> None:
        """End the java process (and its watchdog); the node's folder stays."""
        with self._lock:
            self._halt(kill=kill)

    def _halt(self, *, kill: bool) -> None:
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
