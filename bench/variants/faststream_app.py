"""Variant (b): the job as a FastStream app, with FastStream's defaults and logging off.

FastStream's defaults matter for the comparison: its Kafka subscriber's default
acknowledgement policy is ``AckPolicy.ACK_FIRST``, which turns on aiokafka's
``enable_auto_commit`` (every 5 s, and once more on shutdown). So it commits positions on a
timer, whether or not the outputs were acknowledged: at-most-once-ish, weaker than stream's
and the raw loop's at-least-once. Its publisher awaits each send before the next message.
The one non-default setting is ``auto_offset_reset="earliest"``: the messages are on the
topic before the app starts, and FastStream's default (``"latest"``) would skip them all.
"""

from __future__ import annotations

import asyncio

from faststream import FastStream
from faststream.kafka import KafkaBroker

from bench.models import DataBasic, Padded, bump, bump_padded
from bench.variants.common import FirstRecord, VariantSettings
from bench.variants.profiling import ProcessingProfile

__all__ = ("app", "broker", "main")

SETTINGS = VariantSettings.from_env()
_profile = ProcessingProfile(SETTINGS.profile)
_first = FirstRecord(SETTINGS.mark_dir, _profile.start)

broker = KafkaBroker(SETTINGS.bootstrap, logger=None)
app = FastStream(broker, logger=None)

_subscriber = broker.subscriber(
    SETTINGS.in_topic, group_id=SETTINGS.group, auto_offset_reset="earliest"
)
_publisher = broker.publisher(SETTINGS.out_topic)

if SETTINGS.padded:

    @_subscriber
    @_publisher
    async def on_input_padded(msg: Padded) -> Padded:
        """Adds one, keeps the filler."""
        _first.hit()
        return bump_padded(msg)

else:

    @_subscriber
    @_publisher
    async def on_input_data(msg: DataBasic) -> DataBasic:
        """Adds one."""
        _first.hit()
        return bump(msg)


@app.after_startup
async def _announce() -> None:
    print("faststream app started", flush=True)


@app.on_shutdown
async def _write_profile() -> None:
    _profile.finish()


def main() -> None:
    """Entry point of ``python -m bench.variants.faststream_app`` (stops on SIGTERM/SIGINT)."""
    asyncio.run(app.run())


if __name__ == "__main__":
    main()
