"""Concurrency: many keys at once, one key in order."""

import anyio
from pydantic import BaseModel
from stream import core
from stream.core import consume, produce
from stream.kafka import KafkaBroker


class Click(BaseModel):
    user: str
    page: str


class Visit(BaseModel):
    user: str
    page: str
    country: str


async def country_of(user: str) -> str:
    """Stands for a slow lookup in another service."""
    await anyio.sleep(0.01)
    return "NL" if user.startswith("n") else "FR"


# --8<-- [start:service]
class Enricher(core.Service):
    broker = KafkaBroker("localhost:9092")

    @produce("visits")  # keyed like the click: its user
    @consume("clicks", concurrency=16)
    async def on_click(self, click: Click) -> Visit:
        """Up to 16 lookups wait at once; each user's clicks stay in order."""
        country = await country_of(click.user)
        return Visit(user=click.user, page=click.page, country=country)


# --8<-- [end:service]
