"""Where stream's time goes: one throughput run of the stream variant under pyinstrument.

The profiler starts at the first record and stops at shutdown, so the samples are the
per-message path. Its time is totalled per layer (stream's core, stream's Kafka
transport, aiokafka, pydantic, the event loop, the job itself) and per function.
"""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.broker import BenchKafka
from bench.throughput import ThroughputRun, preload, run_throughput

__all__ = ("ProfileSummary", "run_profile", "summarize")

_EVENT_LOOP = ("/asyncio/", "selectors.py")
# Other standard-library time (random, dataclasses...) is its caller's.
_STDLIB = sysconfig.get_paths()["stdlib"]
# Earlier entries win: a path under site-packages/stream/... is stream, not "other".
_LAYERS = (
    ("stream.core", ("/stream/core/",)),
    ("stream.kafka", ("/stream/kafka/",)),
    ("aiokafka", ("/aiokafka/",)),
    ("pydantic", ("/pydantic/", "/pydantic_core/")),
    ("event loop (asyncio, anyio)", (*_EVENT_LOOP, "/anyio/")),
    ("the job (bench code)", ("/bench/",)),
)
_PYDANTIC_CLASSES = ("SchemaValidator", "SchemaSerializer", "TypeAdapter")


@dataclass(frozen=True, kw_only=True)
class ProfileSummary:
    """Sampled time per layer and the costliest functions, per message.

    Attributes:
        run: The profiled run (slower than an unprofiled one).
        sampled_seconds: Time the samples cover.
        layers: ``(layer, seconds, microseconds per message)``, costliest first.
        functions: ``(function, seconds of its own time, µs per message)``, top ones.
        text: pyinstrument's call tree (a text file in the work folder).
    """

    run: ThroughputRun
    sampled_seconds: float
    layers: list[tuple[str, float, float]]
    functions: list[tuple[str, float, float]]
    text: str


def _layer(frame: Any) -> str:
    path = frame.file_path or ""
    in_stdlib = path.startswith(_STDLIB) and not any(n in path for n in _EVENT_LOOP)
    if path.startswith("<") or in_stdlib:
        # Built-ins, generated code (a dataclass __init__) and the standard library count for
        # whoever called them,
        # except pydantic-core's validators and serializers, which are pydantic's work.
        if (frame.class_name or "") in _PYDANTIC_CLASSES:
            return "pydantic"
        return _layer(frame.parent) if frame.parent is not None else "other"
    for name, needles in _LAYERS:
        if any(needle in path for needle in needles):
            return name
    return "other"


def summarize(
    session_path: Path, messages: int, top: int = 15
) -> tuple[float, list[tuple[str, float, float]], list[tuple[str, float, float]]]:
    """Totals a saved pyinstrument session by layer and by function (self time)."""
    from pyinstrument.session import Session

    root = Session.load(str(session_path)).root_frame()
    if root is None:
        return 0.0, [], []
    layers: dict[str, float] = {}
    functions: dict[str, float] = {}
    todo = [root]
    while todo:
        frame = todo.pop()
        children = frame.children
        todo.extend(children)
        own = frame.time - sum(child.time for child in children)
        if own <= 0:
            continue
        # pyinstrument keeps a function's own time in a synthetic "[self]" child.
        if frame.is_synthetic_leaf and frame.parent is not None:
            frame = frame.parent
        layer = _layer(frame)
        layers[layer] = layers.get(layer, 0.0) + own
        where = Path(frame.file_path or "?").name
        owner = f"{frame.class_name}." if frame.class_name else ""
        name = f"{owner}{frame.function} ({where})"
        functions[name] = functions.get(name, 0.0) + own
    per_message = 1e6 / messages
    return (
        root.time,
        [(name, s, s * per_message) for name, s in _costliest(layers)],
        [(name, s, s * per_message) for name, s in _costliest(functions)[:top]],
    )


def _costliest(totals: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)


async def run_profile(kafka: BenchKafka, messages: int, workdir: Path) -> ProfileSummary:
    """Profiles one stream run over ``messages`` fresh messages."""
    source = await preload(kafka, messages)
    stem = workdir / "stream-profile"
    run = await run_throughput(kafka, source, "stream", round_no=0, workdir=workdir, profile=stem)
    session = stem.with_suffix(".pyisession")
    if run.error is not None or not session.is_file():
        raise RuntimeError(f"the profiled stream run failed: {run.error or 'no profile written'}")
    sampled, layers, functions = summarize(session, source.messages)
    return ProfileSummary(
        run=run,
        sampled_seconds=sampled,
        layers=layers,
        functions=functions,
        text=str(stem.with_suffix(".txt")),
    )
