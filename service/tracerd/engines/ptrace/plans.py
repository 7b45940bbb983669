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

from . import argtypes, calls, fdpaths, flags, opstructs, sockets, structs
from .syscalls import Syscall, SyscallTable

PATH_LIMIT = 4096
PTID_KEY = -1
"""fetched key of clone3's parent_tid value, read at exit"""
PIDFD_KEY = -6
"""fetched key of clone3's pidfd value (CLONE_PIDFD), read at exit"""
SIGRETURN_MASK_KEY = -2
"""fetched key of the signal mask rt_sigreturn restores, read at entry"""
RESUMED_NR_KEY = -5
"""fetched key of the syscall a restart_syscall resumes (the tracee's previous entry)"""
SIGRETURN_MASK_OFFSET = 296
"""x86-64: from the stack pointer at rt_sigreturn's entry to uc.uc_sigmask of the signal
frame (the frame starts 8 bytes below it: pretcode; then uc_flags, uc_link, a 24-byte
stack_t and the 256-byte sigcontext; arch/x86/include/asm/sigframe.h)"""
ARGV_MAX = 32

# Argument specs: one kind per shown argument (argtypes.FORMATTERS for the kinds printed
# from the register alone; `in:`/`out:` structs of structs.RENDERERS read at entry/exit;
# arrays, buffers and strings read as the reader's fetches say). `-` hides an argument.
SPECS: dict[str, str] = {
    "read": "fd obuf u",
    "write": "fd ibuf:2 u",
    "pread64": "fd obuf u ld",
    "pwrite64": "fd ibuf:2 u ld",
    "open": "path open_flags mode_creat",
    "openat": "dirfd path open_flags mode_creat",
    "creat": "path o",
    "close": "fd",
    "stat": "path out:stat",
    "lstat": "path out:stat",
    "fstat": "fd out:stat",
    "newfstatat": "dirfd path out:stat at_flags",
    "statx": "dirfd path statx_flags statx_mask out:statx",
    "fadvise64": "fd ld u fadvise",
    "access": "path access",
    "faccessat": "dirfd path access",
    "faccessat2": "dirfd path access at_eaccess",
    "mmap": "p u prot mmap_flags fd x",
    "mprotect": "p u prot",
    "munmap": "p u",
    "brk": "p",
    "mremap": "p u u mremap p",
    "mincore": "p u mincore_vec",
    "capget": "in:cap_header out:cap_data",
    "capset": "in:cap_header in:cap_data",
    "times": "out:tms",
    "madvise": "p u madvise",
    "rt_sigaction": "signal in:sigaction out:sigaction u",
    "rt_sigprocmask": "how in:sigset out:sigset u",
    "ioctl": "fd ioctl p",
    "lseek": "fd ld whence",
    "pipe": "out:pipe",
    "pipe2": "out:pipe open_flags0",
    "dup": "fd",
    "dup2": "fd fd",
    "dup3": "fd fd open_flags0",
    "fcntl": "fd fcntl p",
    "kill": "d signal",
    "tgkill": "d d signal",
    "tkill": "d signal",
    "exit": "d",
    "exit_group": "d",
    "wait4": "d out:wstatus wait_opts out:rusage",
    "socket": "family socket_type d",
    "connect": "fd sockaddr:2 u",
    "bind": "fd sockaddr:2 u",
    "sendto": "fd ibuf:2 u msg_flags sockaddr:5 u",
    "recvfrom": "fd obuf u msg_flags osockaddr:5 socklen",
    "getcwd": "ostr u",
    "readlink": "path obuf u",
    "readlinkat": "dirfd path obuf u",
    "unlink": "path",
    "unlinkat": "dirfd path at_flags",
    "mkdir": "path o",
    "rmdir": "path",
    "mkdirat": "dirfd path o",
    "chdir": "path",
    "rename": "path path",
    "renameat": "dirfd path dirfd path",
    "renameat2": "dirfd path dirfd path rename",
    "getdents64": "fd dirents u",
    "arch_prctl": "arch_prctl p",
    "set_tid_address": "p",
    "set_robust_list": "p u",
    "rseq": "p x32 d x32",
    "prlimit64": "d rlimit in:rlimit out:rlimit",
    "getrandom": "obufx u grnd",
    "nanosleep": "in:timespec p",
    "clock_nanosleep": "clock timer_flags in:timespec p",
    "clock_gettime": "clock out:timespec",
    "clock_getres": "clock out:timespec",
    "futex": "p futex_op u in:timespec p u",
    "uname": "out:utsname",
    "execve": "path argv envp",
    "execveat": "dirfd path argv envp at_flags",
    "clone3": "in:clone_args u",
    "fchdir": "fd",
    "sched_yield": "",
    "getpid": "",
    "getppid": "",
    "gettid": "",
    "chmod": "path o",
    "fchmod": "fd o",
    "fchmodat": "dirfd path o",
    "truncate": "path u",
    "ftruncate": "fd u",
    "symlink": "path path",
    "link": "path path",
    "statfs": "path out:statfs",
    "fstatfs": "fd out:statfs",
    "utimensat": "dirfd path in:timespec_pair at_flags",
    "fsync": "fd",
    "fdatasync": "fd",
    "sendmsg": "fd msghdr msg_flags",
    "recvmsg": "fd omsghdr msg_flags",
    "shutdown": "fd shutdown",
    "sendmmsg": "fd mmsghdr u msg_flags",
    "recvmmsg": "fd mmsghdr u msg_flags in:timespec",
    "listen": "fd d",
    "accept": "fd osockaddr:2 socklen",
    "accept4": "fd osockaddr:2 socklen socket_flags",
    "getsockname": "fd osockaddr:2 socklen",
    "getpeername": "fd osockaddr:2 socklen",
    "setsockopt": "fd d d optval u",
    "getsockopt": "fd d d ooptval socklen",
    "socketpair": "family socket_type d out:pipe",
    "poll": "pollfd u d",
    "ppoll": "pollfd u in:timespec sigset_ptr u",
    "select": "d fdset fdset fdset in:timeval",
    "pselect6": "d fdset fdset fdset in:timespec pselect_sig",
    "readv": "fd oiov u",
    "writev": "fd iov u",
    "preadv": "fd oiov u ld",
    "pwritev": "fd iov u ld",
    "preadv2": "fd oiov u ld - rwf",
    "pwritev2": "fd iov u ld - rwf",
    "vmsplice": "fd iov u splice_flags",
    # the other process's iovecs (riov): their addresses only, as strace prints them
    "process_vm_readv": "d oiov u riov u u",
    "process_vm_writev": "d iov u riov u u",
    "epoll_create1": "epoll_flags",
    "epoll_create": "d",
    "epoll_ctl": "fd epoll_ctl fd in:epoll_event",
    "epoll_wait": "fd epoll_out d d",
    "epoll_pwait": "fd epoll_out d d sigset_ptr u",
    "eventfd2": "u32 efd_flags",
    "eventfd": "u32",
    "signalfd4": "fd sigset_ptr u sfd_flags",
    "signalfd": "fd sigset_ptr u",
    "timerfd_create": "clock tfd_flags",
    "timerfd_settime": "fd tfd_settime in:itimerspec out:itimerspec",
    "timerfd_gettime": "fd out:itimerspec",
    "timer_settime": "d timer_flags in:itimerspec out:itimerspec",
    "timer_gettime": "d out:itimerspec",
    "timer_delete": "d",
    "timer_getoverrun": "d",
    "inotify_init1": "in_init",
    "inotify_add_watch": "fd path in_mask",
    "inotify_rm_watch": "fd d",
    "memfd_create": "path mfd_flags",
    "splice": "fd in:loff fd in:loff u splice_flags",
    "tee": "fd fd u splice_flags",
    "fallocate": "fd falloc ld ld",
    "close_range": "fd u32 close_range",
    "flock": "fd flock",
    "mlock": "p u",
    "munlock": "p u",
    "mlock2": "p u mlock2",
    "mlockall": "mcl",
    "msync": "p u msync",
    "membarrier": "membarrier x",
    "keyctl": "keyctl keyring d u u",
    "add_key": "str str ibuf:3 u keyring",
    "request_key": "str str str keyring",
    "kcmp": "d d kcmp u u",
    "prctl": "prctl u u u u",
    "getrusage": "rusage_who out:rusage",
    "getpriority": "prio_which d",
    "setpriority": "prio_which d d",
    "setitimer": "itimer in:itimerval out:itimerval",
    "getitimer": "itimer out:itimerval",
    "sigaltstack": "in:stack_t out:stack_t",
    "sysinfo": "out:sysinfo",
    "getresuid": "out:uint out:uint out:uint",
    "getresgid": "out:uint out:uint out:uint",
    "getgroups": "d gids",
    "sched_getaffinity": "d u cpumask",
    "sched_setaffinity": "d u icpumask",
    "sched_getscheduler": "d",
    "sched_getparam": "d out:int",
    "sched_get_priority_max": "sched_policy",
    "sched_get_priority_min": "sched_policy",
    "openat2": "dirfd path in:open_how u",
    "linkat": "dirfd path dirfd path at_flags",
    "symlinkat": "path dirfd path",
    "fchownat": "dirfd path uid uid at_flags",
    "chown": "path uid uid",
    "lchown": "path uid uid",
    "fchown": "fd uid uid",
    "umask": "umask",
    "mknod": "path mknod_mode u",
    "mknodat": "dirfd path mknod_mode u",
    "futimesat": "dirfd path in:timeval_pair",
    "utimes": "path in:timeval_pair",
    "sync_file_range": "fd ld ld sync_file_range",
    "setxattr": "path path ibuf:3 u xattr",
    "lsetxattr": "path path ibuf:3 u xattr",
    "fsetxattr": "fd path ibuf:3 u xattr",
    "getxattr": "path path obuf u",
    "shmget": "ipc_key u ipc_get",
    "semget": "ipc_key d ipc_get",
    "msgget": "ipc_key ipc_get",
    "shmat": "d p shm_flags",
    "shmdt": "p",
    "shmctl": "d shmctl p",
    "semctl": "d d semctl p",
    "msgctl": "d msgctl p",
    "semop": "d sembuf u",
    "semtimedop": "d sembuf u in:timespec",
    "msgrcv": "d p u ld msgrcv_flags",
    "msgsnd": "d p u ipc_flags",
    "pidfd_open": "d pidfd_open",
    "pidfd_send_signal": "fd signal p u",
    "setuid": "uid",
    "setgid": "uid",
    "setreuid": "uid uid",
    "setregid": "uid uid",
    "setresuid": "uid uid uid",
    "setresgid": "uid uid uid",
    "setfsuid": "uid",
    "setfsgid": "uid",
    "getpgid": "d",
    "setpgid": "d d",
    "getsid": "d",
    "rt_sigpending": "out:sigset u",
    "rt_sigsuspend": "in:sigset u",
    "alarm": "u32",
    "waitid": "idtype d out:siginfo wait_opts p",
    "rt_sigqueueinfo": "d signal in:siginfo",
    "rt_tgsigqueueinfo": "d d signal in:siginfo",
    "rt_sigtimedwait": "in:sigset out:siginfo in:timespec u",
    "gettimeofday": "out:timeval p",
    "settimeofday": "in:timeval p",
    "getcpu": "out:uint out:uint p",
    "personality": "x32",
    "timer_create": "clock in:sigevent out:int",
    "time": "p",
    "mq_open": "path open_flags mode_creat in:mq_attr",
    "mq_unlink": "path",
    "mq_getsetattr": "fd in:mq_attr out:mq_attr",
    "ptrace": "x d p p",
    "sched_getattr": "d out:sched_attr u u",
    "sched_setattr": "d in:sched_attr u",
    "io_uring_setup": "u32 uring_params",
    "io_uring_enter": "fd u32 u32 uring_enter p u",
    "io_uring_register": "fd uring_register p u32",
    "mq_notify": "fd in:sigevent",
    "getrlimit": "rlimit out:rlimit",
    "setrlimit": "rlimit in:rlimit",
    "sched_rr_get_interval": "d out:timespec",
    "sched_setscheduler": "d sched_policy in:int",
    "sched_setparam": "d in:int",
    "mq_timedsend": "fd ibuf:2 u u in:timespec",
    "mq_timedreceive": "fd obuf u out:uint in:timespec",
    "sendfile": "fd fd loff_io u",
    "copy_file_range": "fd in:loff fd in:loff u u32",
    "seccomp": "seccomp_op u32 p",
    "landlock_create_ruleset": "p u landlock_flags",
    "listxattr": "path obuf u",
    "llistxattr": "path obuf u",
    "flistxattr": "fd obuf u",
    "removexattr": "path path",
    "fgetxattr": "fd path obuf u",
    "lgetxattr": "path path obuf u",
}
HEX_RETURN = frozenset({"mmap", "brk", "mremap", "shmat"})
NO_RETURN = frozenset({"exit", "exit_group"})

