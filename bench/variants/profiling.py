"""An optional pyinstrument profile of a variant, from its first record to its shutdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ("ProcessingProfile",)


class ProcessingProfile:
    """Samples the process while it processes; start-up and imports stay out of the picture."""

    def __init__(self, stem: Path | None) -> None:
        self._stem = stem
        self._profiler: Any = None

    def start(self) -> None:
        """Starts sampling (a no-op without a path)."""
        if self._stem is None or self._profiler is not None:
            return
        # Imported only when asked for: the measured runs never load the profiler.
        from pyinstrument import Profiler

        # async_mode="disabled": sample the whole thread (event loop, aiokafka, the handler),
        # not only the one task that happened to start the profiler.
        self._profiler = Profiler(interval=0.001, async_mode="disabled")
        self._profiler.start()

    def finish(self) -> None:
        """Stops sampling and writes ``<stem>.txt``, ``<stem>.html`` and ``<stem>.pyisession``."""
        if self._profiler is None or self._stem is None:
            return
        session = self._profiler.stop()
        self._profiler = None
        from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer

        text = ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False)
        self._stem.with_suffix(".txt").write_text(text.render(session), encoding="utf-8")
        self._stem.with_suffix(".html").write_text(HTMLRenderer().render(session), encoding="utf-8")
        # The raw samples, so the harness can total the time per layer itself.
        session.save(str(self._stem.with_suffix(".pyisession")))
