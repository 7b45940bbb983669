"""`tracerd bpftrace` takes bpftrace's command line (or refuses an option clearly)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracerd.cli import build_parser
from tracerd.cli.trace_cmds import _bpftrace_options, _bpftrace_source


def _parse(*argv: str) -> object:
    return build_parser().parse_args(["bpftrace", *argv])


def test_program_text_params_and_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPFTRACE_STRLEN", "200")
    monkeypatch.setenv("OTHER", "x")
    args = _parse(
        "-f", "json", "-p", "42", "-kk", "-v", "-c", "./prog a", "-e", "BEGIN{}", "7", "w"
    )
    script, params = _bpftrace_source(args)
    assert (script, params) == ("BEGIN{}", ["7", "w"])
    options = _bpftrace_options(args, params)
    assert options == {
        "format": "json",
        "cwd": os.getcwd(),
        "params": ["7", "w"],
        "env": {"BPFTRACE_STRLEN": "200"},
        "target_pid": 42,
        "command": "./prog a",
        "helper_errors": 2,
        "verbose": True,
    }


def test_file_then_params_and_missing_file(tmp_path: Path) -> None:
    prog = tmp_path / "p.bt"
    prog.write_text("BEGIN { exit(); }")
    assert _bpftrace_source(_parse(str(prog), "1")) == ("BEGIN { exit(); }", ["1"])
    missing = tmp_path / "nope.bt"
    with pytest.raises(SystemExit) as info:
        _bpftrace_source(_parse(str(missing)))
    assert str(info.value) == f"ERROR: failed to open file '{missing}': No such file or directory"


def test_unsupported_options_are_refused_by_name() -> None:
    args = _parse("--unsafe", "-e", "BEGIN{}")
    with pytest.raises(SystemExit) as info:
        _bpftrace_options(args, [])
    assert "--unsafe not supported through tracerd" in str(info.value)
