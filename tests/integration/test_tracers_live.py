"""The tracer, kprobe and fentry paths on the host kernel, which refuses them: the probe
says so with the kernel's own reason, a session asking for them is refused with that
reason and leaves nothing behind, and the top level is never touched. The paths
themselves run in the guest tier (tests/guest: function, function_graph, kprobes, fentry
on Debian's 6.1), where every test here that needs them is also covered."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

from tracerd.engines.tracefs.kallsyms import Kallsyms
from tracerd.system.caps import probe_tracefs

from ..conftest import probed_caps
from .conftest import InProcess, instances

pytestmark = [pytest.mark.root, pytest.mark.tracefs]
TRACEFS = Path("/sys/kernel/tracing")


def _usable(section: str, name: str) -> bool:
    return bool(probed_caps().get(section, {}).get(name, {}).get("usable"))


def _independent_tracer_attempt(tracer: str) -> str | None:
    """Try `tracer` in a fresh instance, without tracerd's code: None, or the errno name."""
    inst = TRACEFS / "instances" / f"tracerd_test_tracer_{os.getpid()}"
    inst.mkdir()
    try:
        fd = os.open(inst / "current_tracer", os.O_WRONLY)
        try:
            os.write(fd, tracer.encode())
            return None
        except OSError as exc:
            import errno

            return errno.errorcode[exc.errno or 0]
        finally:
            os.close(fd)
    finally:
        with contextlib.suppress(OSError):
            (inst / "current_tracer").write_text("nop")
        inst.rmdir()


def test_the_probe_gives_this_kernels_answers() -> None:
    caps = probe_tracefs(TRACEFS, f"tracerd_test_caps_{os.getpid()}")
    listed = (TRACEFS / "available_tracers").read_text().split()
    for tracer in ("function", "function_graph"):
        refused = _independent_tracer_attempt(tracer) if tracer in listed else "unlisted"
        feature = caps[tracer]
        if refused is None:
            assert feature == {"usable": True, "where": "instance", "reason": None}
        elif tracer == "function_graph" and caps["function"]["usable"]:
            assert feature["where"] == "top_level"  # 6.1: refused in instances only
        else:
            assert feature["usable"] is False
            assert feature["where"] is None
            assert (refused in feature["reason"]) or (tracer in feature["reason"])
    has_kprobes = (TRACEFS / "kprobe_events").exists()
    assert caps["kprobes"]["usable"] is has_kprobes
    if not has_kprobes:
        assert "kprobe_events" in caps["kprobes"]["reason"]
    assert (TRACEFS / "current_tracer").read_text().strip() == "nop"


def _refused(daemon: InProcess, spec: dict[str, Any], cap: str) -> dict[str, Any]:
    before = (TRACEFS / "current_tracer").read_text()
    resp = daemon.create("tracefs", spec)
    assert resp.status_code == 409, resp.text
    err: dict[str, Any] = resp.json()["error"]
    assert err["code"] == "capability_missing"
    assert err["detail"]["capability"] == cap
    assert err["detail"]["reason"] == probed_caps()["tracefs"][cap]["reason"]
    assert instances() == []
    assert daemon.call("GET", "/v1/sessions").json()["sessions"] == []
    assert (TRACEFS / "current_tracer").read_text() == before
    return err


@pytest.mark.parametrize("tracer", ["function", "function_graph"])
def test_a_tracer_this_kernel_refuses_is_409_with_the_probed_reason(
    daemon: InProcess, tracer: str
) -> None:
    if _usable("tracefs", tracer):
        pytest.skip(f"{tracer} works here (tests/guest runs it)")
    _refused(daemon, {"tracer": tracer, "functions": ["ksys_write"]}, tracer)


def test_kprobes_this_kernel_lacks_are_409_with_the_probed_reason(daemon: InProcess) -> None:
    if _usable("tracefs", "kprobes"):
        pytest.skip("kprobes work here (tests/guest runs them)")
    spec = {"kprobes": [{"name": "open", "symbol": "do_sys_openat2"}]}
    _refused(daemon, spec, "kprobes")


def test_kallsyms_names_the_functions_this_kernel_has() -> None:
    table = Kallsyms.load()
    assert table.usable  # root reads real addresses
    for line in Path("/proc/kallsyms").read_text().splitlines():
        addr, kind, name = line.split()[:3]
        if name in ("ksys_write", "do_nanosleep") and kind in "tT":
            sym = table.lookup(int(addr, 16) + 1)
            assert sym is not None
            assert (sym.name, sym.offset) == (name, 1)


@pytest.mark.needs_function
def test_function_tracer_session_here(daemon: InProcess) -> None:
    """Runs only where the probe says `function` works (the guest tier has the full test)."""
    resp = daemon.create("tracefs", {"tracer": "function", "functions": ["ksys_write"]})
    assert resp.status_code == 201, resp.text
    assert resp.json()["info"]["tracer"]["where"] == "instance"
    stopped = daemon.call("POST", f"/v1/sessions/{resp.json()['id']}/stop?wait=true").json()
    assert stopped["state"] == "stopped"
