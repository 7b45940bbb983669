"""Custom BCC programs on the real kernel: decoded by their `output` description, maps
readable, compile errors with clang's text and nothing loaded, the exclusion injected;
kprobe/kretprobe/fentry code paths (skipped here with the probed reason)."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tracerd.errors import CapabilityMissing, CompileError, SpecError
from tracerd.specs import BpfSpec

from .bpf_fakes import (
    GETPPID_C,
    EngineRun,
    Gated,
    build_c,
    getppid_looper,
    no_programs_of_ours_left,  # noqa: F401 (autouse)
    our_programs,
    wait_until,
)

pytestmark = [pytest.mark.root, pytest.mark.bpf]


RINGBUF_PROGRAM = r"""
struct rec { u64 ts_ns; u32 pid; u32 nr; char comm[16]; };
BPF_RINGBUF_OUTPUT(out, 64);
BPF_HISTOGRAM(nr_hist);
BPF_HASH(per_pid, u32, u64);

int trd_custom_rb(struct tracepoint__syscalls__sys_enter_getppid *args)
{
    struct rec *r = out.ringbuf_reserve(sizeof(*r));
    if (!r)
        return 0;
    r->ts_ns = bpf_ktime_get_ns();
    r->pid = bpf_get_current_pid_tgid() >> 32;
    r->nr = args->__syscall_nr;
    bpf_get_current_comm(r->comm, sizeof(r->comm));
    u32 pid = r->pid;
    out.ringbuf_submit(r, 0);
    nr_hist.increment(bpf_log2l(args->__syscall_nr));
    per_pid.increment(pid);
    return 0;
}
"""
RINGBUF_OUTPUT = {
    "map": "out",
    "fields": [
        {"name": "ts_ns", "type": "u64"},
        {"name": "pid", "type": "u32"},
        {"name": "nr", "type": "u32"},
        {"name": "comm", "type": "str", "size": 16},
    ],
}


def _spec(
    program: str, attach: list[dict[str, str]], output: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"program": program, "attach": attach, "output": output, **extra}


def test_ringbuf_output_and_maps(tmp_path: Path) -> None:
    binary = build_c(tmp_path, "getppid", GETPPID_C)
    attach = [{"type": "tracepoint", "target": "syscalls:sys_enter_getppid", "fn": "trd_custom_rb"}]
    with (
        Gated([binary, "500"]) as child,
        EngineRun(tmp_path, _spec(RINGBUF_PROGRAM, attach, RINGBUF_OUTPUT, pid=child.pid)) as run,
    ):
        child.go()
        assert wait_until(lambda: len(run.sink.named("out")) >= 500)
        live = run.engine.read_maps(run.handle)
    events = run.sink.named("out")
    assert len(events) == 500
    assert {e.pid for e in events} == {child.pid}
    assert {e.fields["nr"] for e in events} == {110}
    assert events[0].comm == "getppid"
    assert all(a.ts_ns <= b.ts_ns for a, b in itertools.pairwise(events))
    assert live["per_pid"]["entries"] == [{"key": child.pid, "value": 500}]
    hist = live["nr_hist"]
    assert hist["type"] == "hist"
    assert sum(b["count"] for b in hist["buckets"]) == 500
    assert hist["buckets"][-1] == {"low": 64, "high": 127, "count": 500}  # 110 in [64, 127]
    assert run.sink.map_snapshots[-1][1]["per_pid"] == live["per_pid"]


PERF_PROGRAM = r"""
struct rec { u32 pid; s32 value; };
BPF_PERF_OUTPUT(samples);

int trd_custom_perf(struct tracepoint__syscalls__sys_enter_getppid *args)
{
    struct rec r = {};
    r.pid = bpf_get_current_pid_tgid() >> 32;
    r.value = -7;
    samples.perf_submit(args, &r, sizeof(r));
    return 0;
}
"""


def test_perf_output(tmp_path: Path) -> None:
    binary = build_c(tmp_path, "getppid", GETPPID_C)
    attach = [
        {"type": "tracepoint", "target": "syscalls:sys_enter_getppid", "fn": "trd_custom_perf"}
    ]
    output = {
        "map": "samples",
        "fields": [{"name": "pid", "type": "u32"}, {"name": "value", "type": "s32"}],
    }
    with (
        Gated([binary, "300"]) as child,
        EngineRun(tmp_path, _spec(PERF_PROGRAM, attach, output, pid=child.pid)) as run,
    ):
        child.go()
        assert wait_until(lambda: len(run.sink.named("samples")) >= 300)
    events = run.sink.named("samples")
    assert len(events) == 300
    assert {(e.pid, e.fields["value"]) for e in events} == {(child.pid, -7)}


def test_exclusion_is_injected(tmp_path: Path) -> None:
    """Without a pid filter the worker's own getppid() calls are still not seen."""
    binary = build_c(tmp_path, "getppid", GETPPID_C)
    attach = [{"type": "tracepoint", "target": "syscalls:sys_enter_getppid", "fn": "trd_custom_rb"}]
    with (
        Gated([binary, "50"]) as child,
        EngineRun(tmp_path, _spec(RINGBUF_PROGRAM, attach, RINGBUF_OUTPUT)) as run,
    ):
        for _ in range(100):
            os.getppid()
        child.go()
        assert wait_until(
            lambda: len([e for e in run.sink.named("out") if e.pid == child.pid]) == 50
        )
    assert os.getpid() not in {e.pid for e in run.sink.named("out")}
    assert run.handle.info["notes"] == []


