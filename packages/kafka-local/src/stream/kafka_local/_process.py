"""Process plumbing for the local Kafka launcher: ports, readiness probe, watchdog, signals."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

__all__ = (
    "broker_ready",
    "free_ports",
    "spawn_watchdog",
    "terminate_group",
)


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct TCP ports on 127.0.0.1 that were free a moment ago.

    The ports come from outside the kernel's ephemeral range when it leaves room: a port
    in that range can be taken by any outgoing connection while the broker is down for a
    restart, and a client reconnecting to 127.0.0.1:PORT can even connect to itself.
    """
    low, high = _ephemeral_range()
    # Prefer the band just below the ephemeral range, else the one above it.
    band = (max(1024, low - 20000), low) if low - 1024 >= 2000 else (high + 1, 65536)
    # All sockets stay bound until every port is picked, so the ports differ.
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            ports.append(_bind_in(sock, band))
        return ports


def _bind_in(sock: socket.socket, band: tuple[int, int]) -> int:
    if band[1] - band[0] >= 100:
        for _ in range(50):
            port = band[0] + secrets.randbelow(band[1] - band[0])
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sock.bind(("127.0.0.1", 0))
    return int(sock.getsockname()[1])


def _ephemeral_range() -> tuple[int, int]:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text(encoding="ascii")
        low, high = (int(part) for part in text.split())
    except (OSError, ValueError):
        return 49152, 65535  # the IANA range, used by macOS and the BSDs
    return low, high


# Metadata v4 (still served by Kafka 4.x, which dropped v0-v3): request header v1 with
# api_key 3, then an empty topic list and allow_auto_topic_creation = false.
_METADATA_KEY = 3
_METADATA_VERSION = 4
_CLIENT_ID = b"stream-kafka-launcher"


def broker_ready(host: str, port: int, timeout: float) -> bool:
    """Return True if the broker answers a Metadata request listing at least one broker.

    A KRaft broker opens its client listener only once it has caught up with the
    controller and been unfenced, and only lists unfenced brokers, so a non-empty broker
    list means clients can produce and consume. Any error (refused, reset, timeout, a
    short read) counts as "not yet"; the caller polls.
    """
    correlation = 1
    body = struct.pack(
        f">hhih{len(_CLIENT_ID)}sib",
        _METADATA_KEY,
        _METADATA_VERSION,
        correlation,
        len(_CLIENT_ID),
        _CLIENT_ID,
        0,  # topics: empty array, so no topic is looked up or auto-created
        0,  # allow_auto_topic_creation
    )
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            # correlation_id, throttle_time_ms, broker count: the first 12 bytes.
            if size < 12:
                return False
            got, _throttle, brokers = struct.unpack(">iii", _recv_exact(sock, 12))
    except (OSError, struct.error):
        return False
    return int(got) == correlation and int(brokers) > 0


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("broker closed the connection")
        data += chunk
    return data


# Runs in a separate Python process: it holds the read end of a pipe whose write end only
# the launching process has. When that process dies by any means (even SIGKILL) the pipe
# closes, and the watchdog takes the broker's process group down with it.
_WATCHDOG = """
import os, signal, sys, time
pgid = int(sys.argv[1])
try:
    sys.stdin.buffer.read()
except BaseException:
    pass
try:
    os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.2)
        os.killpg(pgid, 0)
    os.killpg(pgid, signal.SIGKILL)
except OSError:
    pass
"""


def spawn_watchdog(pgid: int) -> subprocess.Popen[bytes]:
    """Start a process that kills process group ``pgid`` once our end of its stdin closes.

    Closing the returned process's stdin (or dying) triggers it. After a clean stop, kill
    the watchdog instead: the group is gone then and its id could be reused.
    """
    return subprocess.Popen(  # noqa: S603 - our own interpreter and fixed code
        [sys.executable, "-c", _WATCHDOG, str(pgid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session, so a Ctrl-C aimed at the terminal's foreground job does not
        # kill the watchdog before it has done its job.
        start_new_session=True,
    )


def terminate_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group led by ``proc``, wait up to ``grace`` s, then SIGKILL it."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    kill_group(proc)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group led by ``proc`` and reap ``proc``."""
    # Only while the leader is unreaped: after that its pid (= the group id) may be reused.
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.5)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
