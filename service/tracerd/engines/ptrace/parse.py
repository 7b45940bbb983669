"""Decoding of syscalls into strace's text: per-syscall plans and pure rendering.

A `Plan` says, per argument, what the tracer must fetch from the tracee at syscall entry
(strings, input buffers and structs, read before the kernel or another thread changes them)
and at exit (output buffers and structs, read only when the call succeeded), and how each
argument renders. The reader executes the fetches on the stop path; everything else here is
pure and runs after the tracee was restarted. Syscalls without a hand-written spec get one
from their kernel prototype (`const char *` names -> strings, pointers -> 0x..., `umode_t`
-> octal, signed types -> signed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from . import flags, sockets, structs
from .syscalls import Syscall, SyscallTable

PATH_LIMIT = 4096
PTID_KEY = -1
"""fetched key of clone3's parent_tid value, read at exit"""
SIGRETURN_MASK_KEY = -2
"""fetched key of the signal mask rt_sigreturn restores, read at entry"""
SIGRETURN_MASK_OFFSET = 296
"""x86-64: from the stack pointer at rt_sigreturn's entry to uc.uc_sigmask of the signal
frame (the frame starts 8 bytes below it: pretcode; then uc_flags, uc_link, a 24-byte
stack_t and the 256-byte sigcontext; arch/x86/include/asm/sigframe.h)"""
ARGV_MAX = 32

# Hand-written argument specs (strace's rendering of the common syscalls).
SPECS: dict[str, str] = {
    "read": "fd obuf u", "write": "fd ibuf:2 u", "pread64": "fd obuf u d",
    "pwrite64": "fd ibuf:2 u d", "open": "path open_flags mode_creat",
    "openat": "dirfd path open_flags mode_creat", "creat": "path o", "close": "fd",
    "stat": "path out:stat", "lstat": "path out:stat", "fstat": "fd out:stat",
    "newfstatat": "dirfd path out:stat at_flags",
    "statx": "dirfd path statx_flags statx_mask out:statx", "fadvise64": "fd d u fadvise",
    "access": "path access",
    "faccessat": "dirfd path access", "faccessat2": "dirfd path access at_flags",
    "mmap": "p u prot mmap_flags fd x", "mprotect": "p u prot", "munmap": "p u", "brk": "p",
    "mremap": "p u u x p", "madvise": "p u madvise",
    "rt_sigaction": "signal in:sigaction out:sigaction u",
    "rt_sigprocmask": "how in:sigset out:sigset u", "ioctl": "fd ioctl p", "lseek": "fd d whence",
    "pipe": "out:pipe", "pipe2": "out:pipe open_flags0", "dup": "fd", "dup2": "fd fd",
    "dup3": "fd fd open_flags0", "fcntl": "fd fcntl p", "kill": "d signal", "tgkill": "d d signal",
    "tkill": "d signal", "exit": "d", "exit_group": "d", "wait4": "d out:wstatus wait_opts p",
    "socket": "family socket_type d", "connect": "fd sockaddr:2 u", "bind": "fd sockaddr:2 u",
    "sendto": "fd ibuf:2 u x sockaddr:5 u", "recvfrom": "fd obuf u x p p",
    "getcwd": "ostr u", "readlink": "path obuf u", "readlinkat": "dirfd path obuf u",
    "unlink": "path", "unlinkat": "dirfd path at_flags", "mkdir": "path o", "rmdir": "path",
    "mkdirat": "dirfd path o", "chdir": "path", "rename": "path path",
    "renameat": "dirfd path dirfd path", "renameat2": "dirfd path dirfd path x",
    "getdents64": "fd dirents u", "arch_prctl": "arch_prctl p", "set_tid_address": "p",
    "set_robust_list": "p u", "rseq": "p x d x", "prlimit64": "d rlimit in:rlimit out:rlimit",
    "getrandom": "obufx u grnd", "nanosleep": "in:timespec p",
    "clock_nanosleep": "clock timer_flags in:timespec p", "clock_gettime": "clock out:timespec",
    "futex": "p futex_op u in:timespec p u", "uname": "out:utsname", "execve": "path argv envp",
    "execveat": "dirfd path argv envp at_flags", "clone3": "in:clone_args u",
    "fchdir": "fd", "sched_yield": "", "getpid": "", "getppid": "", "gettid": "",
    "chmod": "path o", "fchmod": "fd o", "fchmodat": "dirfd path o", "truncate": "path d",
    "ftruncate": "fd d", "symlink": "path path", "link": "path path", "statfs": "path p",
    "utimensat": "dirfd path p at_flags", "fsync": "fd", "fdatasync": "fd",
    "sendmsg": "fd p x", "recvmsg": "fd p x", "shutdown": "fd d", "listen": "fd d",
    "accept": "fd osockaddr:2 socklen", "accept4": "fd osockaddr:2 socklen socket_flags",
    "getsockname": "fd osockaddr:2 socklen", "getpeername": "fd osockaddr:2 socklen",
    "setsockopt": "fd d d ival u", "getsockopt": "fd d d oval socklen", "poll": "p u d",
}  # fmt: skip
HEX_RETURN = frozenset({"mmap", "brk", "mremap", "shmat"})
NO_RETURN = frozenset({"exit", "exit_group"})

