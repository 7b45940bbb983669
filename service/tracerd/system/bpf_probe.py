"""Probe which BPF program types load *and attach* on the running kernel, with raw syscalls.

Mechanism: for each type, BPF_PROG_LOAD a two-instruction program (`r0 = 0; exit`) named
`tracerd_probe` (kernel/bpf.py), attach it to a harmless target, then detach and
close every fd (an ExitStack, in reverse order):
  tracepoint      perf_event_open(PERF_TYPE_TRACEPOINT, id of syscalls:sys_enter_getppid or
                  sched:sched_process_exec from tracefs) + PERF_EVENT_IOC_SET_BPF + ENABLE
  raw_tracepoint  BPF_RAW_TRACEPOINT_OPEN("sched_process_exec")
  uprobe          the perf `uprobe` PMU (config1 = path, config2 = file offset) on the entry
                  point of a scratch copy of /bin/true in a temporary directory
  perf_event      PERF_TYPE_SOFTWARE / PERF_COUNT_SW_CPU_CLOCK on one CPU + SET_BPF (no
                  hardware PMU needed)
  kprobe          the perf `kprobe` PMU (config1 = function name) on do_nanosleep
  fentry          BPF_PROG_TYPE_TRACING + BPF_TRACE_FENTRY + attach_btf_id of bpf_fentry_test1
                  (or do_nanosleep) from /sys/kernel/btf/vmlinux (kernel/btf.py), attached
                  with BPF_RAW_TRACEPOINT_OPEN(name NULL)
Perf-attached programs go away when the perf fd closes, raw tracepoint and fentry programs
when the link fd closes: nothing outlives a probe, nor the process should it die meanwhile.
kprobes are probed only through the PMU (Linux 4.17+), as are uprobes: no tracefs
`kprobe_events` entries are ever created.

Requirements: root (CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN); tracefs for tracepoint ids;
kernel BTF for fentry. No bcc: the daemon stays light.
Cost: ~0.19 s for all six on the development VM (~0.29 s the first time: pyelftools import,
BTF walk ~40 ms, then cached per name); most of it is the kernel detaching on close of the
tracepoint and uprobe perf fds (60-100 ms each, RCU grace periods). ~2.1 s / 0.6 s in the
TCG guest. Run it off the event loop (anyio.to_thread).
Caveats: attaching proves the kernel accepts the type and the target; the program is never
made to run. Reasons name the errno and the step, e.g.
"EPERM (Operation not permitted) at BPF_PROG_LOAD (fentry ...): <verifier log>".
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypedDict

from ..kernel import btf
from ..kernel.bpf import (
    BPF_PROG_TYPE_KPROBE,
    BPF_PROG_TYPE_PERF_EVENT,
    BPF_PROG_TYPE_RAW_TRACEPOINT,
    BPF_PROG_TYPE_TRACEPOINT,
    BPF_PROG_TYPE_TRACING,
    BPF_TRACE_FENTRY,
    PERF_COUNT_SW_CPU_CLOCK,
    PERF_TYPE_SOFTWARE,
    PERF_TYPE_TRACEPOINT,
    KernelCallError,
    attach_perf_event,
    load_program,
    perf_event_open,
    raw_tracepoint_open,
)
from ..kernel.tracefs import EventRef, Tracefs, find_mount, mount_missing_reason

log = logging.getLogger(__name__)

PROGRAM_TYPES = ("tracepoint", "raw_tracepoint", "uprobe", "perf_event", "kprobe", "fentry")
PERF_SAMPLE_PERIOD_NS = 10_000_000
"""cpu-clock counts nanoseconds: one sample per 10 ms of CPU time"""
PMU_DIR = "/sys/bus/event_source/devices"
TRACEPOINT_TARGETS = (("syscalls", "sys_enter_getppid"), ("sched", "sched_process_exec"))
RAW_TRACEPOINT_TARGETS = ("sched_process_exec", "sys_enter")
KPROBE_TARGETS = ("do_nanosleep", "__x64_sys_getppid")
FENTRY_TARGETS = ("bpf_fentry_test1", "do_nanosleep")
UPROBE_SOURCE_BINARY = "/bin/true"
_PMU_CONFIG = {"kprobe": "CONFIG_KPROBE_EVENTS", "uprobe": "CONFIG_UPROBE_EVENTS"}


class ProgramTypeCapability(TypedDict):
    """One program type as GET /v1/capabilities shows it."""

    usable: bool
    where: str | None
    reason: str | None


class ProbeError(Exception):
    """The probe could not get as far as the kernel call; the message is the reason."""


def pmu_type(name: str) -> int | None:
    """The perf PMU type number of `name` ("kprobe", "uprobe", "software"...), None when
    perf_event_open has no such PMU on this kernel."""
    try:
        with open(os.path.join(PMU_DIR, name, "type")) as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def _load(
    stack: ExitStack, prog_type: int, attach_type: int = 0, attach_btf_id: int = 0, what: str = ""
) -> int:
    fd = load_program(prog_type, attach_type, attach_btf_id, what)
    stack.callback(os.close, fd)
    return fd


def _first_success(open_one: Callable[[str], int], targets: tuple[str, ...]) -> int:
    """The fd of the first target that opens; every error if none does."""
    errors = []
    for target in targets:
        try:
            return open_one(target)
        except KernelCallError as e:
            errors.append(str(e))
    raise ProbeError("; ".join(errors))


def _tracepoint_id(root: Path) -> tuple[str, int]:
    for system, event in TRACEPOINT_TARGETS:
        try:
            return f"{system}:{event}", Tracefs(root).event_id(EventRef(system, event))
        except (OSError, ValueError):
            continue
    names = ", ".join(f"{s}:{e}" for s, e in TRACEPOINT_TARGETS)
    raise ProbeError(f"none of the tracepoints {names} exists in {root}/events")


def _probe_tracepoint(stack: ExitStack) -> None:
    root = find_mount()
    if root is None:
        raise ProbeError(f"no tracepoint ids: {mount_missing_reason()}")
    name, tp_id = _tracepoint_id(root)
    prog = _load(stack, BPF_PROG_TYPE_TRACEPOINT)
    event_fd = perf_event_open(PERF_TYPE_TRACEPOINT, tp_id, what=f"tracepoint {name}")
    attach_perf_event(stack, event_fd, prog)


def _probe_raw_tracepoint(stack: ExitStack) -> None:
    prog = _load(stack, BPF_PROG_TYPE_RAW_TRACEPOINT)
    link = _first_success(lambda name: raw_tracepoint_open(prog, name), RAW_TRACEPOINT_TARGETS)
    stack.callback(os.close, link)


def _probe_perf_event(stack: ExitStack) -> None:
    prog = _load(stack, BPF_PROG_TYPE_PERF_EVENT)
    event_fd = perf_event_open(
        PERF_TYPE_SOFTWARE,
        PERF_COUNT_SW_CPU_CLOCK,
        sample_period=PERF_SAMPLE_PERIOD_NS,
        cpu=min(os.sched_getaffinity(0)),
        what="software cpu-clock",
    )
    attach_perf_event(stack, event_fd, prog)


def _require_pmu(name: str) -> int:
    """The type of PMU `name` ("kprobe" or "uprobe"), else why not (with tracefs's view)."""
    pmu = pmu_type(name)
    if pmu is not None:
        return pmu
    reason = f"no {name} PMU ({PMU_DIR}/{name} absent); "
    root, events_file = find_mount(), f"{name}_events"
    if root is None:
        reason += f"cannot look for {events_file}: {mount_missing_reason()}"
    elif Tracefs(root).exists(events_file):
        reason += f"{events_file} exists in tracefs, but only the PMU (Linux 4.17+) is probed"
    else:
        reason += f"no {events_file} in tracefs either: kernel built without {_PMU_CONFIG[name]}"
    raise ProbeError(reason)


def _open_kprobe(pmu: int, function: str) -> int:
    name = ctypes.create_string_buffer(function.encode())
    return perf_event_open(pmu, 0, config1=ctypes.addressof(name), what=f"kprobe {function}")


def _probe_kprobe(stack: ExitStack) -> None:
    pmu = _require_pmu("kprobe")
    prog = _load(stack, BPF_PROG_TYPE_KPROBE)
    event_fd = _first_success(lambda function: _open_kprobe(pmu, function), KPROBE_TARGETS)
    attach_perf_event(stack, event_fd, prog)


def elf_entry_offset(path: str) -> int:
    """The file offset of an ELF executable's entry point (where a uprobe can go)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            entry = int(elf.header["e_entry"])
            for seg in elf.iter_segments():
                start, size = int(seg["p_vaddr"]), int(seg["p_filesz"])
                if seg["p_type"] == "PT_LOAD" and start <= entry < start + size:
                    return entry - start + int(seg["p_offset"])
    except ELFError as e:
        raise ProbeError(f"{path} is not a readable ELF file: {e}") from e
    raise ProbeError(f"the entry point of {path} is in no PT_LOAD segment")


def _probe_uprobe(stack: ExitStack) -> None:
    pmu = _require_pmu("uprobe")
    prog = _load(stack, BPF_PROG_TYPE_KPROBE)
    scratch = tempfile.mkdtemp(prefix="tracerd-probe-")
    stack.callback(shutil.rmtree, scratch, ignore_errors=True)
    target = os.path.join(scratch, os.path.basename(UPROBE_SOURCE_BINARY))
    try:
        shutil.copyfile(UPROBE_SOURCE_BINARY, target)
    except OSError as e:
        raise ProbeError(f"cannot copy {UPROBE_SOURCE_BINARY} to a scratch dir: {e}") from e
    offset = elf_entry_offset(target)
    path = ctypes.create_string_buffer(target.encode())
    event_fd = perf_event_open(
        pmu, 0, config1=ctypes.addressof(path), config2=offset, what=f"uprobe {target}:{offset:#x}"
    )
    attach_perf_event(stack, event_fd, prog)


def _fentry_target() -> tuple[str, int]:
    """The first of FENTRY_TARGETS with a BTF id in the kernel's BTF, and that id."""
    for function in FENTRY_TARGETS:
        try:
            type_id = btf.vmlinux_type_id(function, btf.BtfKind.FUNC)
        except OSError as e:
            raise ProbeError(
                f"no kernel BTF ({btf.VMLINUX_BTF_PATH}: {e.strerror}; needs CONFIG_DEBUG_INFO_BTF)"
            ) from e
        except btf.BtfError as e:
            raise ProbeError(f"cannot read {btf.VMLINUX_BTF_PATH}: {e}") from e
        if type_id is not None:
            return function, type_id
    raise ProbeError(f"none of {', '.join(FENTRY_TARGETS)} is a function in the kernel BTF")


def _probe_fentry(stack: ExitStack) -> None:
    function, type_id = _fentry_target()
    what = f"fentry {function}, BTF id {type_id}"
    prog = _load(stack, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, type_id, what=what)
    stack.callback(os.close, raw_tracepoint_open(prog, None, what=what))


_PROBES: dict[str, Callable[[ExitStack], None]] = {
    "tracepoint": _probe_tracepoint,
    "raw_tracepoint": _probe_raw_tracepoint,
    "uprobe": _probe_uprobe,
    "perf_event": _probe_perf_event,
    "kprobe": _probe_kprobe,
    "fentry": _probe_fentry,
}


def probe_program_type(name: str) -> ProgramTypeCapability:
    """Load a trivial program of type `name` (one of PROGRAM_TYPES), attach it to a harmless
    target, detach it; usable, or not with the kernel's reason."""
    probe = _PROBES[name]
    try:
        with ExitStack() as stack:
            probe(stack)
    except (ProbeError, KernelCallError) as e:
        return {"usable": False, "where": None, "reason": str(e)}
    except Exception as e:  # isolation: one probe's bug must not hide the other answers
        log.exception("BPF %s probe failed unexpectedly", name)
        return {"usable": False, "where": None, "reason": f"probe error: {e!r}"}
    return {"usable": True, "where": None, "reason": None}


def probe_program_types() -> dict[str, ProgramTypeCapability]:
    """Every type of PROGRAM_TYPES, each probed by load and attach on the running kernel."""
    return {name: probe_program_type(name) for name in PROGRAM_TYPES}
