"""FaultProxy on a plain TCP echo server: latency, blackhole, reset, a node that is down.

Timings are compared with generous margins (the machine is shared): a fault must show
as a delay at least as long as asked, and its absence as no such delay.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from stream.kafka_local import FaultProxy
from stream.kafka_local._process import free_ports


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def proxy(echo_port: int) -> Iterator[FaultProxy]:
    first, second = free_ports(2)
    with FaultProxy({1: (first, echo_port), 2: (second, echo_port)}) as running:
        yield running


def _round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    began = time.monotonic()
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        assert chunk, "the proxy closed the connection"
        got += chunk
    assert got == payload
    return time.monotonic() - began


def _connect(proxy: FaultProxy, node: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port(node)), timeout=10)


def test_bytes_pass_unchanged_both_ways(proxy: FaultProxy) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, many chunks
    with _connect(proxy, 1) as sock:
        _round_trip(sock, payload)
    assert proxy.bootstrap_servers == f"127.0.0.1:{proxy.port(1)},127.0.0.1:{proxy.port(2)}"


def test_latency_delays_each_direction_of_the_chosen_node(proxy: FaultProxy) -> None:
    proxy.set_latency(0.2, node=1)
    with _connect(proxy, 1) as slow, _connect(proxy, 2) as fast:
        assert _round_trip(slow) >= 0.4  # 0.2 s there and 0.2 s back
        assert _round_trip(fast) < 0.2
    proxy.heal()
    with _connect(proxy, 1) as healed:
        assert _round_trip(healed) < 0.2


def test_blackhole_holds_data_until_it_ends(proxy: FaultProxy) -> None:
    with _connect(proxy, 1) as sock:
        _round_trip(sock)
        proxy.blackhole(1.0)
        took = _round_trip(sock)
        assert took >= 0.9  # held, then delivered: nothing lost, as TCP would retransmit
        assert _round_trip(sock) < 0.5


def test_blackhole_holds_new_connections_too(proxy: FaultProxy) -> None:
    proxy.blackhole(1.0, node=2)
    with _connect(proxy, 2) as sock:
        assert _round_trip(sock) >= 0.9


def test_reset_drops_open_connections_of_the_chosen_node(proxy: FaultProxy) -> None:
    with _connect(proxy, 1) as dropped, _connect(proxy, 2) as kept:
        _round_trip(dropped)
        _round_trip(kept)
        proxy.reset(node=1)
        with pytest.raises(ConnectionResetError):
            _round_trip(dropped)
        _round_trip(kept)
    with _connect(proxy, 1) as again:
        _round_trip(again)


def test_a_node_that_is_down_closes_the_connection() -> None:
    listen, nothing_there = free_ports(2)
    with FaultProxy({1: (listen, nothing_there)}) as proxy, _connect(proxy, 1) as sock:
        sock.sendall(b"x")
        assert sock.recv(10) == b""


def test_unknown_node_and_negative_latency_are_refused(proxy: FaultProxy) -> None:
    with pytest.raises(ValueError, match="no node 7 behind this proxy"):
        proxy.blackhole(1.0, node=7)
    with pytest.raises(ValueError, match="0 or more seconds"):
        proxy.set_latency(-1.0)
