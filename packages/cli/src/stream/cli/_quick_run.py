"""``stream run MODULE:ATTR [options]`` without importing typer, for a fast start.

typer (and the pydantic adapters it builds for each parameter) is a good share of the
time from ``stream run`` to "started". The common command line, a target and the plain
options of one process, is read here instead. The typer command in :mod:`stream.cli._app`
stays the definition: this reader only takes a command line it reads exactly as typer
would, and answers ``None`` for anything else (help, a setting, an option it does not
know, a value typer would reject or convert differently, ``--workers``, ``--reload``), so
typer handles those, with its own messages. ``tests/cli/test_quick_run.py`` checks that
both readings agree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from stream.cli._brokers import BOOTSTRAP_ENV
from stream.cli._logs import LOG_LEVELS
from stream.cli._options import RunOptions

__all__ = ("quick_run_options",)

# Plain decimals only: typer reads "1e1", " 2", "inf" too, and what it makes of them is
# typer's business.
_SECONDS = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")
_MIN_BROKER_TIMEOUT = 0.1
_WITH_VALUE = frozenset({"--log-level", "--bootstrap-servers", "--app-dir", "--broker-timeout"})


def quick_run_options(arguments: Sequence[str]) -> RunOptions | None:
    """The options of ``stream ARGUMENTS`` when it is a plain one-process ``run``, else ``None``.

    Args:
        arguments: The command line after ``stream``.
    """
    if len(arguments) < 2 or arguments[0] != "run":
        return None
    values = _option_values(arguments[1:])
    if values is None:
        return None
    target = values.pop("", None)
    if target is None:
        return None
    log_level = values.get("--log-level", "info")
    app_dir = _app_dir(values.get("--app-dir", "."))
    broker_timeout = _broker_timeout(values.get("--broker-timeout", "10"))
    bootstrap = values.get("--bootstrap-servers", os.environ.get(BOOTSTRAP_ENV) or None)
    if (
        not (log_level.isascii() and log_level.lower() in LOG_LEVELS)
        or app_dir is None
        or broker_timeout is None
        or bootstrap == ""
    ):
        return None
    return RunOptions(
        target=target,
        app_dir=app_dir,
        log_level=log_level.lower(),
        bootstrap_servers=bootstrap,
        broker_timeout=broker_timeout,
    )


def _option_values(tokens: Sequence[str]) -> dict[str, str] | None:
    """``{option: value}`` plus ``{"": target}``; ``None`` at anything not plainly ours."""
    values: dict[str, str] = {}
    pending = list(tokens)
    while pending:
        token = pending.pop(0)
        if not token.startswith("-"):
            if "" in values or not token:
                return None  # a second argument: a setting's value, or a mistake
            values[""] = token
            continue
        name, equals, value = token.partition("=")
        if name not in _WITH_VALUE or name in values:
            return None  # help, a setting, another option, or one given twice
        if not equals:
            if not pending or pending[0].startswith("-"):
                return None
            value = pending.pop(0)
        values[name] = value
    return values


def _app_dir(value: str) -> Path | None:
    # typer checks that the folder exists and is one; anything doubtful is left to it.
    if not value:
        return None
    path = Path(value)
    if not path.is_dir() or not os.access(path, os.R_OK):
        return None
    return path.resolve()


def _broker_timeout(value: str) -> float | None:
    if _SECONDS.fullmatch(value) is None:
        return None
    seconds = float(value)
    return seconds if seconds >= _MIN_BROKER_TIMEOUT else None
