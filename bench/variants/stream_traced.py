"""Variant (a) with ``stream.opentelemetry.Tracing``: what tracing costs the job.

Two services, each the stream variant's own handler with the middleware added:

- ``SdkTraced``: an OpenTelemetry SDK ``TracerProvider`` that samples every span, with a
  ``BatchSpanProcessor`` (the one production uses) in front of an exporter that drops
  what it gets, so the figure is the service's cost, not a collector's.
- ``SampledTraced``: the same provider with ``ParentBased(TraceIdRatioBased(0.01))``, the
  sampling a busy production service runs with: one trace in a hundred is recorded.
- ``ApiTraced``: no SDK at all, the state of a service that installs stream-opentelemetry
  but configures no provider: no-op spans, trace context passed through.
- ``ObservedService``: what production runs: ``SampledTraced``'s tracing and
  stream.prometheus's ``Metrics`` together (run with ``--http``, as ``stream_metrics`` is).

Run by the harness as ``stream run bench.variants.stream_traced:SdkTraced`` (or
``:SampledTraced``, ``:ApiTraced``, ``:ObservedService``) when asked for ``--variants
stream_traced stream_traced_sampled stream_traced_api stream_observed``.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from bench.variants.stream_app import BenchService
from stream.opentelemetry import Tracing
from stream.prometheus import Metrics

__all__ = ("ApiTraced", "Dropping", "ObservedService", "SampledTraced", "SdkTraced")


class Dropping(SpanExporter):
    """Takes every batch and keeps nothing: the export's cost is a collector's, not ours."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


def _sdk_provider(sampler: Sampler | None = None) -> TracerProvider:
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(Dropping()))
    return provider


class SdkTraced(BenchService):
    """The stream variant, traced into an SDK provider."""

    middlewares = (Tracing(tracer_provider=_sdk_provider()),)


class SampledTraced(BenchService):
    """The stream variant, traced into an SDK provider that samples 1% of the traces."""

    middlewares = (Tracing(tracer_provider=_sdk_provider(ParentBased(TraceIdRatioBased(0.01)))),)


class ApiTraced(BenchService):
    """The stream variant with Tracing and no SDK configured."""

    middlewares = (Tracing(tracer_provider=trace.NoOpTracerProvider()),)


class ObservedService(BenchService):
    """The stream variant as production runs it: 1% of the traces recorded, and metrics."""

    middlewares = (
        Tracing(tracer_provider=_sdk_provider(ParentBased(TraceIdRatioBased(0.01)))),
        Metrics(),
    )
