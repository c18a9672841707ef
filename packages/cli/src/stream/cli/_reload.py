"""``stream run --reload``: run the service in a child process, restart it when code changes.

The supervisor never imports the user's code: each child starts fresh, and a child
that fails (a syntax error mid-edit) is reported while the supervisor waits for the
next change, as uvicorn's reloader does.
"""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Iterable
from pathlib import Path

from stream.cli._loading import add_app_dir, split_target
from stream.cli._logs import logger
from stream.cli._options import RunOptions
from stream.cli._processes import SupervisorSignals, describe_exit, spawn_child, stop_child
from stream.cli._runner import FORCED_EXIT_CODE

__all__ = ("STOP_GRACE", "run_with_reload", "watch_paths")

STOP_GRACE = 30.0
"""Seconds the old child has to drain and commit before it is killed."""

# Low enough to feel immediate, high enough that an editor's save-rename-write is one event.
_DEBOUNCE_MS = 300


def watch_paths(options: RunOptions) -> list[Path]:
    """The folders to watch: ``--app-dir`` and the folder of the target's top package."""
    add_app_dir(options.app_dir)
    paths = [options.app_dir.resolve()]
    top = split_target(options.target)[0].split(".")[0]
    try:
        # Only finds the top package (no import): the service's own code stays unloaded.
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        if spec.submodule_search_locations:
            paths += [Path(location) for location in spec.submodule_search_locations]
        elif spec.origin is not None and spec.origin not in ("built-in", "frozen"):
            paths.append(Path(spec.origin).parent)
    return _outermost(path.resolve() for path in paths if path.exists())


def run_with_reload(options: RunOptions) -> int:
    """Runs the service in a child, restarting it on ``.py`` changes, until SIGINT/SIGTERM.

    Returns:
        The last child's exit code after a stop (0 when it stopped cleanly), or 130 when
        a second CTRL+C forced the exit.
    """
    import watchfiles

    signals = SupervisorSignals()
    signals.install()
    paths = watch_paths(options)
    logger.info("Watching %s for changes", ", ".join(str(path) for path in paths))
    child = spawn_child(options)
    reported = False
    for changes in watchfiles.watch(
        *paths,
        watch_filter=watchfiles.PythonFilter(),
        stop_event=signals.stop,
        debounce=_DEBOUNCE_MS,
        rust_timeout=500,
        yield_on_timeout=True,
        raise_interrupt=False,
    ):
        if signals.stop.is_set():
            break
        if changes:
            names = sorted({Path(path).name for _, path in changes})
            logger.info("Changes in %s; restarting", ", ".join(names))
            stop_child(child, grace=STOP_GRACE, forced=signals.force)
            child, reported = spawn_child(options), False
        elif child.poll() is not None and not reported:
            reported = True
            logger.error(
                "The service %s; fix it and save to restart", describe_exit(child.returncode)
            )
    code = _stop(child, signals)
    return FORCED_EXIT_CODE if signals.force.is_set() else code


def _stop(child: subprocess.Popen[bytes], signals: SupervisorSignals) -> int:
    if child.poll() is not None:
        # It ended on its own before the stop; that was reported, and is not this stop's fault.
        return 0
    return stop_child(child, grace=STOP_GRACE, forced=signals.force)


def _outermost(paths: Iterable[Path]) -> list[Path]:
    kept: list[Path] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(outer) for outer in kept):
            kept.append(path)
    return kept
