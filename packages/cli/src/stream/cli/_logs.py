"""Logging as the ``stream`` command shows it: ``INFO  Service started``."""

from __future__ import annotations

import logging
import sys

__all__ = ("LOG_LEVELS", "configure_logging", "logger")

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
"""The values ``--log-level`` accepts."""

logger = logging.getLogger("stream.cli")
"""The CLI's own logger, for what the command itself reports (workers, reloads, brokers)."""

_FORMAT = "%(levelname)-5s %(message)s"


class _BannerFilter(logging.Filter):
    """Completes core's ``<Service> started`` line with how to stop it, at a terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Core logs this from `stream.<ServiceClass>`; only the CLI knows CTRL+C applies.
        if record.msg == "%s started" and record.name.startswith("stream."):
            record.msg = "%s started. Press CTRL+C to exit"
        return True


def configure_logging(level: str, *, worker: int | None = None, banner: bool = True) -> None:
    """Sends log records at ``level`` and above to stderr as ``LEVEL message`` lines.

    Args:
        level: One of :data:`LOG_LEVELS`.
        worker: The worker number, shown on each line, when this is one of ``--workers``.
        banner: Add "Press CTRL+C to exit" to the service's "started" line.
    """
    prefix = f"[worker {worker}] " if worker is not None else ""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT.replace("%(message)s", f"{prefix}%(message)s")))
    if banner and worker is None:
        handler.addFilter(_BannerFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiokafka narrates every connection and rebalance at INFO; keep that for --log-level debug.
    logging.getLogger("aiokafka").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
