"""Delivery policies: when offsets are committed, how failures are retried and where they go."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ("DeadLetter", "DeliveryPolicy", "Guarantee", "Retry")


class Guarantee(StrEnum):
    """When a received message counts as done."""

    AT_LEAST_ONCE = "at_least_once"
    """Commit only after the handler returned and every output was acknowledged (default)."""
    AT_MOST_ONCE = "at_most_once"
    """Commit before the handler runs: a crash may lose the message, never repeat it."""
    EXACTLY_ONCE = "exactly_once"
    """Outputs and the input's offset commit together in one Kafka transaction."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Retry:
    """How often a failing handler is tried, and how long to wait between tries.

    Attributes:
        attempts: Tries in all, the first included; 1 means no retry.
        backoff: Seconds to wait before the second try.
        multiplier: Each further wait is the previous one times this.
        max_backoff: No wait is longer than this.
    """

    attempts: int = 3
    backoff: float = 0.1
    multiplier: float = 2.0
    max_backoff: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(
                f"Retry(attempts={self.attempts}): attempts counts the first try; use 1 or more"
            )
        if self.backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("Retry: backoff and max_backoff must be >= 0 and multiplier >= 1")

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after ``failed_attempts`` tries have failed."""
        return min(self.backoff * self.multiplier ** (failed_attempts - 1), self.max_backoff)


@dataclass(frozen=True, kw_only=True, slots=True)
class DeadLetter:
    """Where a message goes when it cannot be decoded or its retries are spent.

    Attributes:
        topic: The dead-letter topic; ``None`` means ``"<source topic><suffix>"``.
        suffix: Appended to the source topic when ``topic`` is ``None``.
    """

    topic: str | None = None
    suffix: str = ".dlq"

    def topic_for(self, source_topic: str) -> str:
        """The dead-letter topic for a message read from ``source_topic``."""
        return self.topic if self.topic is not None else source_topic + self.suffix


_DEFAULT_RETRY = Retry()


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryPolicy:
    """The promises a subscription keeps.

    Attributes:
        guarantee: When offsets are committed; at-least-once by default.
        retry: How a failing handler is retried: three tries by default, one under
            at-most-once (which never repeats a handler; more is refused).
        dead_letter: Where failures go. ``None`` means a failure stops the
            subscription with the error and nothing is committed past it, so
            nothing is dropped; use it only when a failure must halt the service.
        timeout: Seconds one handler call may take; a call that takes longer
            fails with ``TimeoutError`` and is retried like any failure.
    """

    guarantee: Guarantee = Guarantee.AT_LEAST_ONCE
    retry: Retry = _DEFAULT_RETRY
    dead_letter: DeadLetter | None = field(default_factory=DeadLetter)
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.guarantee is Guarantee.AT_MOST_ONCE:
            if self.retry is _DEFAULT_RETRY:
                object.__setattr__(self, "retry", Retry(attempts=1))
            elif self.retry.attempts > 1:
                raise ValueError(
                    f"DeliveryPolicy(guarantee=AT_MOST_ONCE, retry=Retry(attempts="
                    f"{self.retry.attempts})): at-most-once never runs a handler twice; use "
                    "Retry(attempts=1), or at-least-once to retry"
                )
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(
                f"DeliveryPolicy(timeout={self.timeout}): use a positive number of seconds or None"
            )
