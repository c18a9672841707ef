"""The one error the launcher raises: :class:`LauncherError`."""

from __future__ import annotations

__all__ = ("LauncherError",)


class LauncherError(RuntimeError):
    """The local Kafka broker could not be set up, started or reached.

    The first line of the message says what went wrong and what to do; any lines after it
    are the tail of the relevant log.
    """
