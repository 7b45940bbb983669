"""The CLI's live tracefs lines use the formats stored with the session, all of them."""

from __future__ import annotations

from typing import Any

from tracerd.cli.render import print_fmts, tracefs_renderer


class NoCatalogue:
    def get(self, path: str, params: Any = None) -> Any:
        raise AssertionError(f"no catalogue call expected: {path}")


def test_every_stored_format_is_used_without_catalogue_calls() -> None:
    fmts = {f"syscalls:sys_enter_x{i}": f'"n=%d", REC->n{i}' for i in range(700)}
    session = {"info": {"events": list(fmts), "formats": {"print_fmts": fmts, "widths": {}}}}
    assert print_fmts(NoCatalogue(), session) == fmts  # type: ignore[arg-type]
    renderer = tracefs_renderer(NoCatalogue(), session)  # type: ignore[arg-type]
    event = {
        "ts_ns": 1_000_000_000,
        "cpu": 0,
        "tid": 7,
        "comm": "x",
        "name": "syscalls:sys_enter_x699",
        "fields": {"n699": 5},
    }
    assert renderer.line(event).endswith("sys_enter_x699:       n=5")
