"""``stream run --workers N``: N processes of one service, one consumer group between them.

Each worker is a full ``stream run`` child; Kafka's group protocol spreads the
partitions over them, and gives a dead worker's partitions to the others. The
supervisor checks everything it can first (import, settings, handlers, broker), so a
mistake is reported once, not N times. A worker that dies is reported at once; the
others keep serving, and the command exits non-zero when it is stopped (or when no
worker is left).

With ``--http HOST:PORT`` each worker serves its own ``/live``, ``/ready`` and
``/metrics`` on ``PORT + i - 1`` (worker 1 on ``PORT``): each has its own consumer and
counts, so each is probed and scraped as its own target. The supervisor serves none.
"""

from __future__ import annotations

import subprocess
import time

from stream.cli._brokers import check_broker
from stream.cli._logs import configure_run_logging, logger
from stream.cli._options import RunOptions
from stream.cli._processes import (
    WORKER_ENV,
    SupervisorSignals,
    describe_exit,
    spawn_child,
    wait_or_kill,
)
from stream.cli._runner import FORCED_EXIT_CODE, prepare

__all__ = ("STOP_GRACE", "run_workers")

STOP_GRACE = 60.0
"""Seconds a worker has to drain and commit after SIGTERM before it is killed."""


def run_workers(options: RunOptions, count: int) -> int:
    """Runs ``count`` worker processes until SIGINT/SIGTERM or until none is left.

    Returns:
        0 when every worker stopped cleanly; 1 when one died or failed to stop;
        130 when a second CTRL+C forced the exit.
    """
    import anyio

    configure_run_logging(
        options.log_level,
        log_format=options.log_format,
        log_config=options.log_config,
        banner=False,
    )
    prepared = prepare(options)
    anyio.run(
        lambda: check_broker(
            prepared.transport, options.broker_timeout, dev_hint=f"stream dev {options.target}"
        ),
        backend="asyncio",
    )
    signals = SupervisorSignals()
    signals.install()
    workers = {
        number: spawn_child(options, {WORKER_ENV: str(number)}) for number in range(1, count + 1)
    }
    pids = ", ".join(str(process.pid) for process in workers.values())
    logger.info("Started %d workers (pids %s). Press CTRL+C to exit", count, pids)
    failed = _supervise(workers, signals)
    failed |= _stop_all(workers, signals)
    if signals.force.is_set():
        return FORCED_EXIT_CODE
    return 1 if failed else 0


def _supervise(workers: dict[int, subprocess.Popen[bytes]], signals: SupervisorSignals) -> bool:
    """Waits for a stop signal, reporting workers that die meanwhile; True if one did."""
    failed = False
    reported: set[int] = set()
    while not signals.stop.is_set():
        signals.wake.wait(timeout=1.0)
        signals.wake.clear()
        for number, process in workers.items():
            code = process.poll()
            if code is not None and number not in reported:
                reported.add(number)
                failed = True
                alive = len(workers) - len(reported)
                logger.error(
                    "Worker %d (pid %d) %s; %d worker%s left",
                    number,
                    process.pid,
                    describe_exit(code),
                    alive,
                    "" if alive == 1 else "s",
                )
        if len(reported) == len(workers):
            logger.error("No worker left; exiting")
            break
    return failed


def _stop_all(workers: dict[int, subprocess.Popen[bytes]], signals: SupervisorSignals) -> bool:
    """Stops every live worker, in parallel; True if one did not exit cleanly."""
    live = {n: p for n, p in workers.items() if p.poll() is None}
    for process in live.values():
        process.terminate()
    # One deadline for all: they drain in parallel.
    deadline = time.monotonic() + STOP_GRACE
    failed = False
    for number, process in live.items():
        code = wait_or_kill(process, deadline=deadline, forced=signals.force)
        if code != 0:
            failed = True
            logger.error(
                "Worker %d (pid %d) %s while stopping", number, process.pid, describe_exit(code)
            )
    return failed
