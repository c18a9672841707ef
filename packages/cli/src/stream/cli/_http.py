"""``stream run --http HOST:PORT``: ``/live``, ``/ready`` and ``/metrics`` for operators.

Served by aiohttp's web server on the service's own event loop (``stream-cli[http]``),
so an answer from ``/live`` is itself the proof that the loop turns: a handler that
blocks the loop blocks the probe too, and the probe's timeout reports it.

* ``/live``: 200 while no subscription has failed; 503 once one has (the process then
  stops, but a probe may see it first).
* ``/ready``: 200 when the broker answers and every subscription is in its group with
  its partitions (or explicitly none); 503 otherwise. The body says which part is not.
* ``/metrics``: the Prometheus text of the default registry, when ``stream-prometheus``
  is installed; 404 saying what to install otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from stream.cli._errors import CliError

if TYPE_CHECKING:
    from aiohttp import web

    from stream.core.transport import Transport, TransportStatus

__all__ = ("PING_TIMEOUT", "Probes", "parse_address", "probes", "serve_probes", "worker_address")

logger = logging.getLogger("stream.cli")

PING_TIMEOUT = 0.8
"""Seconds ``/ready`` waits for the broker: below Kubernetes' default probe timeout (1 s)."""

_HTTP_MISSING = (
    "--http needs aiohttp; install it with `pip install 'stream-cli[http]'` (or `uv add aiohttp`)"
)
_METRICS_MISSING = (
    b"/metrics needs stream-prometheus: `pip install stream-prometheus`, then add "
    b"`stream.prometheus.Metrics()` to the service's middlewares.\n"
)


def parse_address(address: str) -> tuple[str, int]:
    """``"0.0.0.0:8080"`` (or ``"[::]:8080"``, or ``":8080"`` for every interface) as
    ``(host, port)``.

    Raises:
        CliError: it is not ``HOST:PORT`` with a port from 0 to 65535.
    """
    host, _, port = address.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not port.isdigit() or int(port) > 65535 or not _:
        raise CliError(
            f"--http {address!r}: give HOST:PORT, e.g. 0.0.0.0:8080 (or :8080 for every interface)"
        )
    return host or "0.0.0.0", int(port)  # noqa: S104 (":8080" asks for every interface)


def worker_address(address: str, worker: int | None) -> str:
    """Where worker ``worker`` of ``--workers`` serves: ``PORT + worker - 1`` (port 0
    stays 0: each picks a free one)."""
    host, port = parse_address(address)
    if worker is None or port == 0:
        return address
    return f"[{host}]:{port + worker - 1}" if ":" in host else f"{host}:{port + worker - 1}"


class Probes:
    """What the endpoints answer, from the transport's own state.

    Args:
        transport: The service's transport.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.failure: BaseException | None = None
        """A subscription failure seen by :meth:`watch`, kept after the transport forgets it."""

    async def watch(self) -> None:
        """Keeps the first subscription failure of the run (until cancelled)."""
        # A transport tells no moment it starts; poll (0.1 s) only until it has.
        while not _running(self.transport.status()):  # noqa: ASYNC110
            await anyio.sleep(0.1)
        # NotRunningError: it stopped meanwhile, and nothing failed while it ran.
        with suppress(Exception):
            self.failure = await self.transport.wait_failed()

    def live(self) -> tuple[int, dict[str, Any]]:
        """200 while no subscription has failed."""
        failed = self._failures()
        if failed:
            return 503, {"live": False, "failed": failed}
        return 200, {"live": True}

    async def ready(self) -> tuple[int, dict[str, Any]]:
        """200 when the broker answers and every subscription has joined its group."""
        status = self.transport.status()
        if not _running(status):
            return 503, {"ready": False, "reason": "the service is not running"}
        assert status is not None
        answers = await self.transport.ping(PING_TIMEOUT)
        subscriptions = [
            {
                "name": s.name,
                "group": s.group_id,
                "joined": s.joined,
                "partitions": [f"{p.topic}[{p.partition}]" for p in s.partitions],
                "state": _state(s.joined, bool(s.partitions), s.failure),
            }
            for s in status.subscriptions
        ]
        ready = answers and all(s.joined and s.failure is None for s in status.subscriptions)
        body: dict[str, Any] = {
            "ready": ready,
            "broker": "answers" if answers else f"no answer within {PING_TIMEOUT}s",
            "subscriptions": subscriptions,
        }
        return (200 if ready else 503), body

    def _failures(self) -> list[str]:
        status = self.transport.status()
        failed = (
            [f"{s.name}: {s.failure}" for s in status.subscriptions if s.failure] if status else []
        )
        if not failed and self.failure is not None:
            failed = [str(self.failure)]
        return failed


def _running(status: TransportStatus | None) -> bool:
    # A transport that keeps no status is taken at its word that it runs.
    return status is None or status.running


def _state(joined: bool, has_partitions: bool, failure: str | None) -> str:
    if failure is not None:
        return "failed"
    if not joined:
        return "joining"
    return "assigned" if has_partitions else "no partitions"


@asynccontextmanager
async def probes(address: str, transport: Transport) -> AsyncIterator[tuple[str, int]]:
    """Serves the endpoints at ``address`` while the block runs; yields the bound address.

    Raises:
        CliError: aiohttp is not installed, or the address cannot be bound.
    """
    try:
        from aiohttp import web
    except ImportError:
        raise CliError(_HTTP_MISSING) from None
    host, port = parse_address(address)
    state = Probes(transport)
    runner = web.AppRunner(_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as error:
            raise CliError(f"--http {address}: cannot listen there: {error.strerror}") from None
        bound = runner.addresses[0]
        logger.info("Serving /live, /ready and /metrics on http://%s:%d", host, bound[1])
        async with anyio.create_task_group() as group:
            group.start_soon(state.watch)
            yield host, int(bound[1])
            group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await runner.cleanup()


async def serve_probes(
    address: str, transport: Transport, *, task_status: anyio.abc.TaskStatus[None]
) -> None:
    """Serves the endpoints at ``address`` until cancelled (for a task group's ``start``)."""
    async with probes(address, transport):
        task_status.started()
        await anyio.sleep_forever()


def _app(state: Probes) -> web.Application:
    from aiohttp import web

    async def live(_request: web.Request) -> web.Response:
        code, body = state.live()
        return _json(code, body)

    async def ready(_request: web.Request) -> web.Response:
        code, body = await state.ready()
        return _json(code, body)

    async def metrics(_request: web.Request) -> web.Response:
        if importlib.util.find_spec("stream.prometheus") is None:
            return web.Response(status=404, body=_METRICS_MISSING, content_type="text/plain")
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

        response = web.Response(body=generate_latest(REGISTRY))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/live", live)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app


def _json(code: int, body: dict[str, Any]) -> web.Response:
    from aiohttp import web

    return web.Response(status=code, text=json.dumps(body), content_type="application/json")
