"""The local broker: one node, or a KRaft quorum of several, with their folders and ports.

The nodes run from jars that Maven downloads once into a per-user cache; each
:class:`LocalKafka` gets its own temporary folder, free ports and freshly formatted log
dirs (one per node, all of one cluster id).
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from stream.kafka_local._config import LocalKafkaConfig
from stream.kafka_local._files import cluster_id, log4j2_properties, server_properties
from stream.kafka_local._jars import LauncherError, check_java, ensure_kafka_jars, tail
from stream.kafka_local._node import KafkaNode, NodePorts, PortInUseError
from stream.kafka_local._process import free_ports
from stream.kafka_local._proxy import FaultProxy

__all__ = ("LocalKafka",)

_PORT_ATTEMPTS = 3


class LocalKafka:
    """Local Kafka: one node, or a cluster of ``config.nodes``; also a context manager.

    The nodes start and stop together; each one can also be killed and started again on
    its own (:attr:`nodes`), while the others serve.

    Example:
        >>> with LocalKafka(LocalKafkaConfig(nodes=3)) as kafka:  # doctest: +SKIP
        ...     kafka.nodes[0].kill()  # a crash; the other two take over its partitions
        ...     kafka.nodes[0].start()
    """

    def __init__(self, config: LocalKafkaConfig | None = None) -> None:
        """Prepare the nodes; nothing runs until :meth:`start`."""
        self.config = config if config is not None else LocalKafkaConfig()
        self._tmp: Path | None = None
        self._nodes: tuple[KafkaNode, ...] = ()
        self._proxy: FaultProxy | None = None
        self._lock = threading.RLock()
        self._java_ok = False

    @property
    def bootstrap_servers(self) -> str:
        """``"127.0.0.1:<port>,..."``: every node's own client listener (no proxy)."""
        return ",".join(node.bootstrap_servers for node in self._started())

    @property
    def nodes(self) -> tuple[KafkaNode, ...]:
        """The nodes, by ``node.id`` (1, 2, 3, ...)."""
        return self._started()

    @property
    def proxy(self) -> FaultProxy:
        """The fault proxy in front of the nodes (``LocalKafkaConfig(proxied=True)``).

        Bootstrap through ``proxy.bootstrap_servers`` to stay behind it: the nodes then
        advertise the proxy's ports to that client.
        """
        self._started()
        if self._proxy is None:
            raise LauncherError(
                "this LocalKafka has no fault proxy: start it with LocalKafkaConfig(proxied=True)"
            )
        return self._proxy

    @property
    def data_dir(self) -> Path:
        """The first node's log dir (``log.dirs``) inside its folder."""
        return self._started()[0].folder / "data"

    @property
    def pid(self) -> int | None:
        """Process id of the first node's java process, or ``None`` when it is not running."""
        return self._nodes[0].pid if self._nodes else None

    def start(self) -> None:
        """Download the jars if needed, format storage once, start every node not running
        and wait until each is ready.

        Raises:
            LauncherError: Java or Maven missing, download failed, the jar cache failed
                its checks (see the package README, "Trust"), a node exited early or
                was not ready within ``startup_timeout``.
        """
        with self._lock:
            if self._nodes and all(node.pid is not None for node in self._nodes):
                return
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
                    self._launch()
                    return
                except BaseException as exc:
                    self._halt(kill=True)
                    if fresh:
                        self._remove_tmp()
                    if not (isinstance(exc, PortInUseError) and attempt < attempts):
                        raise

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after 20 s) and remove the temporary folder.

        The folder is kept if ``config.keep_data`` is set. Safe to call more than once.
        """
        with self._lock:
            self._halt(kill=False)
            self._remove_tmp()

    def restart(self) -> None:
        """Stop every node cleanly and start them again on the same ports with the same data."""
        with self._lock:
            self._halt(kill=False)
            self.start()

    def kill(self) -> None:
        """SIGKILL every node, like a crash; data and ports are kept for :meth:`start`."""
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

    def _started(self) -> tuple[KafkaNode, ...]:
        if self._tmp is None:
            raise LauncherError("the local Kafka broker has not been started")
        return self._nodes

    def _prepare(self, libs: Path) -> None:
        """Create the temporary folder, the proxy, pick ports, write configs, format storage."""
        self._tmp = Path(tempfile.mkdtemp(prefix="stream-kafka-"))
        # Until stop(): a killed broker still leaves a folder to remove at exit.
        atexit.register(self._atexit_stop)
        config = self.config
        per_node = 4 if config.proxied else 2
        picked = iter(free_ports(per_node * config.nodes))
        ports = []
        for _ in range(config.nodes):
            client, controller = next(picked), next(picked)
            if config.port is not None:
                client = config.port
            if config.proxied:
                ports.append(NodePorts(client, controller, next(picked), next(picked)))
            else:
                ports.append(NodePorts(client, controller))
        voters = {n: p.controller for n, p in enumerate(ports, start=1)}
        if config.proxied:
            self._proxy = FaultProxy(
                {
                    n: (p.proxy, p.proxied)
                    for n, p in enumerate(ports, start=1)
                    if p.proxy is not None and p.proxied is not None
                }
            )
            self._proxy.start()
        nodes = []
        for node_id, node_ports in enumerate(ports, start=1):
            folder = self._tmp / f"node-{node_id}"
            (folder / "logs").mkdir(parents=True)
            node = KafkaNode(
                node_id,
                node_ports,
                folder,
                self._java_command(libs, folder, heap=config.heap),
                config.startup_timeout,
            )
            (folder / "log4j2.properties").write_text(log4j2_properties(), encoding="utf-8")
            proxied = (
                (node_ports.proxied, node_ports.proxy)
                if node_ports.proxied is not None and node_ports.proxy is not None
                else None
            )
            (folder / "server.properties").write_text(
                server_properties(
                    port=node_ports.client,
                    controller_port=node_ports.controller,
                    data_dir=folder / "data",
                    partitions=config.partitions,
                    extra=config.extra_properties,
                    node_id=node_id,
                    voters=voters,
                    proxied=proxied,
                ),
                encoding="utf-8",
            )
            nodes.append(node)
        self._nodes = tuple(nodes)
        cluster = cluster_id()
        with ThreadPoolExecutor(max_workers=len(nodes)) as pool:
            for done in pool.map(lambda n: self._format(libs, n, cluster), nodes):
                done()

    def _format(self, libs: Path, node: KafkaNode, cluster: str) -> Callable[[], None]:
        """Format one node's storage; returns what raises its error in the calling thread."""
        command = [
            *self._java_command(libs, node.folder, heap="256m"),
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster,
            "-c",
            str(node.folder / "server.properties"),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - java chosen by the caller, fixed arguments
                command, capture_output=True, text=True, timeout=180, check=False
            )
        except subprocess.TimeoutExpired:
            message = f"Formatting the Kafka storage in {node.folder} hung"
        else:
            if done.returncode == 0:
                return lambda: None
            message = (
                f"Formatting the Kafka storage in {node.folder} failed (exit code "
                f"{done.returncode}).\n" + tail(done.stdout + done.stderr)
            )

        def fail() -> None:
            raise LauncherError(message)

        return fail

    def _java_command(self, libs: Path, folder: Path, heap: str) -> list[str]:
        return [
            self.config.java,
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={folder / 'logs'}",
            f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}",
            "-cp",
            f"{libs}/*",
        ]

    def _launch(self) -> None:
        """Start every node that is not running, together (a quorum needs a majority up),
        then wait until each serves metadata to clients."""
        waiting = [node for node in self._nodes if node.pid is None]
        for node in waiting:
            node.halt(kill=True)  # reap one that died on its own, and its watchdog
            node.spawn()
        for node in waiting:
            node.wait_ready()

    def _halt(self, *, kill: bool) -> None:
        """End every node's java process but keep the temporary folder."""
        if not kill:
            for node in self._nodes:  # all at once: each waits for its own shutdown
                node.signal_stop()
        for node in self._nodes:
            node.halt(kill=kill)

    def _remove_tmp(self) -> None:
        atexit.unregister(self._atexit_stop)
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            proxy.stop()
        self._nodes = ()
        tmp, self._tmp = self._tmp, None
        if tmp is not None and not self.config.keep_data:
            shutil.rmtree(tmp, ignore_errors=True)

    def _atexit_stop(self) -> None:
        self.stop()
