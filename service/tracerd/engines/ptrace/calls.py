"""Per-call rules of strace's rendering that depend on other arguments or on the result:
array and iovec arguments, the arguments each op shows (prctl, kcmp, ioctl, mknod, fcntl
locks), and return annotations (`= 1 ([{fd=3, revents=POLLIN}])`, `= 0 (Timeout)`).

Pure: registers and fetched tracee bytes in, strings out. plans.py dispatches here through
FETCHED_KINDS (kind -> renderer of its fetched value), ARG_KINDS (kind -> renderer that
also needs the other arguments), ARG_HOOKS (call -> final rewrite of its argument list) and
RETURN_NOTES (call -> annotation after the return value).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from . import argtypes, flags, opstructs, structs

AGAIN_KEY = 100
"""fetched key offset of a value read again at exit (parse.AGAIN_KEY)"""
FCNTL_LOCKS = frozenset({5, 6, 7, 36, 37, 38})
FCNTL_OWNER_EX = frozenset({15, 16})
"""F_SETOWN_EX, F_GETOWN_EX: a struct f_owner_ex"""
OWNER_TYPES = {0: "F_OWNER_TID", 1: "F_OWNER_PID", 2: "F_OWNER_PGRP"}
LEASES = {0: "F_RDLCK", 1: "F_WRLCK", 2: "F_UNLCK"}
DN_FLAGS = (
    (1, "DN_ACCESS"), (2, "DN_MODIFY"), (4, "DN_CREATE"), (8, "DN_DELETE"), (0x10, "DN_RENAME"),
    (0x20, "DN_ATTRIB"), (0x80000000, "DN_MULTISHOT"),
)  # fmt: skip
"""F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW"""
FCNTL_GETLK = frozenset({5, 36})
IOCTL_INT_OUT = frozenset({0x541B, 0x80045430, 0x540F, 0x5429, 0x5413})
"""FIONREAD, TIOCGPTN, TIOCGPGRP, TIOCGSID: `[int]` at exit; TIOCGWINSZ: a winsize"""
IOCTL_INT_IN = frozenset({0x5421, 0x5452, 0x40045431, 0x5410, 0x5414})
"""FIONBIO, FIOASYNC, TIOCSPTLCK, TIOCSPGRP: `[int]` at entry; TIOCSWINSZ: a winsize"""
IOCTL_WINSIZE = frozenset({0x5413, 0x5414})
IOCTL_SIZES = {0x5413: 8, 0x5414: 8}
"""bytes read at a request's argument when not an int"""
_IOC_DIRS = {0: "_IOC_NONE", 1: "_IOC_WRITE", 2: "_IOC_READ", 3: "_IOC_READ|_IOC_WRITE"}


def ioctl_request(value: int) -> str:
    """A request's name, else strace's `_IOC(_IOC_READ, 0x78, 0x3, 0x4)` decomposition."""
    value &= 0xFFFFFFFF
    name = flags.IOCTLS.get(value)
    if name is not None:
        return name
    size, kind, nr = (value >> 16) & 0x3FFF, (value >> 8) & 0xFF, value & 0xFF
    fields = ", ".join(f"{v:#x}" if v else "0" for v in (kind, nr, size))  # C's %#x
    return f"_IOC({_IOC_DIRS[value >> 30]}, {fields})"


