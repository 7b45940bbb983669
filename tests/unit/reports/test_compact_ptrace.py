"""Reports and exports of a ptrace session whose syscalls are stored compact (fields.py)
are byte for byte those of the same events stored as JSON, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tracerd.reports.export import FORMATS, encoder_for, export_stream
from tracerd.reports.latency import latency
from tracerd.reports.syscalls import syscalls
from tracerd.reports.top import top
from tracerd.storage.queries import EventFilter, events_page
from tracerd.types import WireEvent

from ..storage.test_compact_syscalls import CALLS
from .store import T0, Store

SUMMARY = ["exit", "signal"]


def events() -> list[WireEvent]:
    out = [
        WireEvent(T0 + i * 10_000, None, 7, 7 + i % 3, "ls", name, fields, dur, ret, errno)
        for i, (name, fields, ret, errno, dur) in enumerate(CALLS * 40)
    ]
    exit_ = {"code": 0, "signal": None, "text": "+++ exited with 0 +++"}
    out.append(WireEvent(T0 + 10**9, None, 7, 7, "ls", "exit", exit_, None, None, None))
    return out


def outputs(store: Store, kind: str) -> dict[str, Any]:
    """Everything read back from one session of `kind` (its info shown as ptrace's)."""
    sid = store.session(kind)
    store.ingest(sid, events(), batch=97)
    info = dataclasses.replace(store.info(sid), kind="ptrace", name="ls")
    whole = EventFilter()
    with store.db() as db:
        out: dict[str, Any] = {
            "page": events_page(db, sid, whole, None, 10_000),
            "syscalls": syscalls(db, info, whole).model_dump(),
            "top errno": top(db, info, whole, "fields.errno").model_dump(),
            "top ret": top(db, info, whole, "fields.ret").model_dump(),
            "latency": latency(db, info, whole, "duration_ns").model_dump(),
        }
    for fmt in FORMATS:
        if fmt not in ("pcap", "pcapng"):
            encoder = encoder_for(fmt, info, T0)
            out[fmt] = b"".join(export_stream(store.db, info, whole, encoder))
    return out


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_compact_syscalls_read_as_their_json(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("pg_url")
        if url is None:
            pytest.skip("no PostgreSQL: set TRACERD_TEST_PG_URL or install postgresql")
    got: dict[str, dict[str, Any]] = {}
    for kind in ("tracefs", "ptrace"):  # tracefs sessions store JSON; ptrace, compact
        store = Store(tmp_path / kind, url)  # each its own (emptied) database: session 1
        try:
            got[kind] = outputs(store, kind)
        finally:
            store.close()
    json_stored, compact = got["tracefs"], got["ptrace"]
    assert compact["page"][3]["fields"] == CALLS[3][1]
    assert b"lgetxattr(" in compact["text"]
    assert b"mmap(" in compact["perfetto"]
    for key, value in json_stored.items():
        assert compact[key] == value, key
