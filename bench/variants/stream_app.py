"""Variant (a): the job as a stream service, the demo app without its per-message log line.

Run by the harness as ``stream run bench.variants.stream_app:BenchService`` when the CLI is
installed, else as ``python -m bench.variants.stream_app`` (``Service.run`` on a
``KafkaBroker``). Everything is stream's defaults: at-least-once, commit after the outputs
are acknowledged, 500 records per fetch.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from bench.models import DataBasic, Padded, bump, bump_padded
from bench.variants.common import FirstRecord, VariantSettings
from bench.variants.profiling import ProcessingProfile
from stream import core
from stream.core import consume, produce
from stream.kafka import KafkaBroker
from stream.prometheus import Metrics

__all__ = ("BenchService", "MeteredBenchService", "main")

SETTINGS = VariantSettings.from_env()
_profile = ProcessingProfile(SETTINGS.profile)
_first = FirstRecord(SETTINGS.mark_dir, _profile.start)


class _Base(core.Service):
    broker = KafkaBroker(SETTINGS.bootstrap)

    async def on_shutdown(self) -> None:
        _profile.finish()


# The handler's annotations must be the model itself, so the padded runs get their own class.
if SETTINGS.padded:

    class BenchService(_Base):
        """Adds one to every padded reading."""

        @produce(SETTINGS.out_topic)
        @consume(SETTINGS.in_topic, group_id=SETTINGS.group)
        async def on_input_data(self, msg: Padded) -> Padded:
            """Adds one, keeps the filler."""
            _first.hit()
            return bump_padded(msg)

else:

    class BenchService(_Base):  # type: ignore[no-redef]
        """Adds one to every reading."""

        @produce(SETTINGS.out_topic)
        @consume(SETTINGS.in_topic, group_id=SETTINGS.group)
        async def on_input_data(self, msg: DataBasic) -> DataBasic:
            """Adds one."""
            _first.hit()
            return bump(msg)


class MeteredBenchService(BenchService):
    """The same job with stream.prometheus's metrics on (run with ``--http``)."""

    middlewares = (Metrics(),)


async def _run() -> None:
    service = BenchService()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.request_stop)
    await service.run()


def main() -> None:
    """Entry point of ``python -m bench.variants.stream_app`` (stops on SIGTERM/SIGINT)."""
    # Start-up and shutdown lines only: stream logs nothing per message.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_run())


if __name__ == "__main__":
    main()
