"""Text that came from a message, made safe for a log line or a header.

Whoever can write to a topic chooses the bytes of a body, a key, a dict key in a body
and so the text of the errors they cause. Before any of it reaches a log line or a
dead-letter header it is escaped (no raw newline, escape sequence or other control
character, so it cannot forge a log line or colour a terminal) and cut to a bound.
"""

from __future__ import annotations

import re

__all__ = ("ERROR_TEXT_BYTES", "error_text", "safe_text")

ERROR_TEXT_BYTES = 2000
"""The most bytes of error text a dead-letter header or a log line carries."""

_MOST_LISTED_ERRORS = 3
# More errors than this and pydantic's own listing of them costs far more than the
# message did (seconds for a few MB): say how many instead.
_MOST_ERRORS_READ = 20

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators and bidi
# overrides, which some terminals and log viewers also act on.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe_text(text: str, limit: int = ERROR_TEXT_BYTES) -> str:
    """``text`` with every control character escaped (``\\n``, ``\\x1b``...), and cut to at
    most ``limit`` bytes of UTF-8 with a note of how much was left out."""
    cut = text[:limit]  # a character is at least a byte: nothing past this can be kept
    escaped = _UNSAFE.sub(_escape, cut)
    encoded = escaped.encode()
    if len(cut) == len(text) and len(encoded) <= limit:
        return escaped
    note = f"... ({len(text)} characters in all)"
    return encoded[: max(0, limit - len(note))].decode(errors="ignore") + note


def error_text(error: BaseException) -> str:
    """A bounded, escaped account of ``error``: for a pydantic ``ValidationError`` its
    first errors (where and why, never the input values), else ``Type: message``."""
    count = getattr(error, "error_count", None)
    if count is None:
        return safe_text(f"{type(error).__name__}: {error}")
    total = count()
    title = getattr(error, "title", type(error).__name__)
    if total > _MOST_ERRORS_READ:
        return safe_text(
            f"{total} validation errors for {title}: the message does not have its shape"
        )
    details = error.errors(include_url=False, include_context=False, include_input=False)  # type: ignore[attr-defined]
    listed = "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'message'}: {item['msg']}"
        for item in details[:_MOST_LISTED_ERRORS]
    )
    more = f" (and {total - _MOST_LISTED_ERRORS} more)" if total > _MOST_LISTED_ERRORS else ""
    noun = "error" if total == 1 else "errors"
    return safe_text(f"{total} validation {noun} for {title}: {listed}{more}")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
