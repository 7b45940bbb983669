"""The BPF program-type probe against the running kernel: its answer equals what BCC can
really attach here, its reasons name the errno or the missing PMU, and it leaves nothing
behind (no `tracerd_probe` program, no scratch directory, no fd)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tracerd.kernel import btf
from tracerd.kernel.bpf import PROGRAM_NAME, loaded_programs
from tracerd.system.bpf_probe import PROGRAM_TYPES, probe_program_type, probe_program_types

pytestmark = [
    pytest.mark.root,
    pytest.mark.bpf,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]

SERVICE_DIR = Path(__file__).parents[2] / "service"
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"
# one function per type: BCC loads a function once, with the type of its first attach
BCC_TEXT = "".join(f"int on_{name}(void *ctx) {{ return 0; }}\n" for name in PROGRAM_TYPES)
BCC_FENTRY_TEXT = "KFUNC_PROBE(do_nanosleep) { return 0; }"
PROBE_BOUND_S = 10.0
"""generous: ~0.2 s on the development VM, ~2 s in the TCG guest"""


needs_bpftool = pytest.mark.skipif(not shutil.which("bpftool"), reason="no bpftool (the guest)")


def program_names() -> list[str]:
    """Names of all loaded BPF programs, from bpftool when present (independent) and ours."""
    names = [name for _, _, name in loaded_programs()]
    if shutil.which("bpftool"):
        out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, check=True)
        names += [str(p.get("name", "")) for p in json.loads(out.stdout or b"[]")]
    return names


def scratch_dirs() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("tracerd-probe-")}


@pytest.fixture(scope="module")
def scratch_libc() -> Iterator[str]:
    """A copy of libc no process maps, so BCC's uprobe on it fires for nobody."""
    with tempfile.TemporaryDirectory(prefix="bcc-uprobe-") as tmp:
        yield shutil.copy(LIBC, os.path.join(tmp, "libc.so.6"))


def bcc_attachers(b: Any, bcc: Any, libc: str) -> dict[str, Callable[[], object]]:
    """What BCC (the peer tool) does for each program type, on targets like the probe's."""
    perf = {"ev_type": bcc.PerfType.SOFTWARE, "ev_config": bcc.PerfSWConfig.CPU_CLOCK}
    return {
        "tracepoint": lambda: b.attach_tracepoint(
            tp="sched:sched_process_exec", fn_name="on_tracepoint"
        ),
        "raw_tracepoint": lambda: b.attach_raw_tracepoint(
            tp="sched_process_exec", fn_name="on_raw_tracepoint"
        ),
        "uprobe": lambda: b.attach_uprobe(name=libc, sym="getppid", fn_name="on_uprobe"),
        "perf_event": lambda: b.attach_perf_event(
            **perf, fn_name="on_perf_event", sample_period=10_000_000, cpu=0
        ),
        "kprobe": lambda: b.attach_kprobe(event="do_nanosleep", fn_name="on_kprobe"),
    }


def bcc_can_attach(libc: str) -> dict[str, bool | str]:
    """Each program type: True if BCC attaches it here, else BCC's error text."""
    bcc = pytest.importorskip("bcc")
    result: dict[str, bool | str] = {}
    with bcc.BPF(text=BCC_TEXT) as b:
        for name, attach in bcc_attachers(b, bcc, libc).items():
            try:
                attach()
                result[name] = True
            except Exception as e:  # BCC raises bare Exception for every refusal
                result[name] = str(e) or repr(e)
    try:  # KFUNC_PROBE attaches at load, so it gets a BPF object of its own
        with bcc.BPF(text=BCC_FENTRY_TEXT):
            result["fentry"] = True
    except Exception as e:
        result["fentry"] = str(e) or repr(e)
    return result


def test_probe_agrees_with_bcc(scratch_libc: str) -> None:
    probed = probe_program_types()
    assert list(probed) == list(PROGRAM_TYPES)
    bcc = bcc_can_attach(scratch_libc)
    assert {k: v["usable"] for k, v in probed.items()} == {k: v is True for k, v in bcc.items()}, (
        probed,
        bcc,
    )
    assert PROGRAM_NAME not in program_names()


def test_unusable_types_say_why() -> None:
    for name, entry in probe_program_types().items():
        assert entry["where"] is None
        if entry["usable"]:
            assert entry["reason"] is None
        else:
            reason = entry["reason"] or ""
            assert re.match(r"E[A-Z0-9]+ \(.+\) at [A-Z_a-z]+", reason) or " PMU " in reason, (
                name,
                reason,
            )


def test_nothing_is_left_behind() -> None:
    fds_before = set(os.listdir("/proc/self/fd"))
    dirs_before = scratch_dirs()
    for name in PROGRAM_TYPES:
        probe_program_type(name)
    assert PROGRAM_NAME not in program_names()
    assert scratch_dirs() == dirs_before
    assert set(os.listdir("/proc/self/fd")) == fds_before


def test_probe_is_quick() -> None:
    start = time.monotonic()
    probe_program_types()
    assert time.monotonic() - start < PROBE_BOUND_S


@needs_bpftool
def test_loaded_programs_agrees_with_bpftool() -> None:
    ours = {prog_id: name for prog_id, _, name in loaded_programs()}
    listed = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, check=True)
    theirs = {p["id"]: p.get("name", "") for p in json.loads(listed.stdout or b"[]")}
    # programs of other processes may come and go between the two listings
    common = ours.keys() & theirs.keys()
    assert {i: ours[i] for i in common} == {i: theirs[i] for i in common}


@needs_bpftool
@pytest.mark.parametrize("function", ["do_nanosleep", "bpf_fentry_test1", "schedule"])
def test_vmlinux_btf_ids_agree_with_bpftool(function: str) -> None:
    dump = subprocess.run(
        ["bpftool", "btf", "dump", "file", btf.VMLINUX_BTF_PATH],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    m = re.search(rf"^\[(\d+)\] FUNC '{function}' ", dump, re.MULTILINE)
    assert btf.vmlinux_type_id(function) == (int(m[1]) if m else None)


def test_unprivileged_caller_gets_kernel_refusals() -> None:
    """As nobody, every type is refused, with the errno the kernel gave."""
    code = (
        "import json; from tracerd.system import bpf_probe as p; "
        "print(json.dumps(p.probe_program_types()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        user=65534,
        group=65534,
        extra_groups=[],
        env={"PYTHONPATH": str(SERVICE_DIR)},
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    answers = json.loads(out)
    assert not any(entry["usable"] for entry in answers.values()), answers
    assert answers["raw_tracepoint"]["reason"].startswith("EPERM (Operation not permitted) at ")
    assert "EACCES" in answers["tracepoint"]["reason"]