AGAIN = 0x80
"""in a fetch's parameter: read again at exit, kept under key `AGAIN_KEY + index`"""
AGAIN_KEY = 100
ARRAYS: dict[str, tuple[int, int, bool]] = {
    "pollfd": (8, 1, False),
    "epoll_out": (12, 7, True),
    "sembuf": (6, 2, False),
    "gids": (4, 7, True),
    "cpumask": (1, 7, True),
    "icpumask": (1, 1, False),
}
"""array kinds: (element size, where the count is: argument index or 7 for the return
value, read at exit)"""
CALL_FETCHES: dict[str, tuple[tuple[int, str, int], ...]] = {
    "fcntl": ((2, "flock", 0),),
    "ioctl": ((2, "ioctl_int", 0),),
    "prctl": ((1, "prctl", 0),),
    "msgsnd": ((1, "msgbuf", 2),),
    "shmctl": ((2, "shmctl", 0),),
    "keyctl": ((0, "keyctl", 0),),
}
CALL_EXIT_FETCHES: dict[str, tuple[tuple[int, str, int], ...]] = {
    "fcntl": ((2, "flock", AGAIN),),
    "ioctl": ((2, "ioctl_int", AGAIN),),
    "prctl": ((1, "prctl", AGAIN),),
    "msgrcv": ((1, "msgbuf", 2),),
    "shmctl": ((2, "shmctl", AGAIN),),
    "keyctl": ((0, "keyctl", AGAIN),),
    "mincore": ((2, "mincore", 0),),
}
"""fetches of a call whose argument's type depends on another argument (fcntl's cmd,
ioctl's request, prctl's option): the reader checks the op before reading"""

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
    touches: tuple[tuple[str, int], ...] = ()
    """-P: the (path|fd, argument) pairs that name what the call touches (fdpaths.py)"""