IOCTL_NO_ARG = frozenset({0x5450, 0x5451, 0x540E, 0x5422})  # FIONCLEX, FIOCLEX, TIOCSCTTY..
PR_SET_NAME, PR_GET_NAME, PR_GET_PDEATHSIG = 15, 16, 2
_PRCTL_NO_ARGS = frozenset({3, 7, 13, 21, 25, 27, 30, 31, 32, 40})
"""options strace prints without arguments (PR_GET_DUMPABLE, PR_GET_TIMERSLACK, ...)"""
_PRCTL_ONE_ARG = frozenset({8, 14, 24, 28, 29, 36, 4, 23})
_PRCTL_ALL_ARGS = frozenset({38, 39, 22, 35, 41, 53, 42, 34})
PR_GET_CHILD_SUBREAPER, PR_CAP_AMBIENT, PR_GET_SPECULATION_CTRL = 37, 47, 52
PRCTL_INT_OUT = frozenset({PR_GET_PDEATHSIG, PR_GET_CHILD_SUBREAPER})
"""options whose second argument is an int the call writes"""
CAP_AMBIENT_OPS = {1: "PR_CAP_AMBIENT_IS_SET", 2: "PR_CAP_AMBIENT_RAISE", 3: "PR_CAP_AMBIENT_LOWER",
                   4: "PR_CAP_AMBIENT_CLEAR_ALL"}  # fmt: skip
SPEC_WHICH = {0: "PR_SPEC_STORE_BYPASS", 1: "PR_SPEC_INDIRECT_BRANCH", 2: "PR_SPEC_L1D_FLUSH"}
SPEC_FLAGS: flags.Table = (
    (1, "PR_SPEC_PRCTL"), (2, "PR_SPEC_ENABLE"), (4, "PR_SPEC_DISABLE"),
    (8, "PR_SPEC_FORCE_DISABLE"), (16, "PR_SPEC_DISABLE_NOEXEC"),
)  # fmt: skip
MCE_KILL = {0: "PR_MCE_KILL_CLEAR", 1: "PR_MCE_KILL_SET", 2: "PR_MCE_KILL_DEFAULT"}
SUID_DUMP = {0: "SUID_DUMP_DISABLE", 1: "SUID_DUMP_USER", 2: "SUID_DUMP_ROOT"}
CAPS = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]
SCHED_POLICIES = argtypes.ENUMS["sched_policy"]


def ipc_get_flags(value: int) -> str:
    """shmget/semget/msgget's flags: `IPC_CREAT|IPC_EXCL|0600`."""
    value &= 0xFFFFFFFF
    names = flags.bits(value & ~0o777, argtypes.FLAGS["ipc_flags"][0], "", comment=False)
    mode = f"0{value & 0o777:o}" if value & 0o777 else "000"
    return f"{names}|{mode}" if names else mode


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else b""


def _iov(value: object, arg: int, ok: bool, ret: int, limit_to_ret: bool) -> str:
    if not isinstance(value, list):
        return structs.pointer(arg)
    left = ret if limit_to_ret else -1
    items = []
    for data, length, cut in value:
        if limit_to_ret:  # cut: fewer bytes shown than the call moved into this iovec
            moved = min(length, max(left, 0))
            data = data[:moved]
            left -= length
            cut = len(data) < moved
        items.append(f"{{iov_base={structs.quote(data, cut=cut)}, iov_len={length}}}")
    return "[" + ", ".join(items) + "]"


def _remote_iov(value: object, arg: int) -> str:
    """Iovecs of another process (process_vm_readv/writev's remote_iov): their addresses."""
    if not isinstance(value, list):
        return structs.pointer(arg)
    items = (f"{{iov_base={structs.pointer(base)}, iov_len={length}}}" for base, length in value)
    return "[" + ", ".join(items) + "]"


def _sigset_ptr(value: object, arg: int, ok: bool, ret: int) -> str:
    return structs.sigset_bytes(_bytes(value)) or structs.pointer(arg)


def _pselect_sig(value: object, arg: int, ok: bool, ret: int) -> str:
    if not isinstance(value, tuple):
        return structs.pointer(arg)
    mask, size = cast(tuple[bytes | None, int], value)
    shown = structs.sigset_bytes(mask) if mask else "NULL"
    return f"{{sigmask={shown}, sigsetsize={size}}}"


SCM_TYPES = {1: "SCM_RIGHTS", 2: "SCM_CREDENTIALS"}