def test_compile_error_has_clangs_text_and_loads_nothing(tmp_path: Path) -> None:
    program = "int trd_broken(void *ctx)\n{\n    return undeclared_thing + 1;\n}\n"
    attach = [{"type": "tracepoint", "target": "syscalls:sys_enter_getppid", "fn": "trd_broken"}]
    run = EngineRun(tmp_path, _spec(program, attach))
    before = {p["id"] for p in our_programs()}
    with pytest.raises(CompileError) as info:
        run.__enter__()
    message = info.value.message
    assert "program.c:3:12: error: use of undeclared identifier 'undeclared_thing'" in message
    assert "warning" not in message
    assert run.ledger.live() == []
    assert {p["id"] for p in our_programs()} <= before


def test_verifier_rejection_is_a_compile_error(tmp_path: Path) -> None:
    program = r"""
BPF_RINGBUF_OUTPUT(leak, 1);
int trd_unsafe(struct tracepoint__syscalls__sys_enter_getppid *args)
{
    leak.ringbuf_reserve(8);  /* never submitted: the verifier refuses the leak */
    return 0;
}
"""
    attach = [{"type": "tracepoint", "target": "syscalls:sys_enter_getppid", "fn": "trd_unsafe"}]
    run = EngineRun(tmp_path, _spec(program, attach))
    with pytest.raises(CompileError) as info:
        run.__enter__()
    assert "trd_unsafe" in info.value.message
    assert "Unreleased reference" in info.value.message
    assert run.ledger.live() == []


def _probe_reason(kind: str) -> str | None:
    """Why `kind` programs cannot be attached here, from the daemon's own probe."""
    from tests.conftest import probed_caps

    feature = probed_caps().get("bpf", {}).get(kind, {})
    return None if feature.get("usable") else str(feature.get("reason"))


KPROBE_PROGRAM = r"""
#include <uapi/linux/ptrace.h>
BPF_RINGBUF_OUTPUT(out, 16);
struct rec { u32 pid; u32 ret; };
int trd_kp_enter(struct pt_regs *ctx) { return 0; }
int trd_kp_ret(struct pt_regs *ctx)
{
    struct rec *r = out.ringbuf_reserve(sizeof(*r));
    if (!r) return 0;
    r->pid = bpf_get_current_pid_tgid() >> 32;
    r->ret = PT_REGS_RC(ctx);
    out.ringbuf_submit(r, 0);
    return 0;
}
"""


@pytest.mark.needs_kprobes
def test_kprobe_and_kretprobe(tmp_path: Path) -> None:
    reason = _probe_reason("kprobe")
    if reason:
        pytest.skip(f"probed: kprobe: {reason}")
    binary = build_c(tmp_path, "getppid", GETPPID_C)
    attach = [
        {"type": "kprobe", "target": "__x64_sys_getppid", "fn": "trd_kp_enter"},
        {"type": "kretprobe", "target": "__x64_sys_getppid", "fn": "trd_kp_ret"},
    ]
    output = {
        "map": "out",
        "fields": [{"name": "pid", "type": "u32"}, {"name": "ret", "type": "u32"}],
    }
    with (
        Gated([binary, "20"]) as child,
        EngineRun(tmp_path, _spec(KPROBE_PROGRAM, attach, output, pid=child.pid)) as run,
    ):
        child.go()
        assert wait_until(lambda: len(run.sink.named("out")) >= 20)
    assert {e.fields["ret"] for e in run.sink.named("out")} == {os.getpid()}


def test_kprobe_refused_here_with_the_kernels_reason(tmp_path: Path) -> None:
    if _probe_reason("kprobe") is None:
        pytest.skip("kprobes work on this kernel (see test_kprobe_and_kretprobe)")
    attach = [{"type": "kprobe", "target": "__x64_sys_getppid", "fn": "trd_kp_enter"}]
    caps = {"bpf": {"kprobe": {"usable": False, "reason": "probed: no kprobe PMU"}}}
    from tracerd.engines.bpf.engine import BpfEngine

    from .bpf_fakes import FakeLedger, make_ctx

    ledger = FakeLedger()
    with pytest.raises(CapabilityMissing) as info:
        BpfEngine(make_ctx(tmp_path, caps=caps)).prepare(
            BpfSpec.model_validate(_spec(KPROBE_PROGRAM, attach)), ledger
        )
    assert "no kprobe PMU" in info.value.message
    assert ledger.live() == []
    # without the probe's answer the attach itself fails, also as CapabilityMissing
    with pytest.raises(CapabilityMissing):
        BpfEngine(make_ctx(tmp_path)).prepare(
            BpfSpec.model_validate(_spec(KPROBE_PROGRAM, attach)), ledger
        )
    assert ledger.live() == []


