"""Errors a user of stream can meet, each saying what to change."""

from __future__ import annotations

__all__ = (
    "BindError",
    "DecodeError",
    "EncodeError",
    "HookError",
    "NotRunningError",
    "StreamError",
)


class StreamError(Exception):
    """Base class of every error stream raises on purpose."""


class BindError(StreamError, TypeError):
    """A handler cannot be bound: its signature or its options are wrong.

    Raised when a service starts (or is described), never per message. The
    message names the service, the method and, where there is one, the parameter.
    """


class DecodeError(StreamError, ValueError):
    """A received message could not be decoded or validated for its handler.

    The original error (usually a pydantic ``ValidationError``) is the ``__cause__``.
    Under the default delivery policy the message goes to the dead-letter topic at once.
    """


class EncodeError(StreamError, ValueError):
    """A value could not be encoded into a message body or key."""


class HookError(StreamError):
    """A lifecycle hook (``on_startup``, ``after_startup``, ...) raised.

    The hook's own exception is the ``__cause__``.
    """


class NotRunningError(StreamError, RuntimeError):
    """Something needs a started service (or transport) and it is not started."""