def _cmsgs(data: bytes) -> str:
    items, at = [], 0
    while at + 16 <= len(data):
        length, level, kind = struct.unpack_from("=Qii", data, at)
        if length < 16:
            break
        body = data[at + 16 : at + length]
        level_name = "SOL_SOCKET" if level == 1 else str(level)
        kind_name = SCM_TYPES.get(kind, str(kind)) if level == 1 else str(kind)
        if level == 1 and kind == 1:
            shown = structs.int_array(body)
        elif level == 1 and kind == 2 and len(body) >= 12:
            pid, uid, gid = struct.unpack_from("=iII", body)
            shown = f"{{pid={pid}, uid={uid}, gid={gid}}}"
        elif level == 1 and kind == 2:  # a cut ucred: strace leaves the data out
            shown = ""
        else:
            shown = structs.quote(body)
        data_part = f", cmsg_data={shown}" if shown else ""
        items.append(
            f"{{cmsg_len={length}, cmsg_level={level_name}, cmsg_type={kind_name}{data_part}}}"
        )
        at += (length + 7) & ~7
    return "[" + ", ".join(items) + "]"


MSG_FLAGS = argtypes.FORMATTERS["msg_flags"]


def msghdr_text(value: object, ret: int, limit_to_ret: bool) -> str | None:
    """struct msghdr as strace prints it (name, iovecs, control messages, flags)."""
    if not isinstance(value, tuple):
        return None
    head, name, iov, control = value
    name_at, namelen, iov_at, iovlen, control_at, controllen, msg_flags = struct.unpack_from(
        "=QI4xQQQQi", head
    )
    shown_name = structs.sockaddr(name) if name else None
    parts = [
        f"msg_name={shown_name or structs.pointer(name_at)}",
        f"msg_namelen={namelen}",
        f"msg_iov={_iov(iov, iov_at, True, ret, limit_to_ret)}",
        f"msg_iovlen={iovlen}",
    ]
    if controllen and control:
        parts.append(f"msg_control={_cmsgs(control)}")
    elif controllen:
        parts.append(f"msg_control={structs.pointer(control_at)}")
    parts.append(f"msg_controllen={controllen}")
    parts.append(f"msg_flags={MSG_FLAGS(msg_flags)}")
    return "{" + ", ".join(parts) + "}"


def mmsghdrs_text(value: object, arg: int, ok: bool) -> str:
    """struct mmsghdr[]: `[{msg_hdr={...}, msg_len=2}, ...]` (msg_len as the kernel set it)."""
    if not isinstance(value, list) or not ok:
        return structs.pointer(arg)
    items = []
    for hdr, msg_len in value:
        text = msghdr_text(hdr, msg_len, True)
        items.append(f"{{msg_hdr={text}, msg_len={msg_len}}}")
    return "[" + ", ".join(items) + "]"


FETCHED_KINDS: dict[str, Callable[[object, int, bool, int], str]] = {
    "mmsghdr": lambda v, a, ok, r: mmsghdrs_text(v, a, ok),
    "msghdr": lambda v, a, ok, r: msghdr_text(v, r, False) or structs.pointer(a),
    "omsghdr": lambda v, a, ok, r: (msghdr_text(v, r, True) if ok else None) or structs.pointer(a),
    "pollfd": lambda v, a, ok, r: structs.pollfds(_bytes(v)),
    "epoll_out": lambda v, a, ok, r: structs.epoll_events(_bytes(v)) if ok else structs.pointer(a),
    "sembuf": lambda v, a, ok, r: structs.sembufs(_bytes(v)),
    "gids": lambda v, a, ok, r: structs.int_array(_bytes(v), "=I") if ok else structs.pointer(a),
    "cpumask": lambda v, a, ok, r: structs.cpu_mask(_bytes(v)) if ok else structs.pointer(a),
    "icpumask": lambda v, a, ok, r: structs.cpu_mask(_bytes(v)),
    "sigset_ptr": _sigset_ptr,
    "pselect_sig": _pselect_sig,
    "iov": lambda v, a, ok, r: _iov(v, a, ok, r, False),
    "oiov": lambda v, a, ok, r: _iov(v, a, ok, r, True) if ok else structs.pointer(a),
    "riov": lambda v, a, ok, r: _remote_iov(v, a),
    "mincore_vec": opstructs.mincore_vec,
}