Fetch = tuple[int, str, int]
"""(argument index, what, parameter): what is str|buf|struct|sockaddr|argv|envp|obuf|ostr|
dirents"""


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    kinds: tuple[str, ...]
    entry: tuple[Fetch, ...]
    exit: tuple[Fetch, ...]
    ops: tuple[tuple[str, str, Callable[[int], str] | None], ...] = ()
    """per argument: (kind, parameter, formatter of the plain kinds): kinds pre-split"""


def _default_kind(arg: str, ctype: str) -> str:
    pointer = "*" in ctype
    if pointer:
        is_const_char = ctype.replace(" ", "") in ("constchar*", "constchar__user*")
        if is_const_char and "buf" not in arg:
            return "path"
        return "p"
    if arg == "fd" or (arg.endswith("fd") and "int" in ctype):
        return "fd"
    if ctype == "umode_t":
        return "o"
    if ctype.startswith(("unsigned", "u", "size_t")):
        return "u"
    return "d"


def _spec_kinds(sc: Syscall) -> tuple[str, ...]:
    spec = SPECS.get(sc.name)
    if spec is not None:
        return tuple(spec.split())
    return tuple(_default_kind(name, ctype) for name, ctype in sc.args)


def build_plan(sc: Syscall, string_limit: int) -> Plan:
    kinds = _spec_kinds(sc)
    entry: list[Fetch] = []
    exit_: list[Fetch] = []
    for i, kind in enumerate(kinds):
        what, _, param = kind.partition(":")
        if what == "path":
            entry.append((i, "str", PATH_LIMIT))
        elif what == "ibuf":
            entry.append((i, "buf", int(param)))
        elif what == "in":
            entry.append((i, "struct", structs.STRUCT_SIZES[param]))
        elif what == "sockaddr":
            entry.append((i, "sockaddr", int(param)))
        elif what in ("argv", "envp"):
            entry.append((i, what, 0))
        elif what in ("obuf", "obufx"):
            exit_.append((i, "obuf", 0))
        elif what == "ostr":
            exit_.append((i, "str", string_limit))
        elif what == "dirents":
            exit_.append((i, "dirents", 0))
        elif what == "osockaddr":
            exit_.append((i, "osockaddr", int(param)))
        elif what in ("socklen", "ival"):
            entry.append((i, "struct", 4))
            if what == "socklen":
                exit_.append((i, "olen", 0))
        elif what == "oval":
            exit_.append((i, "struct", 4))
        elif what == "out":
            exit_.append((i, "struct", structs.STRUCT_SIZES[param]))
    ops = []
    for kind in kinds[:6]:
        what, _, param = kind.partition(":")
        ops.append((what, param, _SIMPLE.get(what)))
    if sc.name == "clone3":
        exit_.append((0, "ptid", 0))  # strace's ` => {parent_tid=[N]}`
    return Plan(sc.name, kinds, tuple(entry), tuple(exit_), tuple(ops))


def build_plans(table: SyscallTable, string_limit: int) -> dict[int, Plan]:
    return {nr: build_plan(sc, string_limit) for nr, sc in table.by_nr.items()}


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _signed64(value: int) -> int:
    return value - (1 << 64) if value & (1 << 63) else value