def _spec_kinds(sc: Syscall) -> tuple[str, ...]:
    spec = SPECS.get(sc.name)
    if spec is not None:
        return tuple(spec.split())
    return tuple(argtypes.default_kind(name, ctype) for name, ctype in sc.args)


@dataclass(frozen=True, slots=True)
class FdOptions:
    """What the plans fetch about descriptors: `level` 1 for -y, 2 for -yy (0: none);
    `paths` for -P (empty: every call)."""

    level: int = 0
    paths: frozenset[str] = frozenset()


def _fd_fetches(sc: Syscall, kinds: Sequence[str], fds: FdOptions) -> tuple[Fetch, ...]:
    """Entry fetches of descriptor names (-y shows them, -P matches them)."""
    wanted = {i for i, k in enumerate(kinds) if k in ("fd", "dirfd")} if fds.level else set()
    if fds.paths:
        wanted |= {i for what, i in fdpaths.path_args(sc.name, sc.classes) if what == "fd"}
    fetches = [(i, "fdpath", fds.level) for i in sorted(wanted)]
    if fds.level and sc.name in fdpaths.POLL_CALLS:
        fetches.append((0, "fdpoll", fds.level))
    return tuple(fetches)


def build_plan(sc: Syscall, string_limit: int, fds: FdOptions | None = None) -> Plan:
    kinds = _spec_kinds(sc)
    fds = fds or FdOptions()
    entry: list[Fetch] = []
    exit_: list[Fetch] = []
    for i, kind in enumerate(kinds):
        what, _, param = kind.partition(":")
        if what == "path":
            entry.append((i, "str", PATH_LIMIT))
        elif what == "str":  # a string strace cuts at -s (add_key's type, description)
            entry.append((i, "str", string_limit))
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
        elif what == "ostr":  # getcwd's path: whole, as strace prints it
            exit_.append((i, "str", PATH_LIMIT))
        elif what == "loff_io":
            entry.append((i, "struct", 8))
            exit_.append((i, "again", 8))
        elif what == "uring_params":  # what the caller asked, then what the kernel filled
            entry.append((i, "struct", opstructs.URING_PARAMS_SIZE))
            exit_.append((i, "again", opstructs.URING_PARAMS_SIZE))
        elif what == "dirents":
            exit_.append((i, "dirents", 0))
        elif what == "osockaddr":
            exit_.append((i, "osockaddr", int(param)))
        elif what == "socklen":
            entry.append((i, "struct", 4))
            exit_.append((i, "olen", 0))
        elif what in ("optval", "ooptval"):  # as long as optlen says (sockets.py)
            (entry if what == "optval" else exit_).append((i, what, 0))
        elif what == "out":
            exit_.append((i, "struct", structs.STRUCT_SIZES[param]))
        elif what in ARRAYS:
            size, count, at_exit = ARRAYS[what]
            (exit_ if at_exit else entry).append((i, "arr", size << 8 | count))
            if what == "pollfd":
                exit_.append((i, "arr", size << 8 | count | AGAIN))
        elif what == "fdset":
            entry.append((i, "fdset", 0))
            exit_.append((i, "fdset", AGAIN))
        elif what in ("iov", "oiov", "riov"):
            (exit_ if what == "oiov" else entry).append((i, what, i + 1))
        elif what == "mmsghdr":
            exit_.append((i, "mmsghdr", 0))
        elif what in ("msghdr", "omsghdr"):
            (entry if what == "msghdr" else exit_).append((i, what, 0))
        elif what == "sigset_ptr":
            entry.append((i, "struct", 8))
        elif what == "pselect_sig":
            entry.append((i, "pselect_sig", 0))
    if sc.name in ("ppoll", "select", "pselect6"):
        where = 2 if sc.name == "ppoll" else 4
        exit_.append((where, "again", 16))
    entry += CALL_FETCHES.get(sc.name, ())
    exit_ += CALL_EXIT_FETCHES.get(sc.name, ())
    ops = []
    for kind in kinds[:6]:
        what, _, param = kind.partition(":")
        ops.append((what, param, _SIMPLE.get(what)))
    if sc.name == "clone3":
        exit_.append((0, "ptid", 0))  # strace's ` => {parent_tid=[N]}`
    entry += _fd_fetches(sc, kinds, fds)
    if fds.level and (sc.name in fdpaths.FD_RETURNS or sc.name == "fcntl"):
        exit_.append((1 if sc.name == "fcntl" else 0, "fdret", fds.level))
    if fds.level and "out:pipe" in kinds:
        exit_.append((kinds.index("out:pipe"), "fdpair", fds.level))
    touches = fdpaths.path_args(sc.name, sc.classes) if fds.paths else ()
    return Plan(sc.name, kinds, tuple(entry), tuple(exit_), tuple(ops), touches)


