"""The one error the CLI shows as a single line: something the user can change.

What the user typed (or what came from the environment) may be repeated in that line,
but only through :func:`shown`: escaped, so that no control character reaches the
terminal, and cut short, so that the line stays one line.
"""

from __future__ import annotations

__all__ = ("SHOWN_LENGTH", "CliError", "printable", "shown")

SHOWN_LENGTH = 80
"""The most characters :func:`shown` gives for one value."""


class CliError(Exception):
    """A mistake the user can fix; ``stream`` prints ``error: <message>`` and exits 1.

    The message is one line that says what is wrong and, where it can, what to do.
    """


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with every non-printable character escaped (``\\x1b``, ``\\n``, ``\\u202e``).

    Args:
        text: What to show.
        limit: Cut the result to this many characters, ending in ``...``.
    """
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if limit is not None and len(escaped) > limit:
        return f"{escaped[: limit - 3]}..."
    return escaped


def shown(value: object) -> str:
    """``repr(value)``, escaped and cut to at most :data:`SHOWN_LENGTH` characters."""
    return printable(repr(value), SHOWN_LENGTH)
