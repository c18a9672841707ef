"""A loopback TCP proxy in front of each broker, with network faults on demand.

Kafka clients learn every broker's address from metadata, so a proxy only sits in the
path if the brokers *advertise* it: :class:`~stream.kafka_local.LocalKafka` started with
``LocalKafkaConfig(proxied=True)`` gives each node a second client listener whose
advertised port is this proxy's, while the brokers keep talking to each other (and the
controllers to each other) on their own listeners, untouched by the faults.

The proxy runs its own asyncio loop in a daemon thread, so synchronous code (a benchmark
driver) and async tests (on any loop) control it alike; every control method is
thread-safe and returns at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ("FaultProxy",)

_HOST = "127.0.0.1"
_CHUNK = 64 * 1024
# Chunks in flight per direction: bounds memory while latency holds data back, and is
# far above what a latency of a few ms needs to keep a loopback stream at full speed.
_QUEUE = 1024


@dataclass
class _Route:
    """One broker's way through the proxy, and the faults on it right now."""

    node: int
    listen: int
    upstream: int
    latency: float = 0.0
    blocked_until: float = 0.0
    connections: set[_Connection] = field(default_factory=set)


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None

    def abort(self) -> None:
        """Close both sides with a TCP reset (SO_LINGER 0), as a dropped connection looks."""
        for writer in (self.client, self.upstream):
            if writer is None:
                continue
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()


class FaultProxy:
    """Forwards ``127.0.0.1:listen`` to ``127.0.0.1:upstream`` for each node, with faults.

    Faults apply to one node (``node=<id>``) or to all (``node=None``):

    * :meth:`set_latency`: every chunk waits this long in each direction (a round trip
      gains twice the value); throughput is kept, as on a long link.
    * :meth:`blackhole`: for N seconds nothing passes either way and new connections
      wait; what was sent meanwhile arrives afterwards, as TCP's retransmission would
      deliver it after a short outage.
    * :meth:`reset`: every open connection is closed with a TCP reset.

    A node that is down (connection refused) closes the client's connection at once.

    Args:
        routes: ``{node id: (listen port, upstream port)}``, all on 127.0.0.1.

    Example:
        >>> with FaultProxy({1: (19092, 9092)}) as proxy:  # doctest: +SKIP
        ...     proxy.set_latency(0.001)  # 2 ms more per round trip
        ...     proxy.blackhole(5.0, node=1)
    """

    def __init__(self, routes: Mapping[int, tuple[int, int]]) -> None:
        """Prepare the routes; nothing listens until :meth:`start`."""
        self._routes = {
            node: _Route(node, listen, upstream) for node, (listen, upstream) in routes.items()
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []

    @property
    def bootstrap_servers(self) -> str:
        """The proxy's addresses, ``"127.0.0.1:<port>,..."``, for a client's bootstrap."""
        return ",".join(f"{_HOST}:{route.listen}" for route in self._routes.values())

    def port(self, node: int) -> int:
        """The port the proxy listens on for ``node``."""
        return self._routes[node].listen

    def start(self) -> None:
        """Listen on every route's port (in a thread of its own); returns once listening."""
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="stream-fault-proxy", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._servers = asyncio.run_coroutine_threadsafe(self._listen(), loop).result(10)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Close every connection and listener and end the thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = self._thread = None
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()

    def set_latency(self, seconds: float, *, node: int | None = None) -> None:
        """Delay every chunk by ``seconds`` in each direction (0 removes the delay)."""
        if seconds < 0:
            raise ValueError(f"latency must be 0 or more seconds, not {seconds}")
        for route in self._select(node):
            route.latency = seconds

    def blackhole(self, seconds: float, *, node: int | None = None) -> None:
        """Let nothing through for ``seconds`` from now (held data flows afterwards)."""
        until = time.monotonic() + seconds
        for route in self._select(node):
            route.blocked_until = max(route.blocked_until, until)

    def reset(self, *, node: int | None = None) -> None:
        """Close every open connection through the proxy with a TCP reset; returns once done."""
        routes = list(self._select(node))

        async def abort() -> None:
            for route in routes:
                for connection in list(route.connections):
                    connection.abort()

        loop = self._loop
        if loop is not None:
            asyncio.run_coroutine_threadsafe(abort(), loop).result(10)

    def heal(self, *, node: int | None = None) -> None:
        """Remove latency and end a blackhole now."""
        for route in self._select(node):
            route.latency = 0.0
            route.blocked_until = 0.0

    def __enter__(self) -> FaultProxy:
        """Start listening."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()

    def _select(self, node: int | None) -> Iterable[_Route]:
        if node is None:
            return self._routes.values()
        if node not in self._routes:
            raise ValueError(f"no node {node} behind this proxy; nodes: {sorted(self._routes)}")
        return (self._routes[node],)

    async def _listen(self) -> list[asyncio.Server]:
        servers = []
        for route in self._routes.values():

            async def accept(
                reader: asyncio.StreamReader, writer: asyncio.StreamWriter, route: _Route = route
            ) -> None:
                await self._serve(route, reader, writer)

            servers.append(await asyncio.start_server(accept, _HOST, route.listen))
        return servers

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        for route in self._routes.values():
            for connection in list(route.connections):
                connection.abort()
        for server in self._servers:
            await server.wait_closed()

    async def _serve(
        self, route: _Route, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter
    ) -> None:
        connection = _Connection(client)
        route.connections.add(connection)
        try:
            await _hold(route, time.monotonic())
            try:
                upstream_reader, connection.upstream = await asyncio.open_connection(
                    _HOST, route.upstream
                )
            except OSError:
                return  # the node is down: the client sees its connection closed
            async with asyncio.TaskGroup() as group:
                group.create_task(_pump(route, client_reader, connection.upstream))
                group.create_task(_pump(route, upstream_reader, client))
        except* (OSError, asyncio.IncompleteReadError):
            pass  # a reset or a peer gone: the other side is closed below
        finally:
            route.connections.discard(connection)
            for writer in (client, connection.upstream):
                if writer is not None:
                    writer.close()


async def _hold(route: _Route, due: float) -> None:
    """Wait until ``due`` has passed and no blackhole is on (one may start meanwhile)."""
    # A timed hold is the point here: the sleep is the fault, not a wait for an event.
    while (wait := max(due, route.blocked_until) - time.monotonic()) > 0:  # noqa: ASYNC110
        await asyncio.sleep(wait)


async def _pump(route: _Route, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction, each chunk held for the route's latency and any blackhole."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(_QUEUE)

    async def read() -> None:
        while chunk := await reader.read(_CHUNK):
            await queue.put((time.monotonic() + route.latency, chunk))
        await queue.put((0.0, b""))

    async with asyncio.TaskGroup() as group:
        group.create_task(read())
        while True:
            due, chunk = await queue.get()
            await _hold(route, due)
            if not chunk:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()