def build_plans(
    table: SyscallTable, string_limit: int, fds: FdOptions | None = None
) -> dict[int, Plan]:
    return {nr: build_plan(sc, string_limit, fds) for nr, sc in table.by_nr.items()}


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _signed64(value: int) -> int:
    return value - (1 << 64) if value & (1 << 63) else value


_SIMPLE: dict[str, Callable[[int], str]] = {
    **argtypes.FORMATTERS,
    "p": structs.pointer,
    "mknod_mode": lambda v: flags.file_mode(v & 0xFFFFFFFF),
    "ipc_key": lambda v: "IPC_PRIVATE" if v & 0xFFFFFFFF == 0 else hex(v & 0xFFFFFFFF),
    "ipc_get": lambda v: calls.ipc_get_flags(v),
    "umask": lambda v: argtypes.octal(v & 0o7777),
    "mfd_flags": lambda v: _mfd_flags(v & 0xFFFFFFFF),
    "idtype": lambda v: flags.enum(
        v & 0xFFFFFFFF, {0: "P_ALL", 1: "P_PID", 2: "P_PGID", 3: "P_PIDFD"}
    ),
    "fd": lambda v: str(_signed32(v)),
    "dirfd": lambda v: "AT_FDCWD" if _signed32(v) == flags.AT_FDCWD else str(_signed32(v)),
    "open_flags": flags.open_flags,
    "open_flags0": lambda v: flags.bits(v, flags.OPEN_FLAGS, prefix="O_"),
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
    "ioctl": calls.ioctl_request,
    "family": lambda v: flags.ADDRESS_FAMILIES.get(
        v & 0xFFFFFFFF, f"{v & 0xFFFFFFFF:#x} /* AF_??? */"
    ),
    "socket_type": flags.socket_type,
    "socket_flags": lambda v: flags.bits(v, flags.SOCK_FLAGS),
    "wait_opts": lambda v: flags.bits(v, flags.WAIT_OPTIONS),
    "futex_op": flags.futex_op,
    "grnd": lambda v: flags.bits(v, flags.GRND_FLAGS),
    "madvise": lambda v: flags.enum(v, flags.MADVISE),
    "arch_prctl": lambda v: flags.enum(v, flags.ARCH_PRCTL),
    "rlimit": lambda v: flags.enum(v, flags.RLIMITS),
}


