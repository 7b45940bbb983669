"""Helpers of the report tests: sessions filled through the daemon's own ingest path (the
writer, rollups, counters) when the kernel side cannot produce the events yet."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracerd.engines.tracefs.pairing import SyscallPairer
from tracerd.types import WireEvent
from tracerd.workers.wire import event_row

from .conftest import InProcess

SPEC = {"events": ["syscalls:sys_enter_openat", "syscalls:sys_exit_openat"]}


def services(daemon: InProcess) -> Any:
    return daemon.client.app.state.services  # type: ignore[attr-defined]


def filled_session(
    daemon: InProcess,
    events: Sequence[WireEvent],
    kind: str = "tracefs",
    spec: dict[str, Any] | None = None,
    stop: bool = True,
) -> str:
    """A session created (not started), given `events` through SessionIngest (seq, writer,
    hub), then stopped unless `stop` is False. Syscall exits are paired first, as the
    tracefs worker does after its merge (events of other kinds have no such names)."""
    body = {"kind": kind, "spec": spec or SPEC, "start": False}
    resp = daemon.call("POST", "/v1/sessions", json=body)
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    svc = services(daemon)
    live = svc.manager.live[int(sid)]
    batch = 2000
    pairer = SyscallPairer()

    async def ingest() -> None:
        for i in range(0, len(events), batch):
            part = [WireEvent(*e) for e in events[i : i + batch]]
            pairer.apply(part)
            await svc.manager.ingest.events(live, [event_row(e) for e in part])
        await svc.writer.wait_committed(live.id, live.next_seq - 1)

    daemon.client.portal.call(ingest)  # type: ignore[union-attr]
    if stop:
        assert (
            daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()["state"] == "stopped"
        )
    return str(sid)


def report(daemon: InProcess, sid: str, kind: str | None = None, **params: Any) -> Any:
    path = f"/v1/sessions/{sid}/report" + (f"/{kind}" if kind else "")
    resp = daemon.call("GET", path, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def chrome_events(data: bytes) -> list[dict[str, Any]]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    doc = json.loads(data)
    assert set(doc) >= {"traceEvents", "displayTimeUnit"}
    events: list[dict[str, Any]] = doc["traceEvents"]
    return events


PROGRAM_C = r"""
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    char buf[64];
    for (int i = 0; i < 20; i++) {
        int fd = open("/etc/hostname", O_RDONLY);
        read(fd, buf, sizeof buf);
        close(fd);
        open("/nonexistent/report-test", O_RDONLY);
    }
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    for (int i = 0; i < 5; i++)
        getppid();
    return 0;
}
"""
ROW = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(\d+)?\s*(\w+)$")


def build(tmp: Path) -> Path:
    source, binary = tmp / "prog.c", tmp / "reportprog"
    source.write_text(PROGRAM_C)
    subprocess.run(["gcc", "-O1", "-o", str(binary), str(source)], check=True)
    return binary


def strace_table(binary: Path, tmp: Path) -> dict[str, tuple[int, int, float]]:
    """syscall -> (calls, errors, seconds) from strace -c -w -f."""
    out = tmp / "strace.txt"
    subprocess.run(["strace", "-c", "-w", "-f", "-o", str(out), str(binary)], check=True)
    table = {}
    for line in out.read_text().splitlines():
        m = ROW.match(line)
        if m and m[6] != "total":
            table[m[6]] = (int(m[4]), int(m[5] or 0), float(m[2]))
    assert table, out.read_text()
    return table
