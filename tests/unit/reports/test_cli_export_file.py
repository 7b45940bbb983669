"""`tracerd export -o FILE` writes the file only when the export completes."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tracerd.cli import report_cmds
from tracerd.cli.client import ApiError


class OneSessionApi:
    """The two calls cmd_export makes; the export fails after `fail_after` chunks."""

    def __init__(self, fail_after: int | None) -> None:
        self.fail_after = fail_after

    def get(self, path: str, params: Any = None) -> dict[str, Any]:
        return {"counters": {"stored": 2}}

    def stream_bytes(self, path: str, params: dict[str, Any]) -> Iterator[bytes]:
        for i, chunk in enumerate((b"line 1\n", b"line 2\n")):
            if self.fail_after is not None and i == self.fail_after:
                raise ApiError(404, "not_found", "no event uprobes:gone")
            yield chunk


def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_after: int | None) -> Path:
    target = tmp_path / "out.txt"
    monkeypatch.setattr(report_cmds, "client", lambda args: OneSessionApi(fail_after))
    args = argparse.Namespace(
        id="1", format="text", output=str(target), gzip=False, progress=False,
        since=None, until=None, pid=None, comm=None, name=None,
    )  # fmt: skip
    report_cmds.cmd_export(args)
    return target


@pytest.mark.parametrize("fail_after", [0, 1])
def test_an_error_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_after: int
) -> None:
    with pytest.raises(ApiError):
        export(tmp_path, monkeypatch, fail_after)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a partial one


def test_a_complete_export_is_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = export(tmp_path, monkeypatch, None)
    assert target.read_bytes() == b"line 1\nline 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    assert target.stat().st_mode & 0o777 != 0o600  # the umask's mode, not mkstemp's
