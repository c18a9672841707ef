"""How each variant's process is started, and whether the ``stream`` CLI is there to do it."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.proc import python_module

__all__ = (
    "EXTRA_VARIANTS",
    "MODE_VARIANTS",
    "TRACING_VARIANTS",
    "VARIANTS",
    "Command",
    "command_for",
    "stream_cli",
    "stream_cli_has_workers",
)

VARIANTS = ("stream", "faststream", "raw")
# Not one of the three: the raw loop producing record batches, as stream's sender
# does, to show what the framework costs on top of aiokafka's cheapest path; and stream with
# stream.prometheus's Metrics and `--http` on, to show what operating it costs.
EXTRA_VARIANTS = ("raw_batch", "stream_metrics")
# Issue 13's targets: the stream job at concurrency 1 and 8, with the CPU-bound handler
# ("stream" itself is concurrency 1) and with one that awaits 1 ms of I/O; and under
# exactly-once, against "stream" (at-least-once). See variants/stream_modes.py.
MODE_VARIANTS = ("stream_c8", "stream_io_c1", "stream_io_c8", "stream_eos")
# Asked for by name only (--variants): stream with stream.opentelemetry's Tracing, into an
# SDK provider (every trace, or 1% of them) and with none configured: what tracing costs;
# and stream_observed, 1% of the traces with Metrics and `--http`: what production runs.
TRACING_VARIANTS = (
    "stream_traced",
    "stream_traced_sampled",
    "stream_traced_api",
    "stream_observed",
)

_STREAM_APP = "bench.variants.stream_app"
_STREAM_SERVICES = {
    "stream": f"{_STREAM_APP}:BenchService",
    "stream_traced": "bench.variants.stream_traced:SdkTraced",
    "stream_traced_sampled": "bench.variants.stream_traced:SampledTraced",
    "stream_traced_api": "bench.variants.stream_traced:ApiTraced",
    "stream_c8": "bench.variants.stream_modes:Concurrent8",
    "stream_io_c1": "bench.variants.stream_modes:Io1",
    "stream_io_c8": "bench.variants.stream_modes:Io8",
    "stream_eos": "bench.variants.stream_modes:ExactlyOnce",
}
# Run with `--http`, as an operator runs a service whose metrics are scraped.
_HTTP_SERVICES = {
    "stream_metrics": f"{_STREAM_APP}:MeteredBenchService",
    "stream_observed": "bench.variants.stream_traced:ObservedService",
}
_MODULES = {"faststream": "bench.variants.faststream_app", "raw": "bench.variants.raw_loop"}
# stream's Service logs "<Class> started" once its transport runs; the others print a line.
_READY = {
    "stream": re.compile(r"BenchService started"),
    "stream_metrics": re.compile(r"MeteredBenchService started"),
    "faststream": re.compile(r"faststream app started"),
    "raw": re.compile(r"raw loop started"),
    "raw_batch": re.compile(r"raw loop \(batched\) started"),
    "stream_traced": re.compile(r"SdkTraced started"),
    "stream_traced_sampled": re.compile(r"SampledTraced started"),
    "stream_traced_api": re.compile(r"ApiTraced started"),
    "stream_observed": re.compile(r"ObservedService started"),
    "stream_c8": re.compile(r"Concurrent8 started"),
    "stream_io_c1": re.compile(r"Io1 started"),
    "stream_io_c8": re.compile(r"Io8 started"),
    "stream_eos": re.compile(r"ExactlyOnce started"),
}


@dataclass(frozen=True, slots=True)
class Command:
    """A variant's command line and the output line that says it has started."""

    variant: str
    argv: tuple[str, ...]
    ready: re.Pattern[str]
    via_cli: bool = False


@cache
def _run_help() -> tuple[Path, str] | None:
    script = Path(sys.executable).parent / "stream"
    if not script.is_file():
        return None
    done = subprocess.run(
        [str(script), "run", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    return (script, done.stdout) if done.returncode == 0 else None


def stream_cli() -> Path | None:
    """The ``stream`` console script beside this interpreter, if ``stream run`` works."""
    found = _run_help()
    return found[0] if found is not None else None


def stream_cli_has_workers() -> bool:
    """Whether ``stream run`` takes ``--workers``."""
    found = _run_help()
    return found is not None and "--workers" in found[1]


def command_for(variant: str, bootstrap: str, *, workers: int = 1) -> Command:
    """How to start ``variant``; stream goes through ``stream run`` when the CLI exists."""
    if variant in _STREAM_SERVICES:
        script = stream_cli()
        if script is None:
            if workers != 1 or variant != "stream":
                raise RuntimeError(f"{variant} needs the stream CLI (stream-cli), not installed")
            return Command(variant, tuple(python_module(_STREAM_APP)), _READY[variant])
        service = _STREAM_SERVICES[variant]
        argv = [str(script), "run", service, "--bootstrap-servers", bootstrap]
        if workers != 1:
            argv += ["--workers", str(workers)]
        return Command(variant, tuple(argv), _READY[variant], via_cli=True)
    if variant in _MODULES:
        return Command(variant, tuple(python_module(_MODULES[variant])), _READY[variant])
    if variant == "raw_batch":
        batched = (*python_module(_MODULES["raw"]), "--batched")
        return Command(variant, batched, _READY[variant])
    if variant in _HTTP_SERVICES:
        script = stream_cli()
        if script is None:
            raise RuntimeError(f"{variant} needs the stream CLI (stream-cli[http])")
        argv = [str(script), "run", _HTTP_SERVICES[variant]]
        argv += ["--bootstrap-servers", bootstrap, "--http", "127.0.0.1:0"]
        return Command(variant, tuple(argv), _READY[variant], via_cli=True)
    known = ", ".join((*VARIANTS, *EXTRA_VARIANTS, *MODE_VARIANTS, *TRACING_VARIANTS))
    raise ValueError(f"unknown variant {variant!r}; pick one of {known}")
