"""The one error the CLI shows as a single line: something the user can change."""

from __future__ import annotations

__all__ = ("CliError",)


class CliError(Exception):
    """A mistake the user can fix; ``stream`` prints ``error: <message>`` and exits 1.

    The message is one line that says what is wrong and, where it can, what to do.
    """
