"""What every variant process shares: its settings and the first-record mark.

The harness passes settings through the environment because ``stream run MODULE:ATTR``
imports the service module itself: topics must be known at import time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.models import DataBasic, Padded

__all__ = ("ENV_PREFIX", "FirstRecord", "VariantSettings")

ENV_PREFIX = "BENCH_"
# The same fetch size for all three, stream's default, so no variant wins by batching more.
MAX_RECORDS = 500


@dataclass(frozen=True, kw_only=True)
class VariantSettings:
    """One variant run's settings, as the harness passes them.

    Attributes:
        bootstrap: Kafka bootstrap servers.
        in_topic: The topic to consume.
        out_topic: The topic to produce to.
        group: The consumer group (fresh per run, so each run reads the whole topic).
        padded: Validate into ``Padded`` (payload-size runs) instead of ``DataBasic``.
        mark_dir: Where the process writes the monotonic time of its first record.
        profile: Write a pyinstrument profile of the processing to this path (stem).
    """

    bootstrap: str
    in_topic: str
    out_topic: str
    group: str
    padded: bool = False
    mark_dir: Path | None = None
    profile: Path | None = None

    @property
    def model(self) -> type[DataBasic]:
        """The model messages are validated into."""
        return Padded if self.padded else DataBasic

    def to_env(self) -> dict[str, str]:
        """The environment variables that carry these settings to a variant process."""
        env = {
            "BENCH_BOOTSTRAP": self.bootstrap,
            "BENCH_IN_TOPIC": self.in_topic,
            "BENCH_OUT_TOPIC": self.out_topic,
            "BENCH_GROUP": self.group,
            "BENCH_PADDED": "1" if self.padded else "0",
        }
        if self.mark_dir is not None:
            env["BENCH_MARK_DIR"] = str(self.mark_dir)
        if self.profile is not None:
            env["BENCH_PROFILE"] = str(self.profile)
        return env

    @classmethod
    def from_env(cls) -> VariantSettings:
        """Reads the settings; importing a variant outside the harness gets harmless defaults."""
        env = os.environ
        mark_dir = env.get("BENCH_MARK_DIR")
        profile = env.get("BENCH_PROFILE")
        return cls(
            bootstrap=env.get("BENCH_BOOTSTRAP", "localhost:9092"),
            in_topic=env.get("BENCH_IN_TOPIC", "bench-in"),
            out_topic=env.get("BENCH_OUT_TOPIC", "bench-out"),
            group=env.get("BENCH_GROUP", "bench"),
            padded=env.get("BENCH_PADDED") == "1",
            mark_dir=Path(mark_dir) if mark_dir else None,
            profile=Path(profile) if profile else None,
        )


class FirstRecord:
    """Records when this process handed its first record to the job; the clock starts there.

    ``hit()`` is called per message, so after the first call it is a single attribute test.
    """

    __slots__ = ("_mark_dir", "_on_first", "done")

    def __init__(self, mark_dir: Path | None, on_first: Callable[[], None] | None = None) -> None:
        self._mark_dir = mark_dir
        self._on_first = on_first
        self.done = mark_dir is None and on_first is None

    def hit(self) -> None:
        """Marks the first record; later calls return at once."""
        if self.done:
            return
        self.done = True
        # CLOCK_MONOTONIC is system-wide on Linux, so the harness can compare it with its own.
        # The CPU time so far lets the harness count only the CPU spent processing.
        now, cpu = time.monotonic(), time.process_time()
        if self._mark_dir is not None:
            # One file per process: with --workers 2 the earliest worker starts the clock.
            # Written aside and renamed: the harness polls the folder and must never
            # read a half-written mark.
            path = self._mark_dir / f"first-{os.getpid()}"
            aside = self._mark_dir / f".writing-{os.getpid()}"
            aside.write_text(f"{now!r} {cpu!r}", encoding="ascii")
            aside.replace(path)
        if self._on_first is not None:
            self._on_first()
