"""Turns what the tracer saw into WireEvents (design.md "An event", ptrace kind).

Fetches (tracee memory reads named by a syscall's plan) run on the stop path; building the
event runs after the tracee was restarted. One event per syscall, at its exit, with the
entry time in `ts_ns`; a call that other tracees' events interrupted carries
`resumed: true` plus `entry_text`/`resumed_text`, the two halves strace prints as
`read(3,  <unfinished ...>` and `<... read resumed>"..", 10) = 10`. Signals, exits and
group-stops carry strace's `--- SIGCHLD {...} ---` / `+++ exited with 0 +++` lines.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...types import WireEvent
from . import flags, parse, sockets
from . import tracer as pt
from .parse import Fetch, Plan

if TYPE_CHECKING:
    from .reader import Tracee, TraceLoop

_EMPTY: dict[int, object] = {}
_SI_CODES = {
    0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
    -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL",
}  # fmt: skip
_CLD_CODES = {
    1: "CLD_EXITED", 2: "CLD_KILLED", 3: "CLD_DUMPED", 4: "CLD_TRAPPED", 5: "CLD_STOPPED",
    6: "CLD_CONTINUED",
}  # fmt: skip
_FAULT_CODES = {
    11: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR"},
    7: {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR"},
    5: {1: "TRAP_BRKPT", 2: "TRAP_TRACE"},
    4: {1: "ILL_ILLOPC", 2: "ILL_ILLOPN"},
    8: {1: "FPE_INTDIV", 2: "FPE_INTOVF"},
}


def _u32(data: bytes) -> int | None:
    return struct.unpack_from("=I", data)[0] if len(data) >= 4 else None


def dirent_count(data: bytes) -> int | None:
    """The records of a getdents64 buffer (struct linux_dirent64: d_reclen at offset 16),
    as strace counts them; None if the buffer could not be read whole."""
    count, offset = 0, 0
    while offset + 18 <= len(data):
        reclen = struct.unpack_from("=H", data, offset + 16)[0]
        if reclen == 0:
            return None
        count, offset = count + 1, offset + reclen
    return count if offset == len(data) and data else None


def siginfo_text(sig: int, raw: bytes | None) -> str:
    """strace's `{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=.., ...}`."""
    name = flags.signal_name(sig)
    if raw is None or len(raw) < 48:
        return f"{{si_signo={name}}}"
    _signo, _errno, code = struct.unpack_from("=iii", raw)
    head = f"si_signo={name}"
    if code <= 0 or code == 0x80:
        code_name = _SI_CODES.get(code, str(code))
        if code in (0, -6, -1):
            spid, suid = struct.unpack_from("=iI", raw, 16)
            return f"{{{head}, si_code={code_name}, si_pid={spid}, si_uid={suid}}}"
        return f"{{{head}, si_code={code_name}}}"
    if sig == 17:
        spid, suid, status, utime, stime = struct.unpack_from("=iIiqq", raw, 16)
        code_name = _CLD_CODES.get(code, str(code))
        shown = flags.signal_name(status) if code in (2, 3, 4, 5) else str(status)
        return (
            f"{{{head}, si_code={code_name}, si_pid={spid}, si_uid={suid}, "
            f"si_status={shown}, si_utime={utime}, si_stime={stime}}}"
        )
    if sig in _FAULT_CODES:
        addr = struct.unpack_from("=Q", raw, 16)[0]
        code_name = _FAULT_CODES[sig].get(code, str(code))
        return f"{{{head}, si_code={code_name}, si_addr={'NULL' if not addr else hex(addr)}}}"
    return f"{{{head}, si_code={code}}}"


