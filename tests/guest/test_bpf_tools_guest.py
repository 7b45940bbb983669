"""A catalogue tool through its better ways in, on 6.1 (the host refuses both): opensnoop
as one fexit program on do_sys_openat2, and, with fentry ruled out, as a kprobe/kretprobe
pair on it; the same workload and the same checks as its tracepoint form on the host
(tests/integration/test_bpf_variants_live.py): path, flags as passed, fd, errno for open,
creat, openat and openat2 of a pid-filtered child."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ..integration.bpf_fakes import (
    no_programs_of_ours_left,  # noqa: F401 (autouse)
    wait_until,
)
from ..integration.test_bpf_variants_live import check_fields, probed_caps, run_workload

pytestmark = [pytest.mark.root, pytest.mark.bpf]
TIMEOUT_S = 60.0
"""the guest's CPU is ~20x slower: python and ctypes start in seconds there"""


def loaded_program_ids() -> set[int]:
    """Every program loaded on the machine (`bpftool prog show`), ours or not."""
    out = subprocess.run(
        ["bpftool", "prog", "show", "-j"], capture_output=True, text=True, check=True
    ).stdout
    return {p["id"] for p in json.loads(out or "[]")}


@pytest.mark.needs_fentry
def test_opensnoop_through_fexit(tmp_path: Path) -> None:
    before = loaded_program_ids()
    info, got = run_workload(tmp_path, probed_caps(), TIMEOUT_S)
    assert info["attach"] == "fentry", info
    assert info["attach_skipped"] == {}
    assert len(info["prog_ids"]) == 1, info
    check_fields(got, tmp_path / "work")
    assert wait_until(lambda: loaded_program_ids() <= before), loaded_program_ids() - before


@pytest.mark.needs_kprobes
def test_opensnoop_through_kprobes_when_fentry_is_ruled_out(tmp_path: Path) -> None:
    caps = probed_caps()
    assert caps["bpf"]["kprobe"]["usable"], caps["bpf"]["kprobe"]
    caps["bpf"]["fentry"] = {"usable": False, "where": None, "reason": "ruled out by the test"}
    before = loaded_program_ids()
    info, got = run_workload(tmp_path, caps, TIMEOUT_S)
    assert info["attach"] == "kprobe", info
    assert info["attach_skipped"] == {
        "fentry": "bpf.fentry is not usable here: ruled out by the test"
    }
    assert len(info["prog_ids"]) == 2, info
    check_fields(got, tmp_path / "work")
    assert wait_until(lambda: loaded_program_ids() <= before), loaded_program_ids() - before
