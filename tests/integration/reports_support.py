"""Helpers of the report tests: sessions filled through the daemon's own ingest path (the
writer, rollups, counters) when the kernel side cannot produce the events yet."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from typing import Any

from tracerd.types import WireEvent

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
    hub), then stopped unless `stop` is False."""
    body = {"kind": kind, "spec": spec or SPEC, "start": False}
    resp = daemon.call("POST", "/v1/sessions", json=body)
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    svc = services(daemon)
    live = svc.manager.live[int(sid)]
    batch = 2000

    async def ingest() -> None:
        for i in range(0, len(events), batch):
            await svc.manager.ingest.events(live, [list(e) for e in events[i : i + batch]])
        await svc.writer.wait_committed(live.id, live.next_seq - 1)

    daemon.client.portal.call(ingest)  # type: ignore[union-attr]
    if stop:
        assert daemon.call("POST", f"/v1/sessions/{sid}/stop").json()["state"] == "stopped"
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
