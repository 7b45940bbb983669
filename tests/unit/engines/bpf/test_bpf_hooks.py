"""tools/hooks.py and tools/syscalls.py: events and maps as the BCC tools show them."""

from __future__ import annotations

from typing import Any

from tracerd.engines.bpf.tools import hooks
from tracerd.engines.bpf.tools.syscalls import syscall_name
from tracerd.types import WireEvent


def _ev(fields: dict[str, Any], comm: str = "cat") -> WireEvent:
    return WireEvent(1, 0, 10, 11, comm, "t", fields)


def test_execsnoop_trims_argv_to_argc() -> None:
    ev = hooks.EVENT_HOOKS["execsnoop"](
        _ev({"ppid": 1, "ret": 0, "argc": 2, "truncated": 0, "args": ["cat", "/x", "", ""]})
    )
    assert ev.fields == {
        "pcomm": "cat",
        "pid": 10,
        "ppid": 1,
        "ret": 0,
        "args": ["cat", "/x"],
        "truncated": False,
    }


def test_exitsnoop_splits_the_wait_status() -> None:
    hook = hooks.EVENT_HOOKS["exitsnoop"]
    normal = hook(_ev({"age_ns": 1_500_000_000, "ppid": 1, "status": 7 << 8})).fields
    assert (normal["exit_code"], normal["signal"], normal["age_s"]) == (7, None, 1.5)
    killed = hook(_ev({"age_ns": 0, "ppid": 1, "status": 9})).fields
    assert (killed["exit_code"], killed["signal"], killed["core"]) == (None, "SIGKILL", False)
    dumped = hook(_ev({"age_ns": 0, "ppid": 1, "status": 0x80 | 11})).fields
    assert (dumped["signal"], dumped["core"]) == ("SIGSEGV", True)


def test_tcp_hooks_format_addresses_states_and_units() -> None:
    v4 = (bytes([127, 0, 0, 1]) + bytes(12)).hex()
    v6 = bytes(15).hex() + "01"
    life = hooks.EVENT_HOOKS["tcplife"](
        _ev(
            {
                "span_ns": 2_500_000,
                "rx_bytes": 2048,
                "tx_bytes": 5000,
                "family": 2,
                "lport": 1,
                "rport": 2,
                "laddr": v4,
                "raddr": v4,
            }
        )
    ).fields
    assert (life["laddr"], life["family"], life["ms"], life["tx_kb"], life["rx_kb"]) == (
        "127.0.0.1",
        4,
        2.5,
        4,
        2,
    )
    states = hooks.EVENT_HOOKS["tcpstates"](
        _ev(
            {
                "skaddr": 0xFFFF8880,
                "delta_ns": 0,
                "oldstate": 7,
                "newstate": 2,
                "family": 10,
                "lport": 0,
                "rport": 80,
                "laddr": v6,
                "raddr": v6,
            }
        )
    ).fields
    assert (states["oldstate"], states["newstate"], states["raddr"], states["skaddr"]) == (
        "CLOSE",
        "SYN_SENT",
        "::1",
        "ffff8880",
    )


def test_syscount_names_and_sorts() -> None:
    out = hooks.MAP_HOOKS["syscount"](
        "counts",
        {
            "type": "map",
            "entries": [
                {"key": 0, "value": {"count": 1, "total_ns": 0}},
                {"key": 110, "value": {"count": 5, "total_ns": 0}},
            ],
        },
        None,
    )
    assert [e["key"] for e in out["entries"]] == [
        {"syscall": "getppid", "nr": 110},
        {"syscall": "read", "nr": 0},
    ]
    assert syscall_name(257) == "openat"
    assert syscall_name(9999) == "syscall_9999"


def test_stacks_are_resolved_and_folded() -> None:
    def resolve(_map: str, stack_id: int, _pid: int, kernel: bool) -> list[str]:
        return ["do_sys", "entry"] if kernel else ["leaf", "main"]

    out = hooks.MAP_HOOKS["profile"](
        "counts",
        {
            "type": "stacks",
            "entries": [
                {
                    "key": {"pid": 3, "comm": "spin", "user_stack_id": 1, "kernel_stack_id": 2},
                    "value": {"count": 4},
                },
                {
                    "key": {"pid": 3, "comm": "spin", "user_stack_id": 1, "kernel_stack_id": -14},
                    "value": {"count": 1},
                },
                {
                    "key": {"pid": 3, "comm": "spin", "user_stack_id": -17, "kernel_stack_id": -1},
                    "value": {"count": 2},
                },
            ],
        },
        resolve,
    )
    assert out["folded"] == [
        "spin;[Missed User Stack] 2",
        "spin;main;leaf 1",
        "spin;main;leaf;entry;do_sys 4",
    ]
    assert out["entries"][0]["key"] == {
        "pid": 3,
        "comm": "spin",
        "user_stack": ["leaf", "main"],
        "kernel_stack": ["do_sys", "entry"],
    }


def test_unknown_disk_falls_back_to_major_minor() -> None:
    assert hooks.disk_name((4095 << 20) | 7) == "4095:7"
