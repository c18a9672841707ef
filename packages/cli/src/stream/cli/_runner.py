"""``stream run`` in one process: load the service, check the broker, run until a signal.

The first SIGINT or SIGTERM asks the service to stop gracefully (``Service.request_stop``:
stop fetching, finish in-flight handlers, send, commit, leave the group); a second SIGINT
exits at once, without committing what is in flight.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stream.cli._brokers import check_broker, service_transport
from stream.cli._errors import CliError
from stream.cli._loading import load_service
from stream.cli._logs import configure_run_logging, logger
from stream.cli._options import RunOptions
from stream.cli._processes import watch_parent, worker_number
from stream.cli._settings import apply_settings

if TYPE_CHECKING:
    import anyio.abc

    from stream.core import Service
    from stream.core.transport import Transport

__all__ = ("FORCED_EXIT_CODE", "Prepared", "prepare", "run", "serve")

FORCED_EXIT_CODE = 130
"""The exit code after a second CTRL+C, as a shell reports a SIGINT death."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A service ready to start: loaded, configured, its handlers checked."""

    service: Service
    transport: Transport


def prepare(options: RunOptions) -> Prepared:
    """Loads ``options.target``, applies its settings, binds its handlers, picks its broker.

    Raises:
        CliError: any of those steps failed in a way the user can fix.
    """
    from stream.core import BindError

    service = load_service(options.target, options.app_dir)
    apply_settings(service, options.settings, options.target)
    try:
        type(service).handlers()
    except BindError as error:
        raise CliError(str(error)) from None
    return Prepared(service, service_transport(service, options.bootstrap_servers))


def run(options: RunOptions) -> int:
    """Runs the service of ``options`` in this process until stopped; returns the exit code."""
    import anyio

    worker = worker_number()
    configure_run_logging(
        options.log_level,
        log_format=options.log_format,
        log_config=options.log_config,
        worker=worker,
    )
    watch_parent()
    prepared = prepare(options)
    if options.log_format == "json":
        from stream.cli._json_logs import add_log_context, name_service

        service = prepared.service
        add_log_context(service)
        name_service(service.name or type(service).__name__)
    return anyio.run(serve, prepared, options, backend="asyncio")


async def serve(prepared: Prepared, options: RunOptions) -> int:
    """Checks the broker, then runs the service until SIGINT or SIGTERM.

    Returns:
        0 after a graceful stop.
    """
    import anyio

    service, transport = prepared.service, prepared.transport
    async with anyio.create_task_group() as group:
        startup = anyio.CancelScope()
        await group.start(_watch_signals, service, startup)
        if options.http is not None:
            # Imported only here: a run without --http loads no web server.
            from stream.cli._http import serve_probes, worker_address

            address = worker_address(options.http, worker_number())
            await group.start(serve_probes, address, transport)
        with startup:
            await check_broker(
                transport, options.broker_timeout, dev_hint=f"stream dev {options.target}"
            )
        if not startup.cancel_called:
            # No await between the check above and run() binding the service, so a signal
            # cannot fall in between: request_stop() reaches the running service.
            await service.run(transport)
        group.cancel_scope.cancel()
    return 0


async def _watch_signals(
    service: Service,
    startup: anyio.CancelScope,
    *,
    task_status: anyio.abc.TaskStatus[None],
) -> None:
    import anyio

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        stopping = False
        async for signum in signals:
            if not stopping:
                stopping = True
                logger.info(
                    "Stopping %s (%s); press CTRL+C again to force",
                    type(service).__name__,
                    signal.Signals(signum).name,
                )
                startup.cancel()
                service.request_stop()
            elif signum == signal.SIGINT:
                logger.warning("Forced exit: in-flight messages are not committed")
                sys.stderr.flush()
                # A forced exit must not wait for anything, handlers included.
                os._exit(FORCED_EXIT_CODE)
