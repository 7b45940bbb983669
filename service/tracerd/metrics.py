"""Prometheus metrics: requests by route and status; sessions, RSS, threads, workers; and per
running session (labels `session`, `kind`, `name`): events, stored events and bytes, loss by
source, subscribers, and each histogram map of a bpf session as a Prometheus histogram."""

from __future__ import annotations

import os
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int | str = "self") -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0


class _DaemonCollector(Collector):
    def __init__(
        self, sessions: Callable[[], list[tuple[str, str]]], workers: Callable[[], list[int]]
    ) -> None:
        self._sessions = sessions
        self._workers = workers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by = GaugeMetricFamily(
            "tracerd_sessions", "sessions by kind and state", labels=["kind", "state"]
        )
        for (kind, state), n in sorted(Tally(self._sessions()).items()):
            by.add_metric([kind, state], n)
        yield by
        yield GaugeMetricFamily(
            "tracerd_daemon_rss_bytes", "daemon resident memory", value=rss_bytes()
        )
        yield GaugeMetricFamily(
            "tracerd_daemon_threads", "daemon threads", value=threading.active_count()
        )
        workers = self._workers()
        yield GaugeMetricFamily("tracerd_workers", "running worker processes", value=len(workers))
        yield GaugeMetricFamily(
            "tracerd_workers_rss_bytes",
            "workers' resident memory",
            value=sum(rss_bytes(p) for p in workers),
        )


@dataclass(frozen=True, slots=True)
class SessionSample:
    """What /metrics shows of one running session."""

    id: int
    kind: str
    name: str
    counters: dict[str, Any]
    stored_bytes: int
    subscribers: int
    maps: dict[str, Any] | None
    """the last map snapshot of a bpf session: {map name: contents}"""
    tool: str | None = None
    """the bpf catalogue tool, if any (names its histograms)"""


SESSION_LABELS = ["session", "kind", "name"]


class _SessionCollector(Collector):
    def __init__(self, samples: Callable[[], Sequence[SessionSample]]) -> None:
        self._samples = samples

    def collect(self) -> Iterator[Metric]:
        samples = self._samples()
        events = CounterMetricFamily(
            "tracerd_session_events", "events received from the kernel", labels=SESSION_LABELS
        )
        stored = CounterMetricFamily(
            "tracerd_session_stored_events", "events stored", labels=SESSION_LABELS
        )
        size = GaugeMetricFamily(
            "tracerd_session_stored_bytes", "bytes the session's events take", labels=SESSION_LABELS
        )
        lost = CounterMetricFamily(
            "tracerd_session_lost_events",
            "events lost, by where they were lost",
            labels=[*SESSION_LABELS, "source"],
        )
        subs = GaugeMetricFamily(
            "tracerd_session_subscribers", "live stream subscribers", labels=SESSION_LABELS
        )
        hists: list[HistogramMetricFamily] = []
        for s in samples:
            labels = [str(s.id), s.kind, s.name]
            events.add_metric(labels, int(s.counters.get("events") or 0))
            stored.add_metric(labels, int(s.counters.get("stored") or 0))
            size.add_metric(labels, s.stored_bytes)
            for source, n in sorted((s.counters.get("lost") or {}).items()):
                lost.add_metric([*labels, str(source)], int(n or 0))
            subs.add_metric(labels, s.subscribers)
            hists += map_histograms(s, labels)
        yield from (events, stored, size, lost, subs, *hists)


def _metric_word(text: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "_" for c in text)


def map_histograms(s: SessionSample, labels: list[str]) -> list[HistogramMetricFamily]:
    """Each histogram map of a bpf session (runqlat's `dist`, biolatency's, ...) as
    `tracerd_bpf_<tool>_<map>_<unit>` (`map` for programs and bpftrace scripts), cumulative
    `le` buckets at each bucket's upper bound; `_sum` is estimated from the bucket midpoints
    (the kernel keeps counts, not sums)."""
    out = []
    for map_name, value in sorted((s.maps or {}).items()):
        if not isinstance(value, dict) or value.get("type") != "hist":
            continue
        buckets = value.get("buckets")
        if not isinstance(buckets, list):
            continue
        unit = str(value.get("unit") or "")
        parts = [s.tool or "map", str(map_name), unit] if unit else [s.tool or "map", str(map_name)]
        metric = "tracerd_bpf_" + "_".join(_metric_word(p) for p in parts)
        family = HistogramMetricFamily(
            metric, f"bpf map {map_name} ({unit or 'value'}) of the session", labels=SESSION_LABELS
        )
        cumulative, total = 0, 0.0
        rows: list[tuple[str, float]] = []
        for b in buckets:
            count = int(b.get("count") or 0)
            cumulative += count
            total += count * (float(b.get("low") or 0) + float(b.get("high") or 0)) / 2
            rows.append((str(float(b.get("high") or 0)), cumulative))
        rows.append(("+Inf", cumulative))
        family.add_metric(labels, rows, sum_value=total)
        out.append(family)
    return out


class Metrics:
    def __init__(
        self,
        sessions: Callable[[], list[tuple[str, str]]],
        workers: Callable[[], list[int]],
        samples: Callable[[], Sequence[SessionSample]] = list,
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tracerd_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.audit_failures = Counter(
            "tracerd_audit_failures",
            "audit rows that could not be stored (each is logged as an error instead)",
            registry=self.registry,
        )
        self.registry.register(_DaemonCollector(sessions, workers))
        self.registry.register(_SessionCollector(samples))
