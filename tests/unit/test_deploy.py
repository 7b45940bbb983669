"""The systemd unit verifies cleanly and keeps the kernel interfaces reachable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "deploy/systemd/tracerd.service"
FORBIDDEN = (
    "ProtectKernelTunables=yes",
    "ProtectHome=",
    "PrivateTmp=yes",
    "NoNewPrivileges=yes",
    "SystemCallFilter=",
)


def test_unit_avoids_directives_that_break_tracing() -> None:
    text = "\n".join(line for line in UNIT.read_text().splitlines() if not line.startswith("#"))
    for directive in FORBIDDEN:
        assert directive not in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    tracerd = Path(sys.executable).with_name("tracerd")
    unit = tmp_path / "tracerd.service"
    unit.write_text(UNIT.read_text().replace("/opt/tracerd/.venv/bin/tracerd", str(tracerd)))
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "tracerd.service" not in proc.stderr, proc.stderr


DASHBOARD = Path(__file__).parents[2] / "deploy/grafana/tracerd-sessions.json"


def dashboard_metrics() -> set[str]:
    """Every metric name the Grafana dashboard queries (panels and template variables)."""
    import json
    import re

    dashboard = json.loads(DASHBOARD.read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"tracerd_\w+", target["expr"])
    }
    return used | set(re.findall(r"tracerd_\w+", json.dumps(dashboard["templating"])))


def test_the_grafana_dashboard_queries_only_metrics_the_daemon_exports() -> None:
    import re

    from prometheus_client import generate_latest

    from tracerd.metrics import Metrics, SessionSample

    hist = {"type": "hist", "unit": "usecs", "buckets": [{"low": 0, "high": 1, "count": 2}]}
    counters = {"events": 5, "stored": 4, "lost": {"kernel": 1, "subscriber": 0}}
    samples = [
        SessionSample(1, "bpf", "a", counters, 100, 2, {"dist": hist}, "runqlat"),
        SessionSample(2, "bpf", "b", counters, 100, 0, {"dist": hist}, "biolatency"),
    ]
    metrics = Metrics(lambda: [("bpf", "running")], list, lambda: samples)
    exported = set(re.findall(r"^(tracerd_\w+)", generate_latest(metrics.registry).decode(), re.M))
    used = dashboard_metrics()
    assert used
    assert used <= exported, sorted(used - exported)