def _fdset(args: Sequence[int], i: int, fetched: Mapping[int, object], ok: bool, ret: int) -> str:
    value = fetched.get(i)
    if not isinstance(value, bytes):
        return structs.pointer(args[i])
    return structs.fd_set(value, argtypes.s32(args[0]))


def _loff_io(args: Sequence[int], i: int, fetched: Mapping[int, object], ok: bool, ret: int) -> str:
    """sendfile's offset: `[0] => [7]`."""
    before = structs.loff(_bytes(fetched.get(i)))
    if before is None:
        return structs.pointer(args[i])
    after = structs.loff(_bytes(fetched.get(AGAIN_KEY + i))) if ok else None
    return f"{before} => {after}" if after is not None and after != before else before


ARG_KINDS: dict[str, Callable[[Sequence[int], int, Mapping[int, object], bool, int], str]] = {
    "fdset": _fdset,
    "loff_io": _loff_io,
    "uring_params": opstructs.uring_params,
}


def flock_arg(cmd: int, fetched: Mapping[int, object], ok: bool, arg: int) -> str:
    if cmd in FCNTL_GETLK and ok:
        shown = structs.flock(_bytes(fetched.get(AGAIN_KEY + 2)), with_pid=True)
    else:
        shown = structs.flock(_bytes(fetched.get(2)))
    return shown or structs.pointer(arg)


def owner_ex_arg(cmd: int, fetched: Mapping[int, object], ok: bool, arg: int) -> str:
    """`{type=F_OWNER_PID, pid=N}`: F_SETOWN_EX's as passed, F_GETOWN_EX's as returned."""
    data = _bytes(fetched.get(AGAIN_KEY + 2 if cmd == 16 else 2))
    if len(data) < 8 or (cmd == 16 and not ok):
        return structs.pointer(arg)
    kind, pid = struct.unpack_from("=ii", data)
    return f"{{type={flags.enum(kind, OWNER_TYPES)}, pid={pid}}}"


def _int_at(value: object) -> int | None:
    data = _bytes(value)
    return struct.unpack_from("=i", data)[0] if len(data) >= 4 else None


