"""Prometheus metrics for stream services.

Add :class:`Metrics` to a service's middlewares; ``stream run --http HOST:PORT`` then
serves them at ``/metrics``.
"""

from stream.prometheus._metrics import Metrics

__all__ = ("Metrics",)
