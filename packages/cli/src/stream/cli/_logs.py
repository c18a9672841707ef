"""Logging as the ``stream`` command shows it: ``INFO  Service started``."""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from pathlib import Path
from typing import Any

from stream.cli._errors import CliError, printable

__all__ = (
    "LOG_FORMATS",
    "LOG_LEVELS",
    "apply_log_config",
    "configure_logging",
    "configure_run_logging",
    "logger",
)

LOG_FORMATS = ("text", "json")
"""The values ``--log-format`` accepts."""

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
    _install(handler, level)


def configure_run_logging(
    level: str,
    *,
    log_format: str = "text",
    log_config: Path | None = None,
    worker: int | None = None,
    banner: bool = True,
) -> None:
    """Logging for ``stream run``: ``--log-config``'s file when given (it decides
    everything, levels included), else ``--log-format`` lines at ``level``."""
    if log_config is not None:
        apply_log_config(log_config)
    elif log_format == "json":
        from stream.cli._json_logs import JsonFormatter

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter(worker=worker))
        _install(handler, level)
    else:
        configure_logging(level, worker=worker, banner=banner)


def apply_log_config(path: Path) -> None:
    """Configures logging with ``logging.config.dictConfig`` from a JSON or YAML file.

    Raises:
        CliError: the file cannot be read, parsed, or is not a valid configuration.
    """
    where = f"--log-config {printable(str(path), 200)}"
    try:
        text = path.read_text()
    except OSError as error:
        raise CliError(f"{where}: cannot read it: {error.strerror}") from None
    config: Any
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise CliError(f"{where}: not valid YAML: {printable(str(error), 200)}") from None
    else:
        try:
            config = json.loads(text)
        except ValueError as error:
            raise CliError(
                f"{where}: not valid JSON (name a .yaml file for YAML): {error}"
            ) from None
    if not isinstance(config, dict):
        raise CliError(
            f"{where}: expected a mapping for logging.config.dictConfig "
            f'(with "version": 1), not a {type(config).__name__}'
        )
    try:
        logging.config.dictConfig(config)
    except (ValueError, TypeError, AttributeError, ImportError) as error:
        raise CliError(f"{where}: logging.config.dictConfig refused it: {error}") from None


def _install(handler: logging.Handler, level: str) -> None:
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # aiokafka narrates every connection and rebalance at INFO; keep that for --log-level debug.
    logging.getLogger("aiokafka").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
