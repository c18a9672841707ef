"""Turning ``Metrics``' counts and the transports' status into Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector as ClientCollector

if TYPE_CHECKING:
    from stream.prometheus._metrics import Metrics

__all__ = ("Collector",)

_BY_TOPIC = ["handler", "topic"]
_COUNTS = (
    ("handled", "Messages whose handler returned."),
    ("failed", "Handler attempts that raised (or timed out); each may be retried."),
    ("retried", "Handler attempts after a failed one."),
    ("dead_lettered", "Messages sent to a dead-letter topic (undecodable or out of retries)."),
)


class Collector(ClientCollector):
    """Builds the metrics of every :class:`Metrics` of one registry and namespace at each
    scrape (two services in one process each have theirs; the registry takes one set of
    names)."""

    def __init__(self, namespace: str) -> None:
        self.sources: list[Metrics] = []
        self._prefix = f"{namespace}_" if namespace else ""

    def describe(self) -> Iterator[Metric]:
        """The metric names, so a registry refuses a second ``Metrics`` that clashes."""
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        """The metrics as of now."""
        yield from self._handler_metrics()
        yield from self._transport_metrics()

    def _handler_metrics(self) -> Iterator[Metric]:
        prefix = self._prefix
        received = CounterMetricFamily(
            f"{prefix}messages_received",
            "Messages handed to a handler by the transport.",
            labels=_BY_TOPIC,
        )
        handlers = [h for metrics in self.sources for h in metrics.handlers]
        for metrics in self.sources:
            for (handler, topic), count in tuple(metrics.handed_over.items()):
                received.add_metric([handler, topic], count)
        yield received
        rows = [(h.name, topic, c) for h in handlers for topic, c in tuple(h.by_topic.items())]
        for field, text in _COUNTS:
            family = CounterMetricFamily(f"{prefix}messages_{field}", text, labels=_BY_TOPIC)
            for handler, topic, counts in rows:
                family.add_metric([handler, topic], getattr(counts, field))
            yield family
        duration = HistogramMetricFamily(
            f"{prefix}handler_duration_seconds",
            "Seconds one handler attempt took (middlewares inside this one included).",
            labels=_BY_TOPIC,
        )
        for handler, topic, counts in rows:
            duration.add_metric([handler, topic], counts.cumulative(), counts.seconds)
        yield duration
        published = CounterMetricFamily(
            f"{prefix}messages_published",
            "Records sent: outputs, dead letters and the publisher's sends "
            '(handler="" outside a handler).',
            labels=_BY_TOPIC,
        )
        sent = [("", m.published) for m in self.sources] + [(h.name, h.published) for h in handlers]
        for handler, by_topic in sent:
            for topic, count in tuple(by_topic.items()):
                published.add_metric([handler, topic], count)
        yield published

    def _transport_metrics(self) -> Iterator[Metric]:
        prefix = self._prefix
        commits = HistogramMetricFamily(
            f"{prefix}commit_duration_seconds",
            "Seconds one offset commit (or transaction commit) took.",
            labels=["handler"],
        )
        for metrics in self.sources:
            for handler, histogram in tuple(metrics.commits.items()):
                commits.add_metric([handler], histogram.cumulative(), histogram.seconds)
        yield commits
        lag = GaugeMetricFamily(
            f"{prefix}consumer_lag",
            "Records of a partition not committed yet: end offset - committed offset, "
            "from the consumer's last fetch.",
            labels=["handler", "group", "topic", "partition"],
        )
        in_flight = GaugeMetricFamily(
            f"{prefix}in_flight_units",
            "Units of work (partition chunks, or their key lanes) handed to the handler "
            "and not finished.",
            labels=["handler"],
        )
        assigned = GaugeMetricFamily(
            f"{prefix}assigned_partitions",
            "Partitions the subscription holds.",
            labels=["handler", "group"],
        )
        joined = GaugeMetricFamily(
            f"{prefix}consumer_joined",
            "1 while the subscription is in its group (coordinator known, assignment "
            "received), else 0.",
            labels=["handler", "group"],
        )
        for transport in [t for metrics in self.sources for t in tuple(metrics.transports)]:
            status = transport.status()
            if status is None or not status.running:
                continue
            for subscription in status.subscriptions:
                name, group = subscription.name, subscription.group_id
                in_flight.add_metric([name], subscription.in_flight)
                assigned.add_metric([name, group], len(subscription.partitions))
                joined.add_metric([name, group], int(subscription.joined))
                for partition in subscription.partitions:
                    behind = partition.lag
                    if behind is not None:
                        lag.add_metric(
                            [name, group, partition.topic, str(partition.partition)], behind
                        )
        yield from (lag, in_flight, assigned, joined)
