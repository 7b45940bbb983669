"""The capability probe on Debian's stock 6.1 kernel, where what the development VM's 6.18
kernel refuses works: the same code that says "not usable" there must say usable here, and
where (function in an instance, function_graph only at the top level). The host side is
tests/integration/test_tracers_live.py."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from tracerd.kernel.bpf import PROGRAM_NAME, loaded_programs
from tracerd.system.bpf_probe import PROGRAM_TYPES, probe_program_types
from tracerd.system.caps import probe_tracefs

from .conftest import TRACEFS, InProcess

pytestmark = [pytest.mark.root, pytest.mark.tracefs]
USABLE = {"usable": True, "where": None, "reason": None}


@pytest.mark.bpf
@pytest.mark.needs_kprobes
@pytest.mark.needs_fentry
def test_every_program_type_is_usable_on_debian_6_1() -> None:
    assert platform.release().startswith("6.1."), platform.release()
    assert probe_program_types() == dict.fromkeys(PROGRAM_TYPES, USABLE)
    assert PROGRAM_NAME not in [name for _, _, name in loaded_programs()]


def test_tracers_and_probes_are_where_6_1_has_them() -> None:
    caps = probe_tracefs(TRACEFS, "tracerd_guest_caps_probe")
    assert caps["function"] == {"usable": True, "where": "instance", "reason": None}
    graph = caps["function_graph"]
    assert graph["usable"] is True
    assert graph["where"] == "top_level"
    assert "EINVAL" in graph["reason"]  # why not in an instance: the kernel's own refusal
    assert caps["kprobes"] == {"usable": True, "where": "instance", "reason": None}
    assert caps["uprobes"] == {"usable": True, "where": "instance", "reason": None}
    assert caps["subbuf_size"] is False  # no buffer_subbuf_size_kb on 6.1
    assert not (TRACEFS / "instances/tracerd_guest_caps_probe").exists()
    assert (TRACEFS / "current_tracer").read_text().strip() == "nop"  # only read there


def test_the_daemon_serves_the_same_answers(daemon: InProcess) -> None:
    served = daemon.call("GET", "/v1/capabilities").json()
    assert served["kernel"]["release"] == platform.release()
    for name in ("function", "function_graph", "kprobes"):
        assert served["tracefs"][name]["usable"] is True
    assert served["tracefs"]["function_graph"]["where"] == "top_level"
    for name in ("kprobe", "fentry"):
        assert served["bpf"][name]["usable"] is True, served["bpf"][name]
    assert served["bpf"]["kernel_headers"]["status"] == "exact"
    assert Path(f"/lib/modules/{platform.release()}/build").exists()
