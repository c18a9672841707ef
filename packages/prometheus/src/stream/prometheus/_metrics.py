"""``Metrics``: a service's handlers, commits and consumer lag, for Prometheus."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from prometheus_client import REGISTRY, CollectorRegistry

from stream.core import Message, Middleware, OutgoingMessage
from stream.core.transport import ConsumerSpec, Transport, TransportObserver
from stream.prometheus._collector import Collector
from stream.prometheus._counts import DURATION_BUCKETS, Histogram
from stream.prometheus._handler import HandlerMetrics

__all__ = ("Metrics",)

# One collector per registry and namespace, shared by every Metrics given them.
_COLLECTORS: WeakKeyDictionary[CollectorRegistry, dict[str, Collector]] = WeakKeyDictionary()


def _collector(registry: CollectorRegistry, namespace: str) -> Collector:
    by_namespace = _COLLECTORS.setdefault(registry, {})
    collector = by_namespace.get(namespace)
    if collector is None:
        collector = by_namespace[namespace] = Collector(namespace)
        registry.register(collector)
    return collector


class Metrics(Middleware, TransportObserver):
    """Counts what a service's handlers do and exposes it, with its transport's state, to
    Prometheus.

    Set it as a service middleware; at start the service also gives it to its transport,
    which tells it of fetched batches and commits, and whose status it reads at each
    scrape (consumer lag, partitions, work in flight). Serve the registry with
    ``stream run --http`` (``/metrics``) or any ``prometheus_client`` exposition.

    Handlers count in plain numbers on the event loop; nothing is formatted or locked
    per message.

    Args:
        registry: Where the metrics are registered; the client's default registry
            unless given (a test passes its own ``CollectorRegistry()``). Several
            ``Metrics`` (one per service of a process) share a registry's names.
        namespace: The metric names' prefix.
        duration_buckets: Bucket bounds, in seconds, of the handler and commit
            duration histograms.

    Example:
        >>> class Service(core.Service):
        ...     broker = KafkaBroker("localhost:9092")
        ...     middlewares = (Metrics(),)
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = REGISTRY,
        namespace: str = "stream",
        duration_buckets: tuple[float, ...] = DURATION_BUCKETS,
    ) -> None:
        self.bounds = tuple(sorted(duration_buckets))
        self.handlers: list[HandlerMetrics] = []
        self.published: dict[str, int] = {}
        """Records sent from outside any handler, by topic."""
        self.handed_over: dict[tuple[str, str], int] = {}
        self.commits: dict[str, Histogram] = {}
        self.transports: list[Transport] = []
        if registry is not None:
            _collector(registry, namespace).sources.append(self)

    # Middleware.

    def for_handler(self, handler: ConsumerSpec) -> Middleware:
        """A middleware counting under ``handler``'s name (its ``handler`` label)."""
        bound = HandlerMetrics(handler.qualname, batch=handler.options.batch, bounds=self.bounds)
        self.handlers.append(bound)
        return bound

    def publish(self, record: OutgoingMessage, source: Message | None) -> OutgoingMessage:
        """Counts a send from outside any handler (``handler=""``)."""
        self.published[record.topic] = self.published.get(record.topic, 0) + 1
        return record

    # TransportObserver.

    def attached(self, transport: Transport) -> None:
        """Reads ``transport``'s status at each scrape from now on."""
        if transport not in self.transports:
            self.transports.append(transport)

    def received(self, subscription: str, topic: str, partition: int, count: int) -> None:
        """Counts records handed to a handler."""
        key = (subscription, topic)
        self.handed_over[key] = self.handed_over.get(key, 0) + count

    def committed(self, subscription: str, seconds: float) -> None:
        """Observes how long a commit took."""
        histogram = self.commits.get(subscription)
        if histogram is None:
            histogram = self.commits[subscription] = Histogram(self.bounds)
        histogram.observe(seconds)
