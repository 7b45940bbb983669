"""BCC kprobe/kretprobe and fentry attachments of custom programs through the daemon, on
6.1 (the host refuses both): exact counts of a known workload, filtered by pid in the
kernel. The catalogue tools' fentry and kprobe variants: test_bpf_tools_guest.py."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .conftest import InProcess, events_of, wait_for

pytestmark = [pytest.mark.root, pytest.mark.bpf]
CALLS = 7

KPROBE_PROGRAM = r"""
#include <uapi/linux/ptrace.h>
BPF_RINGBUF_OUTPUT(out, 16);
struct rec { u32 pid; u32 kind; s64 ret; };
static __always_inline int emit(struct pt_regs *ctx, u32 kind, s64 ret)
{
    struct rec *r = out.ringbuf_reserve(sizeof(*r));
    if (!r) return 0;
    r->pid = bpf_get_current_pid_tgid() >> 32;
    r->kind = kind;
    r->ret = ret;
    out.ringbuf_submit(r, 0);
    return 0;
}
int trd_getpid_enter(struct pt_regs *ctx) { return emit(ctx, 0, 0); }
int trd_getpid_return(struct pt_regs *ctx) { return emit(ctx, 1, PT_REGS_RC(ctx)); }
"""
KPROBE_OUTPUT = {
    "map": "out",
    "fields": [
        {"name": "pid", "type": "u32"},
        {"name": "kind", "type": "u32"},
        {"name": "ret", "type": "s64"},
    ],
}

FENTRY_PROGRAM = r"""
BPF_RINGBUF_OUTPUT(writes, 16);
struct rec { u32 pid; u32 fd; u64 count; };
KFUNC_PROBE(ksys_write, unsigned int fd, const char *buf, size_t count)
{
    struct rec *r = writes.ringbuf_reserve(sizeof(*r));
    if (!r) return 0;
    r->pid = bpf_get_current_pid_tgid() >> 32;
    r->fd = fd;
    r->count = count;
    writes.ringbuf_submit(r, 0);
    return 0;
}
"""
FENTRY_OUTPUT = {
    "map": "writes",
    "fields": [
        {"name": "pid", "type": "u32"},
        {"name": "fd", "type": "u32"},
        {"name": "count", "type": "u64"},
    ],
}


@contextmanager
def gated(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """A shell that becomes `argv` (same pid) once a line arrives on its stdin."""
    quoted = " ".join(f"'{a}'" for a in argv)
    child = subprocess.Popen(["sh", "-c", f"read go; exec {quoted}"], stdin=subprocess.PIPE)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()


def run_program(
    daemon: InProcess, spec: dict[str, Any], child: subprocess.Popen[bytes]
) -> tuple[str, list[dict[str, Any]]]:
    resp = daemon.call(
        "POST", "/v1/sessions", params={"wait": "true"}, json={"kind": "bpf", "spec": spec}
    )
    assert resp.status_code == 201, resp.text
    sid = resp.json()["id"]
    assert resp.json()["state"] == "running"
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    child.stdin.close()
    assert child.wait(60) == 0
    name = spec["output"]["map"]
    wait_for(lambda: len(events_of(daemon, sid, name)) >= CALLS, timeout_s=30, interval_s=0.2)
    stopped = daemon.call("POST", f"/v1/sessions/{sid}/stop?wait=true").json()
    assert stopped["state"] == "stopped", stopped
    return sid, events_of(daemon, sid, name)


@pytest.mark.needs_kprobes
def test_bcc_kprobe_and_kretprobe_in_a_custom_program(daemon: InProcess, tracee: Path) -> None:
    attach = [
        {"type": "kprobe", "target": "__x64_sys_getpid", "fn": "trd_getpid_enter"},
        {"type": "kretprobe", "target": "__x64_sys_getpid", "fn": "trd_getpid_return"},
    ]
    with gated([str(tracee), "getpid", str(CALLS)]) as child:
        spec = {"program": KPROBE_PROGRAM, "attach": attach, "output": KPROBE_OUTPUT}
        _, events = run_program(daemon, {**spec, "pid": child.pid}, child)
    fields = [e["fields"] for e in events]
    assert {f["pid"] for f in fields} == {child.pid}
    assert [f["kind"] for f in fields] == [0, 1] * CALLS
    assert {f["ret"] for f in fields if f["kind"] == 1} == {child.pid}


@pytest.mark.needs_fentry
def test_bcc_fentry_in_a_custom_program(daemon: InProcess, tracee: Path) -> None:
    attach = [{"type": "fentry", "target": "ksys_write", "fn": "kfunc__ksys_write"}]
    with gated([str(tracee), "write", str(CALLS)]) as child:
        spec = {"program": FENTRY_PROGRAM, "attach": attach, "output": FENTRY_OUTPUT}
        sid, events = run_program(daemon, {**spec, "pid": child.pid}, child)
    fields = [e["fields"] for e in events]
    assert len(fields) == CALLS
    assert {(f["pid"], f["count"]) for f in fields} == {(child.pid, 1)}
    assert len({f["fd"] for f in fields}) == 1
    session = daemon.call("GET", f"/v1/sessions/{sid}").json()
    assert session["resources"] == []