_SIMPLE: dict[str, Callable[[int], str]] = {
    "d": lambda v: str(_signed64(v)) if v >> 32 not in (0, 0xFFFFFFFF) else str(_signed32(v)),
    "u": str,
    "x": lambda v: hex(v) if v else "0",
    "p": structs.pointer,
    "o": flags.mode,
    "fd": lambda v: str(_signed32(v)),
    "dirfd": lambda v: "AT_FDCWD" if _signed32(v) == flags.AT_FDCWD else str(_signed32(v)),
    "open_flags": flags.open_flags,
    "open_flags0": lambda v: flags.bits(v, flags.OPEN_FLAGS),
    "at_flags": lambda v: flags.bits(v, flags.AT_FLAGS),
    "statx_flags": flags.statx_flags,
    "timer_flags": lambda v: flags.bits(v, ((1, "TIMER_ABSTIME"),)),
    "fadvise": lambda v: flags.enum(v, flags.FADVISE),
    "statx_mask": lambda v: flags.bits(v & 0xFFFFFFFF, flags.STATX_MASK),
    "access": lambda v: flags.bits(v, flags.ACCESS_MODES, "F_OK"),
    "prot": lambda v: flags.bits(v, flags.PROT, "PROT_NONE"),
    "mmap_flags": flags.mmap_flags,
    "signal": lambda v: flags.signal_name(_signed32(v)) if v else "0",
    "how": lambda v: flags.enum(v, flags.SIGPROCMASK_HOW),
    "whence": lambda v: flags.enum(v, flags.SEEK_WHENCE),
    "fcntl": lambda v: flags.enum(v, flags.FCNTL_CMDS),
    "ioctl": lambda v: flags.IOCTLS.get(v, hex(v)),
    "family": lambda v: flags.enum(v, flags.ADDRESS_FAMILIES),
    "socket_type": flags.socket_type,
    "socket_flags": lambda v: flags.bits(v, flags.SOCK_FLAGS),
    "wait_opts": lambda v: flags.bits(v, flags.WAIT_OPTIONS),
    "futex_op": flags.futex_op,
    "grnd": lambda v: flags.bits(v, flags.GRND_FLAGS),
    "madvise": lambda v: flags.enum(v, flags.MADVISE),
    "arch_prctl": lambda v: flags.enum(v, flags.ARCH_PRCTL),
    "rlimit": lambda v: flags.enum(v, flags.RLIMITS),
    "clock": lambda v: flags.enum(v, flags.CLOCKS),
}


def _render_fetched(kind: str, param: str, value: object, arg: int, ok: bool, ret: int) -> str:
    if value is None:
        return structs.pointer(arg)
    if kind in ("path", "ostr"):
        text, complete = cast(tuple[bytes, bool], value)
        return structs.quote(text, cut=not complete)
    if kind == "ibuf":
        data, total = cast(tuple[bytes, int], value)
        return structs.quote(data, cut=len(data) < total)
    if kind in ("obuf", "obufx"):
        assert isinstance(value, bytes)
        return structs.quote(value, cut=len(value) < ret, force_hex=kind == "obufx")
    if kind in ("in", "out"):
        assert isinstance(value, bytes)
        return structs.RENDERERS[param](value) or structs.pointer(arg)
    if kind in ("sockaddr", "osockaddr"):
        assert isinstance(value, bytes)
        return structs.sockaddr(value) or structs.pointer(arg)
    if kind == "argv":
        items, more = cast(tuple[list[tuple[bytes, bool]], bool], value)
        body = ", ".join(structs.quote(d, cut=not c) for d, c in items)
        return f"[{body}{', ...' if more else ''}]"
    if kind == "envp":
        return f"{structs.pointer(arg)} /* {value} vars */"
    if kind == "dirents":
        return f"{structs.pointer(arg)} /* {value} entries */"
    return structs.pointer(arg)


