"""The stream job in the modes issue 13 sets targets for: concurrency, I/O, exactly-once.

Each class is the stream variant's service (`stream_app.BenchService`, same model, same
job, defaults otherwise) with one thing changed, so the ratio to its counterpart shows
what that one thing costs or gains:

* ``Concurrent8``: ``concurrency=8`` on the CPU-bound job (validate, add one).
* ``Io1`` / ``Io8``: the handler first awaits 1 ms of I/O (``asyncio.sleep(0.001)``),
  at ``concurrency`` 1 and 8; lanes split a partition by key, so the harness's input
  carries keys.
* ``ExactlyOnce``: ``Guarantee.EXACTLY_ONCE``: outputs and offsets in one transaction.

Run by the harness as ``stream run bench.variants.stream_modes:<Class>``.
"""

from __future__ import annotations

import asyncio

from bench.models import DataBasic, bump
from bench.variants.common import FirstRecord, VariantSettings
from stream import core
from stream.core import DeliveryPolicy, Guarantee, consume, produce
from stream.kafka import KafkaBroker

__all__ = ("Concurrent8", "ExactlyOnce", "Io1", "Io8")

SETTINGS = VariantSettings.from_env()
_first = FirstRecord(SETTINGS.mark_dir)
# The I/O the handler awaits: one short call to something outside, as a lookup would be.
IO_SECONDS = 0.001


def _service(
    name: str, *, concurrency: int = 1, io: bool = False, guarantee: Guarantee | None = None
) -> type[core.Service]:
    """The bench service with these options; ``name`` is what its start line says."""
    delivery = DeliveryPolicy(guarantee=guarantee) if guarantee is not None else None

    class Mode(core.Service):
        broker = KafkaBroker(SETTINGS.bootstrap)

        @produce(SETTINGS.out_topic)
        @consume(
            SETTINGS.in_topic, group_id=SETTINGS.group, concurrency=concurrency, delivery=delivery
        )
        async def on_input_data(self, msg: DataBasic) -> DataBasic:
            """Adds one (after the I/O, if any)."""
            _first.hit()
            if io:
                await asyncio.sleep(IO_SECONDS)
            return bump(msg)

    Mode.__name__ = Mode.__qualname__ = name
    Mode.__doc__ = f"The bench job: concurrency={concurrency}, io={io}, guarantee={guarantee}."
    return Mode


Concurrent8 = _service("Concurrent8", concurrency=8)
Io1 = _service("Io1", io=True)
Io8 = _service("Io8", concurrency=8, io=True)
ExactlyOnce = _service("ExactlyOnce", guarantee=Guarantee.EXACTLY_ONCE)