class EventBuilder:
    """Fetches tracee data for plans and builds the session's events."""

    def __init__(self, plans: dict[int, Plan], string_limit: int) -> None:
        self.plans = plans
        self.string_limit = string_limit

    # -- stop path --------------------------------------------------------------------------

    def fetch(
        self, tid: int, fetches: Sequence[Fetch], args: Sequence[int], ret: int
    ) -> dict[int, object]:
        out: dict[int, object] = {}
        for index, what, param in fetches:
            addr = args[index]
            if not addr:
                continue
            if what == "str":
                out[index] = pt.read_string(tid, addr, param)
            elif what == "buf":
                total = args[param]
                out[index] = (pt.read_memory(tid, addr, min(total, self.string_limit)), total)
            elif what == "obuf":
                out[index] = pt.read_memory(tid, addr, min(max(ret, 0), self.string_limit))
            elif what == "struct":
                out[index] = pt.read_memory(tid, addr, param) or None
            elif what == "sockaddr":
                out[index] = pt.read_memory(tid, addr, min(args[param], 128)) or None
            elif what == "osockaddr":  # as long as the length the kernel wrote back
                size = _u32(pt.read_memory(tid, args[param], 4))
                out[index] = pt.read_memory(tid, addr, min(size or 0, 128)) or None
            elif what == "olen":
                out[sockets.OUT_LEN_KEY] = _u32(pt.read_memory(tid, addr, 4))
            elif what == "argv":
                out[index] = self._argv(tid, addr)
            elif what == "envp":
                out[index] = self._count(tid, addr)
            elif what == "dirents" and ret >= 0:
                out[index] = dirent_count(pt.read_memory(tid, addr, ret)) if ret else 0
            elif what == "ptid":
                self._parent_tid(tid, addr, out)
        return out

    def _parent_tid(self, tid: int, addr: int, out: dict[int, object]) -> None:
        head = pt.read_memory(tid, addr, 32)  # struct clone_args: flags .. parent_tid
        if len(head) == 32:
            flags_, _pidfd, _ctid, ptid = struct.unpack("=4Q", head)
            value = pt.read_memory(tid, ptid, 4) if flags_ & 0x00100000 and ptid else b""
            if len(value) == 4:
                out[parse.PTID_KEY] = struct.unpack("=i", value)[0]

    def _argv(self, tid: int, addr: int) -> tuple[list[tuple[bytes, bool]], bool]:
        raw = pt.read_memory(tid, addr, (parse.ARGV_MAX + 1) * 8)
        items: list[tuple[bytes, bool]] = []
        for (ptr,) in struct.iter_unpack("=Q", raw[: len(raw) // 8 * 8]):
            if ptr == 0:
                return items, False
            if len(items) == parse.ARGV_MAX:
                return items, True
            items.append(pt.read_string(tid, ptr, self.string_limit))
        return items, False

    def _count(self, tid: int, addr: int) -> int:
        count = 0
        while count < 1 << 16:
            raw = pt.read_memory(tid, addr + count * 8, 4096)
            if len(raw) < 8:
                return count
            for (ptr,) in struct.iter_unpack("=Q", raw[: len(raw) // 8 * 8]):
                if ptr == 0:
                    return count
                count += 1
        return count

    # -- events -------------------------------------------------------------------------------

    def syscall(
        self,
        t: Tracee,
        call: list[Any],
        rval: int | None,
        is_error: bool,
        exit_fetched: dict[int, object],
        now: int,
        loop: TraceLoop,
    ) -> None:
        nr, args, ts, entry_fetched = call
        plan = self.plans.get(nr)
        name = plan.name if plan is not None else f"syscall_{nr:#x}"
        nargs = len(plan.kinds) if plan is not None else 6
        if exit_fetched:
            fetched = {**entry_fetched, **exit_fetched} if entry_fetched else exit_fetched
        else:
            fetched = entry_fetched or _EMPTY
        ok = rval is not None and not is_error
        if plan is not None:
            shown = parse.render_args(plan, args, fetched, ok, rval or 0)
        else:  # a number this table does not know: strace shows `syscall_0x1d5(0x1, ...)`
            shown = [hex(a) for a in args]
        ret_text = parse.render_return(name, rval, is_error, args[1] if name == "fcntl" else -1)
        errno_name = parse.errno_of(rval, is_error) if is_error else None
        text = f"{name}({', '.join(shown)}) = {ret_text}"
        fields: dict[str, Any] = {
            "args": shown,
            "raw_args": list(args[:nargs]),
            "ret": rval,
            "errno": errno_name,
            "duration_ns": now - ts,
            "text": text,
        }
        if loop.emitted != t.mark:
            outputs = [f[0] for f in plan.exit if f[1] != "ptid"] if plan else []
            split = min(outputs, default=len(shown)) if plan else 0
            head = ", ".join(shown[:split]) + (", " if split < len(shown) else "")
            fields["resumed"] = True
            fields["entry_text"] = f"{name}({head}"
            fields["resumed_text"] = f"<... {name} resumed>{', '.join(shown[split:])}) = {ret_text}"
        loop.add_event(
            WireEvent(
                ts, None, t.pid, t.tid, self._comm(t), name, fields, now - ts, rval, errno_name
            )
        )

    def _comm(self, t: Tracee) -> str | None:
        if t.comm is None:
            t.comm = pt.comm(t.tid)
        return t.comm

    def signal(self, t: Tracee, sig: int, raw: bytes | None, loop: TraceLoop) -> None:
        info = siginfo_text(sig, raw)
        name = flags.signal_name(sig)
        fields = {"signal": name, "siginfo": info, "text": f"--- {name} {info} ---"}
        self._simple(t, "signal", fields, loop)

    def group_stop(self, t: Tracee, sig: int, loop: TraceLoop) -> None:
        name = flags.signal_name(sig)
        fields = {"signal": name, "stopped": True, "text": f"--- stopped by {name} ---"}
        self._simple(t, "signal", fields, loop)

    def exec(self, t: Tracee, loop: TraceLoop) -> None:
        try:
            filename: str | None = os.readlink(f"/proc/{t.tid}/exe")
        except OSError:
            filename = None
        self._simple(t, "exec", {"filename": filename, "text": ""}, loop)

    def exit(self, t: Tracee, status: int, loop: TraceLoop) -> None:
        if os.WIFSIGNALED(status):
            sig = flags.signal_name(os.WTERMSIG(status))
            core = " (core dumped)" if os.WCOREDUMP(status) else ""
            fields: dict[str, Any] = {"code": None, "signal": sig}
            fields["text"] = f"+++ killed by {sig}{core} +++"
        else:
            code = os.WEXITSTATUS(status)
            fields = {"code": code, "signal": None, "text": f"+++ exited with {code} +++"}
        self._simple(t, "exit", fields, loop)

    def _simple(self, t: Tracee, name: str, fields: dict[str, Any], loop: TraceLoop) -> None:
        import time

        loop.add_event(
            WireEvent(time.monotonic_ns(), None, t.pid, t.tid, self._comm(t), name, fields)
        )
