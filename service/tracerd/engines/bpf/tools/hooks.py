"""Per-tool post-processing: raw record fields -> the tool's event fields, raw map contents
-> named keys (syscall names, disk names, symbolized stacks, folded lines).

Event hooks run only for low-rate tools (exec, exit, TCP); high-rate tools (opensnoop)
compute their final fields in the kernel. Stack symbolization needs BCC, so map hooks get
a `StackResolver` callable from the loader instead of importing it.
"""

from __future__ import annotations

import errno
import ipaddress
import signal
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ....types import WireEvent
from .syscalls import syscall_name

EventHook = Callable[[WireEvent], WireEvent]
StackResolver = Callable[[str, int, int, bool], list[str]]
"""(stack map, stack id, tgid, kernel) -> frames, innermost first"""
MapHook = Callable[[str, dict[str, Any], StackResolver | None], dict[str, Any]]

TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
    13: "BOUND_INACTIVE",
}
AF_INET = 2
MINOR_BITS = 20  # the kernel-internal dev_t of block tracepoints: major << 20 | minor


def _execsnoop(ev: WireEvent) -> WireEvent:
    f = ev.fields
    fields = {
        "pcomm": ev.comm,
        "pid": ev.pid,
        "ppid": f["ppid"],
        "ret": f["ret"],
        "args": f["args"][: f["argc"]],
        "truncated": bool(f["truncated"]),
    }
    return ev._replace(fields=fields)


def _exitsnoop(ev: WireEvent) -> WireEvent:
    status = ev.fields["status"]
    sig = status & 0x7F
    fields = {
        "pcomm": ev.comm,
        "pid": ev.pid,
        "ppid": ev.fields["ppid"],
        "tid": ev.tid,
        "age_s": round(ev.fields["age_ns"] / 1e9, 6),
        "exit_code": None if sig else (status >> 8) & 0xFF,
        "signal": signal_name(sig) if sig else None,
        "core": bool(status & 0x80),
        "status": status,
    }
    return ev._replace(fields=fields)


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"SIG{sig}"


def _addr(family: int, raw_hex: str) -> str:
    raw = bytes.fromhex(raw_hex)
    return str(ipaddress.IPv4Address(raw[:4]) if family == AF_INET else ipaddress.IPv6Address(raw))


def _tcp_common(f: dict[str, Any]) -> dict[str, Any]:
    fam = f["family"]
    return {
        "family": 4 if fam == AF_INET else 6,
        "laddr": _addr(fam, f["laddr"]),
        "lport": f["lport"],
        "raddr": _addr(fam, f["raddr"]),
        "rport": f["rport"],
    }


def _tcplife(ev: WireEvent) -> WireEvent:
    f = ev.fields
    fields = {
        "pid": ev.pid,
        "comm": ev.comm,
        **_tcp_common(f),
        "tx_kb": f["tx_bytes"] >> 10,
        "rx_kb": f["rx_bytes"] >> 10,
        "tx_bytes": f["tx_bytes"],
        "rx_bytes": f["rx_bytes"],
        "ms": round(f["span_ns"] / 1e6, 3),
    }
    return ev._replace(fields=fields)


def _tcpstates(ev: WireEvent) -> WireEvent:
    f = ev.fields
    fields = {
        "skaddr": f"{f['skaddr']:x}",
        **_tcp_common(f),
        "oldstate": TCP_STATES.get(f["oldstate"], str(f["oldstate"])),
        "newstate": TCP_STATES.get(f["newstate"], str(f["newstate"])),
        "ms": round(f["delta_ns"] / 1e6, 3),
    }
    return ev._replace(fields=fields)


EVENT_HOOKS: dict[str, EventHook] = {
    "execsnoop": _execsnoop,
    "exitsnoop": _exitsnoop,
    "tcplife": _tcplife,
    "tcpstates": _tcpstates,
}


def _syscount(_name: str, contents: dict[str, Any], _r: StackResolver | None) -> dict[str, Any]:
    entries = contents["entries"]
    for entry in entries:
        if isinstance(entry["key"], int):
            entry["key"] = {"syscall": syscall_name(entry["key"]), "nr": entry["key"]}
    entries.sort(key=lambda e: (-e["value"]["count"], str(e["key"])))
    return contents


@lru_cache(maxsize=256)
def disk_name(dev: int) -> str:
    major, minor = dev >> MINOR_BITS, dev & ((1 << MINOR_BITS) - 1)
    try:
        with open(f"/sys/dev/block/{major}:{minor}/uevent") as f:
            for line in f:
                if line.startswith("DEVNAME="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return f"{major}:{minor}"


def _biolatency(_name: str, contents: dict[str, Any], _r: StackResolver | None) -> dict[str, Any]:
    for entry in contents.get("entries", []):
        dev = entry["key"]["dev"]
        entry["key"] = {"disk": disk_name(dev), "dev": f"{dev >> MINOR_BITS}:{dev & 0xFFFFF}"}
    return contents


def _frames(
    resolve: StackResolver, stack_map: str, stack_id: int, pid: int, kernel: bool
) -> list[str]:
    if stack_id >= 0:
        return resolve(stack_map, stack_id, pid, kernel)
    if stack_id in (-1, -errno.EFAULT):  # not asked for, or none (kernel thread / user mode)
        return []
    return ["[Missed Kernel Stack]" if kernel else "[Missed User Stack]"]


def stacks_hook(weight: str) -> MapHook:
    """Resolve stack ids into frames and add folded lines weighted by `weight`."""

    def hook(
        _name: str,
        contents: dict[str, Any],
        resolve: StackResolver | None,
        stack_map: str = "stack_traces",
    ) -> dict[str, Any]:
        folded: dict[str, int] = {}
        for entry in contents["entries"]:
            key = entry["key"]
            user = kern = []
            if resolve is not None:
                user = _frames(resolve, stack_map, key["user_stack_id"], key["pid"], False)
                kern = _frames(resolve, stack_map, key["kernel_stack_id"], key["pid"], True)
            entry["key"] = {
                "pid": key["pid"],
                "comm": key["comm"],
                "user_stack": user,
                "kernel_stack": kern,
            }
            line = ";".join([key["comm"], *reversed(user), *reversed(kern)])
            folded[line] = folded.get(line, 0) + int(entry["value"][weight])
        contents["entries"].sort(key=lambda e: -int(e["value"][weight]))
        contents["folded"] = [f"{line} {n}" for line, n in sorted(folded.items())]
        return contents

    return hook


MAP_HOOKS: dict[str, MapHook] = {
    "syscount": _syscount,
    "biolatency": _biolatency,
    "profile": stacks_hook("count"),
    "mallocstacks": stacks_hook("bytes"),
}