def _mfd_flags(value: int) -> str:
    """memfd_create's flags with the huge page size: `MFD_HUGETLB|21<<MFD_HUGE_SHIFT`."""
    shown = argtypes.FORMATTERS["mfd_flags"](value & ~flags.HUGE_MASK)
    huge = flags.huge_size(value, "MFD")
    return (huge[1:] if shown == "0" else shown + huge) if huge else shown


def _render_fetched(kind: str, param: str, value: object, arg: int, ok: bool, ret: int) -> str:
    if value is None:
        return structs.pointer(arg)
    if kind in calls.FETCHED_KINDS:
        return calls.FETCHED_KINDS[kind](value, arg, ok, ret)
    if kind in ("path", "ostr", "str"):
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
        return f"{structs.pointer(arg)} /* {value} var{'' if value == 1 else 's'} */"
    if kind == "dirents":
        return f"{structs.pointer(arg)} /* {value} entries */"
    return structs.pointer(arg)


def render_args(
    plan: Plan, args: Sequence[int], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    out: list[str] = []
    for i, (what, param, simple) in enumerate(plan.ops):
        if simple is not None:
            out.append(simple(args[i]) + fdpaths.suffix(fetched, fdpaths.FD_KEY + i))
        elif what == "out" and param == "pipe" and ok and fdpaths.FD_KEY + i in fetched:
            out.append(fdpaths.pair(fetched.get(i), fetched[fdpaths.FD_KEY + i]))
        elif what == "-":
            continue
        elif what in calls.ARG_KINDS:
            out.append(calls.ARG_KINDS[what](args, i, fetched, ok, ret))
        elif what == "mode_creat":
            if args[i - 1] & 0o20100000 or args[i - 1] & 0o100:
                out.append(flags.mode(args[i]))
        elif what in ("obuf", "obufx") and i + 1 < len(args):  # no more than the buffer holds
            shown_ret = min(ret, args[i + 1] & 0xFFFFFFFFFFFFFFFF)
            out.append(_render_fetched(what, param, fetched.get(i), args[i], ok, shown_ret))
        else:
            out.append(_render_fetched(what, param, fetched.get(i), args[i], ok, ret))
    if plan.name in fdpaths.POLL_CALLS and fdpaths.FD_KEY in fetched and out:
        names = cast(tuple[str | None, ...], fetched[fdpaths.FD_KEY])
        data = fetched.get(0)
        if isinstance(data, bytes):
            suffixes = [fdpaths.bracketed(n) if n else "" for n in names]
            out[0] = structs.pollfds(data, names=suffixes)
    if plan.name == "clone":
        return _clone_args(args)
    if plan.name == "futex":
        return _futex_args(args, out)
    if plan.name == "fcntl":
        return _fcntl_args(args, out, fetched, ok)
    if plan.name in sockets.SOCKET_CALLS:
        return sockets.socket_args(plan.name, args, out, fetched, ok)
    if plan.name == "rt_sigreturn":
        mask = fetched.get(SIGRETURN_MASK_KEY)
        shown = structs.sigset_bytes(mask) if isinstance(mask, bytes) else None
        return [f"{{mask={shown}}}"] if shown is not None else out
    if plan.name == "clone3" and out:
        if args[1] < 64:  # smaller than CLONE_ARGS_SIZE_VER0: strace shows the address
            return [structs.pointer(args[0]), *out[1:]]
        returned = [
            f"{k}=[{fetched[key]}]"
            for k, key in (("pidfd", PIDFD_KEY), ("parent_tid", PTID_KEY))
            if key in fetched
        ]
        if returned:
            out[0] += f" => {{{', '.join(returned)}}}"
    hook = calls.ARG_HOOKS.get(plan.name)
    return hook(args, out, fetched, ok, ret) if hook is not None else out


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
    if op == 9:  # WAIT_BITSET
        return [*out[:4], _bitset(args[5])]
    if op == 10:  # WAKE_BITSET
        return [*out[:3], _bitset(args[5])]
    if op == 5 and len(out) > 5:  # WAKE_OP: val3 is the operation
        return [*out[:5], _futex_wake_op(args[5] & 0xFFFFFFFF)]
    if op not in flags.FUTEX_OPS and len(out) > 5:  # unknown: every argument, raw
        val3 = args[5] & 0xFFFFFFFF
        return [*out[:3], structs.pointer(args[3]), out[4], hex(val3) if val3 else "0"]
    return out


_WAKE_OPS = {0: "FUTEX_OP_SET", 1: "FUTEX_OP_ADD", 2: "FUTEX_OP_OR", 3: "FUTEX_OP_ANDN",
             4: "FUTEX_OP_XOR"}  # fmt: skip
_WAKE_CMPS = {0: "FUTEX_OP_CMP_EQ", 1: "FUTEX_OP_CMP_NE", 2: "FUTEX_OP_CMP_LT",
              3: "FUTEX_OP_CMP_LE", 4: "FUTEX_OP_CMP_GT", 5: "FUTEX_OP_CMP_GE"}  # fmt: skip


def _futex_wake_op(val3: int) -> str:
    """strace's FUTEX_WAKE_OP operation: `FUTEX_OP_ADD<<28|0x1<<12|FUTEX_OP_CMP_GT<<24|0`."""
    shift = "FUTEX_OP_OPARG_SHIFT<<28|" if (val3 >> 28) & 8 else ""
    op = _WAKE_OPS.get((val3 >> 28) & 7, f"{(val3 >> 28) & 7:#x} /* FUTEX_OP_??? */")
    cmp = _WAKE_CMPS.get((val3 >> 24) & 0xF, f"{(val3 >> 24) & 0xF:#x} /* FUTEX_OP_CMP_??? */")
    oparg, cmparg = structs.hex0((val3 >> 12) & 0xFFF), structs.hex0(val3 & 0xFFF)
    return f"{shift}{op}<<28|{oparg}<<12|{cmp}<<24|{cmparg}"


FCNTL_NO_ARG = frozenset({1, 3, 9, 11, 1025, 1032, 1034})
"""F_GETFD, F_GETFL, F_GETOWN, F_GETSIG, F_GETLEASE, F_GETPIPE_SZ, F_GET_SEALS"""


def _fcntl_args(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool
) -> list[str]:
    # strace: no third argument for the F_GET* commands, flags for F_SETFD/F_SETFL
    cmd = args[1] & 0xFFFFFFFF
    if cmd not in flags.FCNTL_CMDS:  # strace: an unknown command's argument as a number
        return [*out[:2], hex(args[2]) if args[2] else "0"]
    if cmd in FCNTL_NO_ARG:
        return out[:2]
    if cmd == 2:  # F_SETFD
        return [*out[:2], "FD_CLOEXEC" if args[2] & 1 else str(args[2])]
    if cmd == 4:  # F_SETFL
        return [*out[:2], flags.open_flags(args[2])]
    if cmd in calls.FCNTL_LOCKS:
        return [*out[:2], calls.flock_arg(cmd, fetched, ok, args[2])]
    if cmd == 1033:  # F_ADD_SEALS
        return [*out[:2], argtypes.FORMATTERS["seals"](args[2])]
    if cmd in calls.FCNTL_OWNER_EX:
        return [*out[:2], calls.owner_ex_arg(cmd, fetched, ok, args[2])]
    if cmd == 10:  # F_SETSIG
        return [*out[:2], flags.signal_name(_signed32(args[2])) if args[2] else "0"]
    if cmd == 1024:  # F_SETLEASE
        return [*out[:2], flags.enum(args[2] & 0xFFFFFFFF, calls.LEASES)]
    if cmd == 1026:  # F_NOTIFY
        return [*out[:2], flags.bits(args[2] & 0xFFFFFFFF, calls.DN_FLAGS)]
    if cmd in (0, 1030, 1031, 8, 1033):  # numbers: fds, sizes, pids
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
    if name == "fcntl" and fcntl_cmd == 3:  # C's %#x: `0`, not `0x0`
        return f"{rval:#x} (flags {flags.open_flags(rval)})" if rval else "0 (flags O_RDONLY)"
    if name == "fcntl" and fcntl_cmd == 11 and rval > 0:  # F_GETSIG
        return f"{rval} ({flags.signal_name(rval)})"
    if name == "fcntl" and fcntl_cmd == 1025:  # F_GETLEASE
        return f"{rval:#x} ({flags.enum(rval, calls.LEASES)})" if rval else "0 (F_RDLCK)"
    if name == "fcntl" and fcntl_cmd == 1034:
        return f"{rval:#x} (seals {argtypes.FORMATTERS['seals'](rval)})"
    if name == "umask":
        return argtypes.octal(rval)
    if name == "prctl" and fcntl_cmd & 0xFFFFFFFF == 52 and rval > 0:  # speculation flags
        return hex(rval)
    if name == "membarrier" and fcntl_cmd & 0xFFFFFFFF == 0 and rval > 0:
        return hex(rval)  # MEMBARRIER_CMD_QUERY: a mask
    return str(rval)


def errno_of(rval: int | None, is_error: bool) -> str | None:
    if rval is None or not is_error or not -4096 < rval < 0:
        return None
    return flags.errno_name(-rval)