def _ioctl(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    request = args[1] & 0xFFFFFFFF
    if request in IOCTL_NO_ARG:
        return out[:2]
    key = AGAIN_KEY + 2 if request in IOCTL_INT_OUT else 2
    if request in IOCTL_WINSIZE and (request in IOCTL_INT_IN or ok):
        data = _bytes(fetched.get(key))
        if len(data) >= 8:
            row, col, xpixel, ypixel = struct.unpack_from("=4H", data)
            size = f"ws_row={row}, ws_col={col}, ws_xpixel={xpixel}, ws_ypixel={ypixel}"
            return [*out[:2], f"{{{size}}}"]
    elif request in IOCTL_INT_OUT | IOCTL_INT_IN and (request in IOCTL_INT_IN or ok):
        value = _int_at(fetched.get(key))
        if value is not None:
            return [*out[:2], f"[{value}]"]
    if request not in flags.IOCTLS:  # strace: an unknown request's argument as a number
        return [*out[:2], hex(args[2]) if args[2] else "0"]
    return out


PTRACE_REQUESTS = {
    0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSER",
    4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSER", 7: "PTRACE_CONT",
    8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
    14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
    18: "PTRACE_GETFPXREGS", 19: "PTRACE_SETFPXREGS", 24: "PTRACE_SYSCALL",
    30: "PTRACE_ARCH_PRCTL", 31: "PTRACE_SYSEMU", 32: "PTRACE_SYSEMU_SINGLESTEP",
    0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG", 0x4202: "PTRACE_GETSIGINFO",
    0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET", 0x4205: "PTRACE_SETREGSET",
    0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT", 0x4208: "PTRACE_LISTEN",
    0x4209: "PTRACE_PEEKSIGINFO", 0x420A: "PTRACE_GETSIGMASK", 0x420B: "PTRACE_SETSIGMASK",
    0x420C: "PTRACE_SECCOMP_GET_FILTER", 0x420D: "PTRACE_SECCOMP_GET_METADATA",
    0x420E: "PTRACE_GET_SYSCALL_INFO",
}  # fmt: skip
PTRACE_OPTIONS = (
    (1, "PTRACE_O_TRACESYSGOOD"), (2, "PTRACE_O_TRACEFORK"), (4, "PTRACE_O_TRACEVFORK"),
    (8, "PTRACE_O_TRACECLONE"), (0x10, "PTRACE_O_TRACEEXEC"), (0x20, "PTRACE_O_TRACEVFORKDONE"),
    (0x40, "PTRACE_O_TRACEEXIT"), (0x80, "PTRACE_O_TRACESECCOMP"), (0x100000, "PTRACE_O_EXITKILL"),
    (0x200000, "PTRACE_O_SUSPEND_SECCOMP"),
)  # fmt: skip
_PTRACE_PID_ONLY = frozenset({8, 16, 0x4207, 0x4208})
"""KILL, ATTACH, INTERRUPT, LISTEN: the request and the pid"""
_PTRACE_PEEKS = frozenset({1, 2, 3})
_PTRACE_POKES = frozenset({4, 5, 6})
_PTRACE_SIGNAL_DATA = frozenset({7, 9, 17, 24, 31, 32})
"""CONT, SINGLESTEP, DETACH, SYSCALL, SYSEMU*: data is the signal to deliver"""
_PTRACE_OUT_DATA = frozenset({12, 14, 18, 0x4201, 0x4202, 0x4204, 0x4209, 0x420A, 0x420C,
                              0x420D, 0x420E})  # fmt: skip
"""requests whose data the kernel writes: strace shows it only once the call succeeded"""


def _ptrace(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    request = args[0] & 0xFFFFFFFFFFFFFFFF
    head = [flags.enum(request, PTRACE_REQUESTS) if request < 1 << 32 else hex(request)]
    if request == 0:  # PTRACE_TRACEME
        return head
    head.append(str(argtypes.s32(args[1])))
    if request in _PTRACE_PID_ONLY:
        return head
    addr, data = args[2], args[3]
    head.append(hex(addr) if request in _PTRACE_PEEKS | _PTRACE_POKES else structs.pointer(addr))
    if request in _PTRACE_SIGNAL_DATA:
        return [*head, flags.signal_name(data & 0xFFFFFFFF) if data else "0"]
    if request in (0x4200, 0x4206):  # SETOPTIONS, SEIZE
        return [*head, flags.bits(data & 0xFFFFFFFF, PTRACE_OPTIONS)]
    if request in _PTRACE_POKES:
        return [*head, hex(data) if data else "0"]
    if request in _PTRACE_OUT_DATA and not ok:
        return head
    return [*head, structs.pointer(data)]


def _cap_name(cap: int) -> str:
    return CAPS[cap] if cap < len(CAPS) else f"{cap:#x} /* CAP_??? */"


def _prctl_note(args: Sequence[int], rval: int) -> str:
    option = args[0] & 0xFFFFFFFF
    if option == 3 and rval in SUID_DUMP:  # PR_GET_DUMPABLE
        return f" ({SUID_DUMP[rval]})"
    if option == 34 and rval in MCE_KILL:  # PR_MCE_KILL_GET
        return f" ({MCE_KILL[rval]})"
    if option == PR_GET_SPECULATION_CTRL and rval > 0:
        return f" ({flags.bits(rval, SPEC_FLAGS)})"
    return ""


def _prctl(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    option = args[0] & 0xFFFFFFFF
    head = out[0]
    if option in _PRCTL_NO_ARGS:
        return [head]
    if option == 1:  # PR_SET_PDEATHSIG
        return [head, flags.signal_name(args[1] & 0xFFFFFFFF) if args[1] else "0"]
    if option in PRCTL_INT_OUT:
        value = _int_at(fetched.get(AGAIN_KEY + 1)) if ok else None
        if value is None:
            return [head, structs.pointer(args[1])]
        named = option == PR_GET_PDEATHSIG and value
        return [head, f"[{flags.signal_name(value) if named else value}]"]
    if option == PR_CAP_AMBIENT:
        op, cap = args[1] & 0xFFFFFFFF, args[2] & 0xFFFFFFFF
        shown_cap = _cap_name(cap) if op in (1, 2, 3) else str(args[2] & 0xFFFFFFFFFFFFFFFF)
        rest = [str(a & 0xFFFFFFFFFFFFFFFF) for a in args[3:5]]
        return [head, flags.enum(op, CAP_AMBIENT_OPS), shown_cap, *rest]
    if option == PR_GET_SPECULATION_CTRL:
        return [head, flags.enum(args[1] & 0xFFFFFFFF, SPEC_WHICH)]
    if option in (PR_SET_NAME, PR_GET_NAME):
        text = fetched.get(AGAIN_KEY + 1 if option == PR_GET_NAME else 1)
        if option == PR_GET_NAME and not ok:
            text = None
        if isinstance(text, tuple):
            data, complete = cast(tuple[bytes, bool], text)
            if len(data) > 15:  # strace: at most TASK_COMM_LEN - 1 characters
                data, complete = data[:15], False
            return [head, structs.quote(data, cut=not complete)]
        return [head, structs.pointer(args[1])]
    if option == 4:  # PR_SET_DUMPABLE
        return [head, SUID_DUMP.get(args[1] & 0xFFFFFFFF, str(args[1] & 0xFFFFFFFF))]
    if option in (23, 24):  # PR_CAPBSET_READ/DROP
        return [head, _cap_name(args[1] & 0xFFFFFFFF)]
    if option in _PRCTL_ONE_ARG:
        return [head, str(args[1] & 0xFFFFFFFFFFFFFFFF)]
    if option in _PRCTL_ALL_ARGS:
        return [head, *(str(a & 0xFFFFFFFFFFFFFFFF) for a in args[1:5])]
    return [head, *(hex(a) if a else "0" for a in args[1:5])]


def _kcmp(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    kind = args[2] & 0xFFFFFFFF
    if kind == 0:  # KCMP_FILE: both fds
        return [*out[:3], str(argtypes.s32(args[3])), str(argtypes.s32(args[4]))]
    if kind == 7:  # KCMP_EPOLL_TFD
        return out
    return out[:3]


def _mknod(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    mode_at = len(out) - 2
    kind = args[mode_at] & 0o170000
    if kind in (0o020000, 0o060000):
        dev = args[mode_at + 1]
        major = (dev >> 8) & 0xFFF | (dev >> 32) & ~0xFFF
        minor = dev & 0xFF | (dev >> 12) & ~0xFF
        return [*out[:-1], f"makedev({major:#x}, {minor:#x})"]
    return out[:-1]


def _msgbuf(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    data = _bytes(fetched.get(1))
    if len(data) < 8:
        return out
    mtype = struct.unpack_from("=q", data)[0]
    return [out[0], f"{{mtype={mtype}, mtext={structs.quote(data[8:])}}}", *out[2:]]


def _msgrcv(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    return _msgbuf(args, out, fetched, ok, ret) if ok else out


def _mremap(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    return out if args[3] & 2 else out[:4]  # new_address only with MREMAP_FIXED


ARG_HOOKS: dict[
    str, Callable[[Sequence[int], list[str], Mapping[int, object], bool, int], list[str]]
] = {
    "ioctl": _ioctl,
    "ptrace": _ptrace,
    "prctl": _prctl,
    "kcmp": _kcmp,
    "mknod": _mknod,
    "mknodat": _mknod,
    "msgsnd": _msgbuf,
    "msgrcv": _msgrcv,
    "mremap": _mremap,
    "keyctl": opstructs.keyctl_args,
    "shmctl": opstructs.shmctl_args,
    "capget": opstructs.cap_args(CAPS),
    "capset": opstructs.cap_args(CAPS),
}
structs.STRUCT_SIZES.update(cap_header=8, cap_data=24)
structs.RENDERERS.update(
    cap_header=opstructs.cap_header,
    cap_data=lambda data: opstructs.cap_data(data, 0x20080522, CAPS),
)


def _poll_note(args: Sequence[int], fetched: Mapping[int, object], rval: int) -> str:
    if rval == 0:
        return " (Timeout)"
    shown = structs.pollfds(_bytes(fetched.get(AGAIN_KEY)), "revents", only_set=True)
    left = fetched.get(AGAIN_KEY + 2)
    tail = f", left {structs.timespec(left)}" if isinstance(left, bytes) and len(left) >= 16 else ""
    return f" ({shown}{tail})"


def _select_note(args: Sequence[int], fetched: Mapping[int, object], rval: int) -> str:
    if rval == 0:
        return " (Timeout)"
    nfds = argtypes.s32(args[0])
    parts = []
    for i, label in ((1, "in"), (2, "out"), (3, "except")):
        value = fetched.get(AGAIN_KEY + i)
        if isinstance(value, bytes):
            shown = structs.fd_set(value, nfds)
            if shown != "[]":
                parts.append(f"{label} {shown}")
    left = fetched.get(AGAIN_KEY + 4)
    if isinstance(left, bytes) and len(left) >= 16:
        parts.append(f"left {structs.timespec(left) if args[5:] else structs.timeval(left)}")
    return f" ({', '.join(parts)})" if parts else ""


def _pselect_note(args: Sequence[int], fetched: Mapping[int, object], rval: int) -> str:
    return _select_note([*args[:5], 1], fetched, rval)


def _select_plain_note(args: Sequence[int], fetched: Mapping[int, object], rval: int) -> str:
    return _select_note(args[:5], fetched, rval)


RETURN_NOTES: dict[str, Callable[[Sequence[int], Mapping[int, object], int], str]] = {
    "poll": _poll_note,
    "ppoll": _poll_note,
    "select": _select_plain_note,
    "pselect6": _pselect_note,
    "sched_getscheduler": lambda a, f, r: f" ({SCHED_POLICIES[r]})" if r in SCHED_POLICIES else "",
    "prctl": lambda a, f, r: _prctl_note(a, r),
    "rt_sigtimedwait": lambda a, f, r: f" ({flags.signal_name(r)})" if r > 0 else "",
    "time": lambda a, f, r: f" ({_date(r)})",
    "personality": lambda a, f, r: " (PER_LINUX)" if r == 0 else "",
    "membarrier": lambda a, f, r: (
        f" ({flags.bits(r, MEMBARRIER_BITS)})" if a[0] & 0xFFFFFFFF == 0 and r > 0 else ""
    ),
}
MEMBARRIER_BITS: flags.Table = tuple((k, v) for k, v in argtypes.ENUMS["membarrier"].items() if k)


def _date(sec: int) -> str:
    import time as _time

    when = _time.localtime(sec)
    return _time.strftime("%Y-%m-%dT%H:%M:%S%z", when)


def return_note(name: str, args: Sequence[int], fetched: Mapping[int, object], rval: int) -> str:
    note = RETURN_NOTES.get(name)
    return note(args, fetched, rval) if note is not None else ""
