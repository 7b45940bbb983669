"""Reports of a real bpf `syscount` session: the syscalls table from its final map snapshot,
and its text export as the tool prints it."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import InProcess, wait_for
from .reports_support import build, report

pytestmark = [
    pytest.mark.root,
    pytest.mark.bpf,
    pytest.mark.skipif(
        importlib.util.find_spec("tracerd.engines.bpf.loader") is None,
        reason="the bpf engine is not merged in this tree",
    ),
]
RUNS = 3
OPENS_PER_RUN = 40  # PROGRAM_C: 20 good and 20 failing opens, plus the loader's


def test_syscount_table_from_the_final_maps(daemon: InProcess, tmp_path: Path) -> None:
    binary = build(tmp_path)
    spec = {"tool": "syscount", "args": {"latency": True}}
    resp = daemon.call(
        "POST", "/v1/sessions", params={"wait": True}, json={"kind": "bpf", "spec": spec}
    )
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    try:
        for _ in range(RUNS):
            subprocess.run([str(binary)], check=True)
    finally:
        stopped = daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()
    assert stopped["state"] == "stopped", stopped["reason"]

    def with_maps() -> dict[str, Any] | None:
        table = report(daemon, sid, "syscalls")
        return table if table["rows"] else None

    table = wait_for(with_maps)
    assert table["scope"]["source"] == "maps"
    rows = {r["syscall"]: r for r in table["rows"]}
    assert rows["openat"]["calls"] >= RUNS * OPENS_PER_RUN
    assert rows["openat"]["errors"] is None  # syscount counts calls, not failures
    assert all(r["seconds"] is not None for r in table["rows"])
    assert sum(r["percent_time"] for r in table["rows"]) == pytest.approx(100.0)
    assert table["total"]["calls"] == sum(r["calls"] for r in table["rows"])
    text = daemon.call("GET", f"/v1/sessions/{sid}/export", params={"format": "text"}).text
    assert "openat" in text
    assert "SYSCALL" in text
