"""OpenTelemetry tracing for stream services, as a middleware.

Add :class:`Tracing` to a service's ``middlewares``: a consumer span per handler
attempt, a producer span per record sent, and the W3C trace context carried in Kafka
headers from input to outputs and dead letters. Depends on ``opentelemetry-api`` only:
configure an SDK (a ``TracerProvider`` and an exporter) where the service runs.
"""

from stream.opentelemetry._tracing import Tracing

__all__ = ("Tracing",)
