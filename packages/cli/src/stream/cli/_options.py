"""What ``stream run`` was asked to do, declared once and handed to every layer."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ("RunOptions",)


@dataclass(frozen=True, kw_only=True, slots=True)
class RunOptions:
    """The options of ``stream run`` / ``stream dev`` that a child process needs too.

    Attributes:
        target: ``MODULE:ATTR`` of the service.
        app_dir: Folder put first on ``sys.path`` before importing ``MODULE``.
        log_level: ``debug``, ``info``, ``warning``, ``error`` or ``critical``.
        bootstrap_servers: Broker address overriding the service's, or ``None``.
        broker_timeout: Seconds to wait for the broker to answer before giving up.
        settings: The extra ``--name value`` arguments, as given, for the service's
            settings model.
        http: ``HOST:PORT`` to serve ``/live``, ``/ready`` and ``/metrics`` on, or
            ``None``. Worker ``i`` of ``--workers`` serves on ``PORT + i - 1``.
        log_format: ``text`` or ``json``.
        log_config: A ``logging.config.dictConfig`` file (JSON or YAML) that replaces
            ``log_level`` and ``log_format``, or ``None``.
    """

    target: str
    app_dir: Path
    log_level: str = "info"
    bootstrap_servers: str | None = None
    broker_timeout: float = 10.0
    settings: tuple[str, ...] = ()
    http: str | None = None
    log_format: str = "text"
    log_config: Path | None = None

    def child_command(self) -> list[str]:
        """The command line of a ``stream run`` child process running one copy of the service.

        The child is started with this interpreter, so it sees the same packages.
        """
        command = [
            sys.executable,
            "-m",
            "stream.cli.main",
            "run",
            self.target,
            "--app-dir",
            str(self.app_dir),
            "--log-level",
            self.log_level,
            "--broker-timeout",
            repr(self.broker_timeout),
        ]
        if self.bootstrap_servers is not None:
            command += ["--bootstrap-servers", self.bootstrap_servers]
        if self.http is not None:
            command += ["--http", self.http]
        if self.log_format != "text":
            command += ["--log-format", self.log_format]
        if self.log_config is not None:
            command += ["--log-config", str(self.log_config)]
        # Settings last: typer hands everything it does not know to the service.
        return [*command, *self.settings]
