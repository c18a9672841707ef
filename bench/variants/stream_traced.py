"""Variant (a) with ``stream.opentelemetry.Tracing``: what tracing costs the job.

Two services, each the stream variant's own handler with the middleware added:

- ``SdkTraced``: an OpenTelemetry SDK ``TracerProvider`` that samples every span, with a
  ``BatchSpanProcessor`` (the one production uses) in front of an exporter that drops
  what it gets, so the figure is the service's cost, not a collector's.
- ``ApiTraced``: no SDK at all, the state of a service that installs stream-opentelemetry
  but configures no provider: no-op spans, trace context passed through.

Run by the harness as ``stream run bench.variants.stream_traced:SdkTraced`` (or
``:ApiTraced``) when asked for ``--variants stream_traced stream_traced_api``.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from bench.variants.stream_app import BenchService
from stream.opentelemetry import Tracing

__all__ = ("ApiTraced", "SdkTraced")


class _Dropping(SpanExporter):
    """Takes every batch and keeps nothing: the export's cost is a collector's, not ours."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


def _sdk_provider() -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Dropping()))
    return provider


class SdkTraced(BenchService):
    """The stream variant, traced into an SDK provider."""

    middlewares = (Tracing(tracer_provider=_sdk_provider()),)


class ApiTraced(BenchService):
    """The stream variant with Tracing and no SDK configured."""

    middlewares = (Tracing(tracer_provider=trace.NoOpTracerProvider()),)