FENTRY_PROGRAM = r"""
BPF_RINGBUF_OUTPUT(out, 16);
struct rec { u32 pid; };
KFUNC_PROBE(do_nanosleep)
{
    struct rec *r = out.ringbuf_reserve(sizeof(*r));
    if (!r) return 0;
    r->pid = bpf_get_current_pid_tgid() >> 32;
    out.ringbuf_submit(r, 0);
    return 0;
}
"""


@pytest.mark.needs_fentry
def test_fentry(tmp_path: Path) -> None:
    attach = [{"type": "fentry", "target": "do_nanosleep", "fn": "kfunc__do_nanosleep"}]
    output = {"map": "out", "fields": [{"name": "pid", "type": "u32"}]}
    with EngineRun(tmp_path, _spec(FENTRY_PROGRAM, attach, output)) as run:
        child = subprocess.run(["sleep", "0.01"], check=True)
        assert child.returncode == 0
        assert wait_until(lambda: len(run.sink.named("out")) >= 1)


def test_uprobe_custom_with_pid(tmp_path: Path) -> None:
    source = r"""
#include <stdio.h>
__attribute__((noinline)) int tracerd_target(int x) { return x * 2; }
int main(void) {
    char go[8];
    if (!fgets(go, sizeof(go), stdin)) return 1;
    int s = 0;
    for (int i = 0; i < 5; i++) s += tracerd_target(i);
    printf("%d\n", s);
    return 0;
}
"""
    binary = build_c(tmp_path, "target", source)
    program = r"""
#include <uapi/linux/ptrace.h>
struct rec { u32 pid; s32 arg; };
BPF_RINGBUF_OUTPUT(calls, 16);
int trd_uprobe_arg(struct pt_regs *ctx)
{
    struct rec *r = calls.ringbuf_reserve(sizeof(*r));
    if (!r) return 0;
    r->pid = bpf_get_current_pid_tgid() >> 32;
    r->arg = PT_REGS_PARM1(ctx);
    calls.ringbuf_submit(r, 0);
    return 0;
}
"""
    attach = [{"type": "uprobe", "target": f"{binary}:tracerd_target", "fn": "trd_uprobe_arg"}]
    output = {
        "map": "calls",
        "fields": [{"name": "pid", "type": "u32"}, {"name": "arg", "type": "s32"}],
    }
    with (
        Gated([binary]) as child,
        EngineRun(tmp_path, _spec(program, attach, output, pid=child.pid)) as run,
    ):
        assert child.go().strip() == "20"
        assert wait_until(lambda: len(run.sink.named("calls")) >= 5)
    assert [e.fields["arg"] for e in run.sink.named("calls")] == [0, 1, 2, 3, 4]


def test_undeclared_output_map_is_refused_with_nothing_loaded(tmp_path: Path) -> None:
    attach = [{"type": "tracepoint", "target": "syscalls:sys_enter_getppid", "fn": "trd_custom_rb"}]
    output = {**RINGBUF_OUTPUT, "map": "nosuchmap"}
    run = EngineRun(tmp_path, _spec(RINGBUF_PROGRAM, attach, output))
    with pytest.raises(SpecError, match="nosuchmap"):
        run.__enter__()
    assert run.ledger.of_type("bpf_program"), "it was loaded, then released"
    assert run.ledger.live() == []


@pytest.mark.parametrize("same_process", [True, False])
def test_exclusion_checks_the_start_time(tmp_path: Path, same_process: bool) -> None:
    """An excluded (pid, start time) hides that process only: a process that has the pid
    but another start time (it reused a dead worker's pid) is traced."""
    attach = [{"type": "tracepoint", "target": "syscalls:sys_enter_getppid", "fn": "trd_custom_rb"}]
    with getppid_looper(same_process) as (pid, key):
        spec = _spec(RINGBUF_PROGRAM, attach, RINGBUF_OUTPUT)
        with EngineRun(tmp_path, spec, exclude_procs=(key,)) as run:
            seen = lambda: [e for e in run.sink.named("out") if e.pid == pid]  # noqa: E731
            if same_process:
                time.sleep(1.0)  # the looper calls getppid every 10 ms
            else:
                assert wait_until(seen)
            traced = bool(seen())
    assert traced is not same_process
