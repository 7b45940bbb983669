"""Prometheus view of the stream hub: subscribers, queued bytes, subscriber loss."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .hub import StreamHub


class StreamCollector(Collector):
    def __init__(self, hub: StreamHub) -> None:
        self._hub = hub

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        hub = self._hub
        yield GaugeMetricFamily(
            "tracerd_stream_subscribers", "open stream subscribers", value=len(hub.subscribers())
        )
        yield GaugeMetricFamily(
            "tracerd_stream_queued_bytes",
            "bytes queued for stream subscribers (a frame shared by n subscribers counts n times)",
            value=hub.queued_bytes,
        )
        yield CounterMetricFamily(
            "tracerd_stream_subscriber_lost_events",
            "events not delivered to a subscriber because its queue was full (announced to it "
            "by a `lost` message)",
            value=hub.lost_events_total,
        )