def render_args(
    plan: Plan, args: Sequence[int], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    out: list[str] = []
    for i, (what, param, simple) in enumerate(plan.ops):
        if simple is not None:
            out.append(simple(args[i]))
        elif what == "mode_creat":
            if args[i - 1] & 0o20100000 or args[i - 1] & 0o100:
                out.append(flags.mode(args[i]))
        else:
            out.append(_render_fetched(what, param, fetched.get(i), args[i], ok, ret))
    if plan.name == "clone":
        return _clone_args(args)
    if plan.name == "futex":
        return _futex_args(args, out)
    if plan.name == "fcntl":
        return _fcntl_args(args, out)
    if plan.name in sockets.SOCKET_CALLS:
        return sockets.socket_args(plan.name, args, out, fetched, ok)
    if plan.name == "rt_sigreturn":
        mask = fetched.get(SIGRETURN_MASK_KEY)
        shown = structs.sigset_bytes(mask) if isinstance(mask, bytes) else None
        return [f"{{mask={shown}}}"] if shown is not None else out
    if plan.name == "clone3" and PTID_KEY in fetched and out:
        out[0] += f" => {{parent_tid=[{fetched[PTID_KEY]}]}}"
    return out


FUTEX_TIMEOUT_OPS = frozenset({0, 6, 9, 11, 13})
"""WAIT, LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2: the 4th argument is a timespec"""


def _futex_args(args: Sequence[int], out: list[str]) -> list[str]:
    # strace shows the arguments each futex operation uses
    op = args[1] & 0x7F
    if op not in FUTEX_TIMEOUT_OPS and len(out) > 3:  # there it is a number (val2)
        out = [*out[:3], str(args[3] & 0xFFFFFFFF), *out[4:]]
    if op == 1:  # WAKE
        return out[:3]
    if op == 0:  # WAIT
        return out[:4]
    if op == 3:  # REQUEUE
        return out[:5]
    if op in (9, 10):  # WAIT_BITSET, WAKE_BITSET
        return [*out[:4], _bitset(args[5])]
    return out


FCNTL_NO_ARG = frozenset({1, 3, 9, 11, 1025, 1032, 1034})
"""F_GETFD, F_GETFL, F_GETOWN, F_GETSIG, F_GETLEASE, F_GETPIPE_SZ, F_GET_SEALS"""


def _fcntl_args(args: Sequence[int], out: list[str]) -> list[str]:
    # strace: no third argument for the F_GET* commands, flags for F_SETFD/F_SETFL
    cmd = args[1] & 0xFFFFFFFF
    if cmd in FCNTL_NO_ARG:
        return out[:2]
    if cmd == 2:  # F_SETFD
        return [*out[:2], "FD_CLOEXEC" if args[2] & 1 else str(args[2])]
    if cmd == 4:  # F_SETFL
        return [*out[:2], flags.open_flags(args[2])]
    if cmd in (0, 1030, 1031, 8, 10, 1024, 1033):  # numbers: fds, sizes, pids, signals
        return [*out[:2], str(_signed32(args[2]))]
    return out


def _bitset(value: int) -> str:
    return "FUTEX_BITSET_MATCH_ANY" if value & 0xFFFFFFFF == 0xFFFFFFFF else hex(value)


def _clone_args(args: Sequence[int]) -> list[str]:
    # strace: clone(child_stack=NULL, flags=...|SIGCHLD, child_tidptr=0x...)
    out = [f"child_stack={structs.pointer(args[1])}", f"flags={flags.clone_flags(args[0])}"]
    if args[0] & 0x00100000:
        out.append(f"parent_tid={structs.pointer(args[2])}")
    if args[0] & 0x01200000:
        out.append(f"child_tidptr={structs.pointer(args[3])}")
    if args[0] & 0x00080000:
        out.append(f"tls={structs.pointer(args[4])}")
    return out


def render_return(name: str, rval: int | None, is_error: bool, fcntl_cmd: int = -1) -> str:
    """strace's `= 3`, `= -1 ENOENT (No such file or directory)`, `= 0x7f..`, `= ?`."""
    if rval is None or name in NO_RETURN:
        return "?"
    if is_error and -4096 < rval < 0:
        err = -rval
        name_ = flags.errno_name(err)
        if err >= 512:
            return f"? {name_} ({flags.errno_text(err)})"
        return f"-1 {name_} ({flags.errno_text(err)})"
    if name in HEX_RETURN:
        return hex(rval & 0xFFFFFFFFFFFFFFFF)
    if name == "fcntl" and fcntl_cmd == 1 and rval > 0:
        return f"{rval:#x} (flags FD_CLOEXEC)"
    if name == "fcntl" and fcntl_cmd == 3:
        return f"{rval:#x} (flags {flags.open_flags(rval)})"
    return str(rval)


def errno_of(rval: int | None, is_error: bool) -> str | None:
    if rval is None or not is_error or not -4096 < rval < 0:
        return None
    return flags.errno_name(-rval)
