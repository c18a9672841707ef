"""A transport for tests of the core alone: it keeps the record handlers it is given, so a
test calls them with its own records, and leaves every optional feature (``declare_topics``,
``pause``, ``open_replies``) at ``Transport``'s default."""

from __future__ import annotations

from collections.abc import Sequence

from stream.core.transport import (
    OutgoingMessage,
    RecordHandler,
    Subscription,
    Transport,
    TransportDescription,
)


class CapturingTransport(Transport):
    """Keeps the record handlers it is given; publishes nowhere."""

    def __init__(self) -> None:
        self.handlers: list[RecordHandler] = []

    def subscribe(self, subscription: Subscription, handler: RecordHandler) -> None:
        self.handlers.append(handler)

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def publish(self, message: OutgoingMessage) -> None:
        """Sent nowhere."""

    async def publish_many(self, messages: Sequence[OutgoingMessage]) -> None:
        """Sent nowhere."""

    async def ping(self, timeout: float) -> bool:
        return True

    def describe(self) -> TransportDescription:
        return TransportDescription(protocol="capture")
