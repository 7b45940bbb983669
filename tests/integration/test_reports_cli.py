"""`tracerd report` and `tracerd export` against a real `tracerd serve` whose database
already holds recorded sessions (written by the real EventWriter before it starts)."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..unit.reports.store import Store
from ..unit.reports.workloads import ptrace_syscalls
from .conftest import DaemonProcess

pytestmark = [pytest.mark.root]


@pytest.fixture
def recorded(
    daemon_process: DaemonProcess,
) -> tuple[DaemonProcess, int, dict[str, list[int]]]:
    daemon_process.state_dir.mkdir(parents=True, mode=0o700)
    store = Store(daemon_process.state_dir)
    events, expected = ptrace_syscalls(4000)
    try:
        sid = store.session("ptrace", {"pid": 1})
        store.ingest(sid, events)
        from sqlalchemy import update

        from tracerd.storage.tables import SessionRow

        with store.db.begin() as db:
            db.execute(
                update(SessionRow)
                .where(SessionRow.id == sid)
                .values(counters={"events": len(events), "stored": len(events), "lost": {}})
            )
    finally:
        store.close()
    (daemon_process.state_dir / "r.db").rename(daemon_process.state_dir / "tracerd.db")
    daemon_process.start()
    return daemon_process, sid, expected.table


def cli(daemon: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tracerd", *args, "--socket", daemon.socket],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_report_prints_strace_table_and_histogram(
    recorded: tuple[DaemonProcess, int, dict[str, list[int]]],
) -> None:
    daemon, sid, table = recorded
    out = cli(daemon, "report", str(sid), "--kind", "syscalls").stdout.splitlines()
    assert out[0].split() == ["%", "time", "seconds", "usecs/call", "calls", "errors", "syscall"]
    assert set(out[1]) == {"-", " "}
    rows = {line.split()[-1]: line.split() for line in out[2:-2]}
    for name, (calls, errors, total_ns, _max) in table.items():
        fields = rows[name]
        assert int(fields[3]) == calls
        assert (int(fields[4]) if len(fields) == 6 else 0) == errors
        assert float(fields[1]) == pytest.approx(total_ns / 1e9, abs=1e-6)
    assert out[-1].split()[0] == "100.00"
    assert out[-1].split()[-1] == "total"
    hist = cli(daemon, "report", str(sid), "-k", "latency", "--syscall", "read").stdout
    bars = [line for line in hist.splitlines() if re.match(r"^\s+\d+ -> \d+\s+: \d+", line)]
    assert bars
    assert sum(int(b.split(":")[1].split()[0]) for b in bars) == table["read"][0]
    summary = cli(daemon, "report", str(sid)).stdout
    assert "events 4003;" in summary  # 4000 calls, a signal, exit_group, exit


def test_export_to_a_gzip_file_with_progress(
    recorded: tuple[DaemonProcess, int, dict[str, list[int]]], tmp_path: Path
) -> None:
    daemon, sid, _table = recorded
    target = tmp_path / "trace.json.gz"
    proc = cli(
        daemon, "export", str(sid), "--format", "chrome", "-o", str(target), "--gzip", "--progress"
    )
    assert "100%" in proc.stderr
    assert "4003/4003 events" in proc.stderr
    doc = json.loads(gzip.decompress(target.read_bytes()))
    assert sum(1 for e in doc["traceEvents"] if e["ph"] == "X") == 4001  # + exit_group
    lines = tmp_path / "events.jsonl"
    cli(daemon, "export", str(sid), "-o", str(lines), "--pid", "200")
    assert all(json.loads(line)["pid"] == 200 for line in lines.read_text().splitlines())
