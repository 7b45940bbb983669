"""Prometheus metrics: requests by route and status; sessions, RSS, threads, workers."""

from __future__ import annotations

import os
import threading
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
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


class Metrics:
    def __init__(
        self, sessions: Callable[[], list[tuple[str, str]]], workers: Callable[[], list[int]]
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
