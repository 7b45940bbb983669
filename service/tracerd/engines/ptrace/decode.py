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
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ...types import WireEvent
from . import argtypes, calls, fdpaths, flags, opstructs, plans, sockets, structs
from . import tracer as pt
from .plans import Fetch, Plan

if TYPE_CHECKING:
    from .reader import Tracee, TraceLoop

_EMPTY: dict[int, object] = {}
_FD_FETCHES = frozenset({"fdpath", "fdret", "fdpair", "fdpoll"})


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


siginfo_text = structs.siginfo_text


def _iovec_pairs(tid: int, addr: int, count: int) -> list[tuple[int, int]] | None:
    """The tracee's array of `count` iovecs (up to 1024) as (iov_base, iov_len) pairs;
    None when it is not all readable."""
    count = min(max(count, 0), 1024)
    raw = pt.read_memory(tid, addr, count * 16)
    return list(struct.iter_unpack("=QQ", raw)) if len(raw) == count * 16 else None


class EventBuilder:
    """Fetches tracee data for plans and builds the session's events."""

    def __init__(
        self, plans: dict[int, Plan], string_limit: int, paths: frozenset[str] = frozenset()
    ) -> None:
        self.plans = plans
        self.string_limit = string_limit
        self.paths = paths
        """-P: the paths a shown call must touch (empty: all calls are shown)"""
        self.sockets: dict[int, str] = {}
        """-yy: socket details by inode (fdpaths.fd_name)"""

    def touches(self, tid: int, plan: Plan | None, fetched: dict[int, object] | None) -> bool:
        """-P at a call's entry: does it name one of the traced paths (strace's rules)?"""
        if plan is None:
            return False
        fetched = fetched or _EMPTY
        if plan.name in fdpaths.POLL_CALLS:
            raw = fetched.get(0)
            fds = (
                [fd for (fd,) in struct.iter_unpack("=i4x", raw)] if isinstance(raw, bytes) else []
            )
            return fdpaths.fds_match(tid, fds, self.paths)
        if plan.name in fdpaths.SELECT_CALLS:
            sets = [v for k in (1, 2, 3) if isinstance(v := fetched.get(k), bytes)]
            bits = {i for raw in sets for i in range(len(raw) * 8) if raw[i // 8] >> (i % 8) & 1}
            return fdpaths.fds_match(tid, sorted(bits), self.paths)
        return fdpaths.path_matches(plan.touches, fetched, self.paths)

    # -- stop path --------------------------------------------------------------------------

    def fetch(
        self, tid: int, fetches: Sequence[Fetch], args: Sequence[int], ret: int
    ) -> dict[int, object]:
        out: dict[int, object] = {}
        for index, what, param in fetches:
            addr = args[index]
            if what in _FD_FETCHES:
                self._fetch_fd(tid, index, what, param, args, ret, out)
                continue
            if not addr:
                continue
            if what == "str":
                text = pt.read_string_at(tid, addr, param)
                if text is not None:
                    out[index] = text
            elif what == "buf":
                total = args[param]
                data = pt.read_memory(tid, addr, min(total, self.string_limit))
                if data or not total:  # nothing readable: strace shows the address
                    out[index] = (data, total)
            elif what == "obuf":  # what the call wrote: never more than the buffer's size
                wrote = min(max(ret, 0), self.string_limit)
                if index + 1 < len(args):
                    wrote = min(wrote, args[index + 1])
                out[index] = pt.read_memory(tid, addr, wrote)
            elif what == "struct":
                out[index] = pt.read_memory(tid, addr, param) or None
            elif what == "sockaddr":
                out[index] = pt.read_memory(tid, addr, min(args[param], 128)) or None
            elif what == "osockaddr":  # as long as the length the kernel wrote back
                size = _u32(pt.read_memory(tid, args[param], 4))
                out[index] = pt.read_memory(tid, addr, min(size or 0, 128)) or None
            elif what in ("optval", "ooptval"):  # setsockopt's length, getsockopt's written one
                size = args[4] if what == "optval" else _u32(pt.read_memory(tid, args[4], 4))
                size = argtypes.s32(size or 0)
                read = min(size, max(self.string_limit, sockets.OPTVAL_MIN))
                data = pt.read_memory(tid, addr, read) if read > 0 else b""
                out[index] = (data, min(size, self.string_limit))
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
            else:
                self._fetch_more(tid, index, what, param, args, ret, out)
        return out

    def _fetch_fd(
        self,
        tid: int,
        index: int,
        what: str,
        level: int,
        args: Sequence[int],
        ret: int,
        out: dict[int, object],
    ) -> None:
        """Descriptor names: an argument's at entry, a returned one or a pair at exit."""
        if what == "fdpath":
            name = fdpaths.fd_name(tid, argtypes.s32(args[index]), level, self.sockets)
            if name is not None:
                out[(fdpaths.FD_KEY if level else fdpaths.FD_QUIET_KEY) + index] = name
        elif what == "fdret":
            if index == 1 and args[1] & 0xFFFFFFFF not in fdpaths.FCNTL_DUPFD:
                return  # fcntl: only F_DUPFD/F_DUPFD_CLOEXEC return a descriptor
            name = fdpaths.fd_name(tid, ret, level, self.sockets)
            if name is not None:
                out[fdpaths.FD_RET_KEY] = name
        elif what == "fdpoll":  # poll's pollfd array: each fd's name, as -y shows it
            count = min(args[1] & 0xFFFFFFFF, 1024)
            raw = pt.read_memory(tid, args[0], 8 * count) if args[0] else b""
            polled = [fd for (fd,) in struct.iter_unpack("=i4x", raw[: len(raw) // 8 * 8])]
            out[fdpaths.FD_KEY] = tuple(
                fdpaths.fd_name(tid, fd, level, self.sockets) for fd in polled
            )
        elif what == "fdpair":
            raw = pt.read_memory(tid, args[index], 8)
            if len(raw) == 8:
                out[index] = raw
                fds = struct.unpack("=ii", raw)
                names = tuple(fdpaths.fd_name(tid, fd, level, self.sockets) for fd in fds)
                out[fdpaths.FD_KEY + index] = names

    def _fetch_more(
        self,
        tid: int,
        index: int,
        what: str,
        param: int,
        args: Sequence[int],
        ret: int,
        out: dict[int, object],
    ) -> None:
        """The fetches of plans.ARRAYS, iovecs, fd sets and the op-dependent ones."""
        addr = args[index]
        key = index + plans.AGAIN_KEY if param & plans.AGAIN else index
        if what == "arr":
            count_at = param & 7
            count = ret if count_at == 7 else args[count_at]
            size = (param >> 8) * min(max(count, 0), 4096)
            out[key] = pt.read_memory(tid, addr, size) if size else b""
        elif what == "again":
            out[index + plans.AGAIN_KEY] = pt.read_memory(tid, addr, param)
        elif what == "fdset":
            nfds = min(max(argtypes.s32(args[0]), 0), 1024)
            out[key] = pt.read_memory(tid, addr, (nfds + 63) // 64 * 8)
        elif what in ("iov", "oiov"):
            out[index] = self._iovec(tid, addr, args[param], ret if what == "oiov" else -1)
        elif what == "riov":  # another process's iovecs: their (base, length) pairs only
            out[index] = _iovec_pairs(tid, addr, args[param])
        elif what in ("msghdr", "omsghdr"):
            out[index] = self._msghdr(tid, addr, ret if what == "omsghdr" else -1)
        elif what == "mmsghdr":  # at exit: the `ret` messages sent or received
            out[index] = [
                (self._msghdr(tid, at, length), length)
                for at, length in self._mmsg_lengths(tid, addr, ret)
            ]
        elif what == "pselect_sig":
            raw = pt.read_memory(tid, addr, 16)
            if len(raw) == 16:
                mask_at, size = struct.unpack("=QQ", raw)
                out[index] = (pt.read_memory(tid, mask_at, 8) if mask_at else None, size)
        elif what == "flock" and args[1] & 0xFFFFFFFF in calls.FCNTL_LOCKS:
            out[key] = pt.read_memory(tid, addr, 32)
        elif what == "flock" and args[1] & 0xFFFFFFFF in calls.FCNTL_OWNER_EX:
            out[key] = pt.read_memory(tid, addr, 8)
        elif (
            what == "ioctl_int" and args[1] & 0xFFFFFFFF in calls.IOCTL_INT_OUT | calls.IOCTL_INT_IN
        ):
            out[key] = pt.read_memory(tid, addr, calls.IOCTL_SIZES.get(args[1] & 0xFFFFFFFF, 4))
        elif what == "prctl":
            option = args[0] & 0xFFFFFFFF
            if (option == calls.PR_SET_NAME and not param & plans.AGAIN) or (
                option == calls.PR_GET_NAME and param & plans.AGAIN
            ):
                out[key] = pt.read_string(tid, addr, 16)
            elif option in calls.PRCTL_INT_OUT and param & plans.AGAIN:
                out[key] = pt.read_memory(tid, addr, 4)
        elif what == "shmctl":
            cmd = opstructs.shm_cmd(args[1])
            sizes = opstructs.SHM_EXIT_SIZES if param & plans.AGAIN else opstructs.SHM_ENTRY_SIZES
            if cmd in sizes:
                out[key] = pt.read_memory(tid, addr, sizes[cmd])
        elif what == "keyctl":
            self._keyctl(tid, args, ret, bool(param & plans.AGAIN), out)
        elif what == "mincore":
            pages = opstructs.mincore_pages(args[1])
            out[index] = (pt.read_memory(tid, addr, min(pages, self.string_limit)), pages)
        elif what == "msgbuf":
            size = min(args[param], self.string_limit)
            out[index] = pt.read_memory(tid, addr, 8 + size)

    def _keyctl(
        self, tid: int, args: Sequence[int], ret: int, at_exit: bool, out: dict[int, object]
    ) -> None:
        """keyctl's op-dependent strings and buffers (opstructs.keyctl_args shows them)."""
        op, limit = args[0] & 0xFFFFFFFF, self.string_limit
        if at_exit and op in opstructs.KEYCTL_OUT_BUF and args[2] and ret > 0:
            size = min(ret, args[3] & 0xFFFFFFFF, limit)
            out[plans.AGAIN_KEY + 2] = pt.read_memory(tid, args[2], size)
        elif at_exit:
            return
        elif op == 1 and args[1]:
            out[1] = pt.read_string(tid, args[1], limit)
        elif op == 2 and args[2]:
            total = args[3] & 0xFFFFFFFF
            out[2] = (pt.read_memory(tid, args[2], min(total, limit)), total)
        elif op == 10:
            for i in (2, 3):
                if args[i]:
                    out[i] = pt.read_string(tid, args[i], limit)

    @staticmethod
    def _mmsg_lengths(tid: int, addr: int, count: int) -> list[tuple[int, int]]:
        raw = pt.read_memory(tid, addr, 64 * min(max(count, 0), 64))
        return [
            (addr + i, struct.unpack_from("=I", raw, i + 56)[0])
            for i in range(0, len(raw) - 63, 64)
        ]

    def _msghdr(self, tid: int, addr: int, ret: int) -> tuple[object, ...] | None:
        """(header bytes, name bytes, iovecs, control bytes) of a struct msghdr."""
        head = pt.read_memory(tid, addr, 56)
        if len(head) < 56:
            return None
        name_at, namelen, iov_at, iovlen, control_at, controllen = struct.unpack_from(
            "=QI4xQQQQ", head
        )
        name = pt.read_memory(tid, name_at, min(namelen, 128)) if name_at and namelen else None
        iov = self._iovec(tid, iov_at, iovlen, ret)
        control = pt.read_memory(tid, control_at, min(controllen, 4096)) if control_at else None
        return head, name, iov, control

    def _iovec(
        self, tid: int, addr: int, count: int, ret: int
    ) -> list[tuple[bytes, int, bool]] | None:
        """(data, iov_len, cut) per iovec; at exit (`ret` >= 0) only the bytes transferred."""
        pairs = _iovec_pairs(tid, addr, count)
        if pairs is None:
            return None
        items = []
        left = ret
        for base, length in pairs:
            want = length if ret < 0 else min(length, max(left, 0))
            left -= length
            data = pt.read_memory(tid, base, min(want, self.string_limit)) if want else b""
            items.append((data, length, len(data) < want))
        return items

    def _parent_tid(self, tid: int, addr: int, out: dict[int, object]) -> None:
        head = pt.read_memory(tid, addr, 32)  # struct clone_args: flags .. parent_tid
        if len(head) == 32:
            flags_, pidfd, _ctid, ptid = struct.unpack("=4Q", head)
            value = pt.read_memory(tid, ptid, 4) if flags_ & 0x00100000 and ptid else b""
            if len(value) == 4:
                out[plans.PTID_KEY] = struct.unpack("=i", value)[0]
            value = pt.read_memory(tid, pidfd, 4) if flags_ & 0x1000 and pidfd else b""
            if len(value) == 4:  # CLONE_PIDFD
                out[plans.PIDFD_KEY] = struct.unpack("=i", value)[0]

    def _argv(self, tid: int, addr: int) -> tuple[list[tuple[bytes, bool]], bool]:
        raw = pt.read_memory(tid, addr, (plans.ARGV_MAX + 1) * 8)
        items: list[tuple[bytes, bool]] = []
        for (ptr,) in struct.iter_unpack("=Q", raw[: len(raw) // 8 * 8]):
            if ptr == 0:
                return items, False
            if len(items) == plans.ARGV_MAX:
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
        nr, args, ts, entry_fetched = call[:4]
        plan = self.plans.get(nr)
        name = plan.name if plan is not None else f"syscall_{nr:#x}"
        nargs = len(plan.kinds) if plan is not None else 6
        if exit_fetched:
            fetched = {**entry_fetched, **exit_fetched} if entry_fetched else exit_fetched
        else:
            fetched = entry_fetched or _EMPTY
        ok = rval is not None and not is_error
        if plans.RESUMED_NR_KEY in fetched:  # restart_syscall
            shown = [self._resuming(fetched)]
        elif plan is not None:
            shown = plans.render_args(plan, args, fetched, ok, rval or 0)
        else:  # a number this table does not know: strace shows `syscall_0x1d5(0x1, ...)`
            shown = [hex(a) if a else "0" for a in args]
        op = args[1] if name == "fcntl" else args[0] if name in ("membarrier", "prctl") else -1
        ret_text = plans.render_return(name, rval, is_error, op)
        if ok and rval is not None:
            ret_text += fdpaths.suffix(fetched, fdpaths.FD_RET_KEY)
            ret_text += calls.return_note(name, args, fetched, rval)
        errno_name = plans.errno_of(rval, is_error) if is_error else None
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
            split = self._split(plan, len(shown))
            head = ", ".join(shown[:split]) + (", " if split < len(shown) else "")
            fields["resumed"] = True
            fields["entry_text"] = f"{name}({head}"
            fields["resumed_text"] = f"<... {name} resumed>{', '.join(shown[split:])}) = {ret_text}"
            if len(call) > 4:
                fields["announced"] = True  # its entry half went out as an `unfinished` event
        loop.add_event(
            WireEvent(
                ts, None, t.pid, t.tid, self._comm(t), name, fields, now - ts, rval, errno_name
            )
        )

    @staticmethod
    def _split(plan: Plan | None, count: int) -> int:
        """Where strace cuts a call's arguments at `<unfinished ...>`: before the first one
        the kernel writes (what is read at exit)."""
        if plan is None:
            return 0
        outputs = [f[0] for f in plan.exit if f[1] != "ptid" and f[0] < count]
        return min(outputs, default=count)

    def unfinished(
        self, t: Tracee, call: list[Any], tail: str | None = None, resumed: bool = False
    ) -> WireEvent:
        """The entry half of a call another tracee's event interrupts: `read(3, ` (ended
        by `<unfinished ...>`, or by `tail`: `<detached ...>`, `<pid changed to N ...>`);
        `resumed`: its entry went out already, this is `<... read resumed> TAIL`."""
        nr, args, ts, entry_fetched = call[:4]
        plan = self.plans.get(nr)
        name = plan.name if plan is not None else f"syscall_{nr:#x}"
        if entry_fetched and plans.RESUMED_NR_KEY in entry_fetched:  # restart_syscall
            head = self._resuming(entry_fetched)  # strace: `restart_syscall(<... ...> <detached`
        else:
            if plan is not None:
                shown = plans.render_args(plan, args, entry_fetched or _EMPTY, False, 0)
            else:
                shown = [hex(a) if a else "0" for a in args]
            split = self._split(plan, len(shown))
            head = ", ".join(shown[:split]) + (", " if split < len(shown) else "")
        fields: dict[str, Any] = {"unfinished": True, "text": f"{name}({head}"}
        if resumed:
            fields["text"] = f"<... {name} resumed>"
        if tail is not None:
            fields["tail"] = tail
        return WireEvent(ts, None, t.pid, t.tid, self._comm(t), name, fields)

    def _resuming(self, fetched: Mapping[Any, Any]) -> str:
        """restart_syscall's one argument as strace shows it: the call it resumes."""
        prev = self.plans.get(cast(int, fetched[plans.RESUMED_NR_KEY]))
        return f"<... resuming interrupted {prev.name if prev else 'system call'} ...>"

    def superseded(self, t: Tracee, former: int, loop: TraceLoop) -> None:
        """`+++ superseded by execve in pid FORMER +++`: the exec'ing thread `former` is now
        the process's leader `t` (its own tid ends here)."""
        text = f"+++ superseded by execve in pid {former} +++"
        self._simple(t, "superseded", {"former": former, "text": text}, loop)

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
