"""Symbolic constants of x86-64 Linux as strace prints them (flags, modes, commands, signals).

Pure tables and small formatters; values are the kernel UAPI's (asm-generic/fcntl.h,
mman-common.h, sched.h, signal.h, socket.h, ...). Errno and signal names come from Python's
standard library, which reads them from the C library (python-ptrace's tables add nothing
there). Unknown bits are appended in hex, as strace does (`O_RDONLY|0x40000000`).
"""

from __future__ import annotations

import errno as _errno
import os
import signal as _signal
from collections.abc import Sequence

Table = Sequence[tuple[int, str]]

OPEN_FLAGS: Table = (
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
    (0o20200000, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o20000, "FASYNC"),
)
"""in strace's order (O_TMPFILE before O_DIRECTORY, which it contains; O_ASYNC as FASYNC)"""
ACCMODE = ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")
AT_FDCWD = -100
AT_FLAGS: Table = (
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
)
ACCESS_MODES: Table = ((4, "R_OK"), (2, "W_OK"), (1, "X_OK"))
PROT: Table = (
    (0x1, "PROT_READ"),
    (0x2, "PROT_WRITE"),
    (0x4, "PROT_EXEC"),
    (0x8, "PROT_SEM"),
    (0x01000000, "PROT_GROWSDOWN"),
    (0x02000000, "PROT_GROWSUP"),
)
MAP_TYPES = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
MAP_FLAGS: Table = (
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x10000, "MAP_NONBLOCK"),
    (0x20000, "MAP_STACK"),
    (0x40000, "MAP_HUGETLB"),
    (0x80000, "MAP_SYNC"),
    (0x100000, "MAP_FIXED_NOREPLACE"),
    (0x4000000, "MAP_UNINITIALIZED"),
)
CLONE_FLAGS: Table = (
    (0x00000100, "CLONE_VM"),
    (0x00000200, "CLONE_FS"),
    (0x00000400, "CLONE_FILES"),
    (0x00000800, "CLONE_SIGHAND"),
    (0x00001000, "CLONE_PIDFD"),
    (0x00002000, "CLONE_PTRACE"),
    (0x00004000, "CLONE_VFORK"),
    (0x00008000, "CLONE_PARENT"),
    (0x00010000, "CLONE_THREAD"),
    (0x00020000, "CLONE_NEWNS"),
    (0x00040000, "CLONE_SYSVSEM"),
    (0x00080000, "CLONE_SETTLS"),
    (0x00100000, "CLONE_PARENT_SETTID"),
    (0x00200000, "CLONE_CHILD_CLEARTID"),
    (0x00400000, "CLONE_DETACHED"),
    (0x00800000, "CLONE_UNTRACED"),
    (0x01000000, "CLONE_CHILD_SETTID"),
    (0x02000000, "CLONE_NEWCGROUP"),
    (0x04000000, "CLONE_NEWUTS"),
    (0x08000000, "CLONE_NEWIPC"),
    (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"),
    (0x40000000, "CLONE_NEWNET"),
    (0x80000000, "CLONE_IO"),
    (0x100000000, "CLONE_CLEAR_SIGHAND"),
    (0x200000000, "CLONE_INTO_CGROUP"),
)
WAIT_OPTIONS: Table = (
    (1, "WNOHANG"),
    (2, "WSTOPPED"),
    (4, "WEXITED"),
    (8, "WCONTINUED"),
    (0x01000000, "WNOWAIT"),
    (0x20000000, "__WNOTHREAD"),
    (0x40000000, "__WALL"),
    (0x80000000, "__WCLONE"),
)
SA_FLAGS: Table = (  # in strace's order
    (0x04000000, "SA_RESTORER"),
    (0x08000000, "SA_ONSTACK"),
    (0x10000000, "SA_RESTART"),
    (0x40000000, "SA_NODEFER"),
    (0x80000000, "SA_RESETHAND"),
    (0x00000004, "SA_SIGINFO"),
    (0x00000001, "SA_NOCLDSTOP"),
    (0x00000002, "SA_NOCLDWAIT"),
)
SOCK_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM", 5: "SOCK_SEQPACKET"}
SOCK_FLAGS: Table = ((0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK"))
ADDRESS_FAMILIES = {
    0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET",
}  # fmt: skip
FCNTL_CMDS = {
    0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 5: "F_GETLK",
    6: "F_SETLK", 7: "F_SETLKW", 8: "F_SETOWN", 9: "F_GETOWN", 10: "F_SETSIG", 11: "F_GETSIG",
    1024: "F_SETLEASE", 1025: "F_GETLEASE", 1026: "F_NOTIFY", 1030: "F_DUPFD_CLOEXEC",
    1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ", 1033: "F_ADD_SEALS", 1034: "F_GET_SEALS",
    36: "F_OFD_GETLK", 37: "F_OFD_SETLK", 38: "F_OFD_SETLKW", 15: "F_SETOWN_EX", 16: "F_GETOWN_EX",
}  # fmt: skip
IOCTLS = {
    0x5401: "TCGETS", 0x5402: "TCSETS", 0x5403: "TCSETSW", 0x5404: "TCSETSF",
    0x540F: "TIOCGPGRP", 0x5410: "TIOCSPGRP", 0x5413: "TIOCGWINSZ", 0x5414: "TIOCSWINSZ",
    0x541B: "FIONREAD", 0x5421: "FIONBIO", 0x5450: "FIONCLEX", 0x5451: "FIOCLEX",
    0x5452: "FIOASYNC", 0x540E: "TIOCSCTTY", 0x5422: "TIOCNOTTY", 0x80045430: "TIOCGPTN",
    0x40045431: "TIOCSPTLCK", 0x5429: "TIOCGSID", 0x80045432: "TIOCGDEV", 0x5409: "TCSBRK",
    0x540B: "TCFLSH", 0x540A: "TCXONC", 0x5412: "TIOCSTI", 0x5415: "TIOCMGET",
}  # fmt: skip
SEEK_WHENCE = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
SIGPROCMASK_HOW = {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"}
ARCH_PRCTL = {
    0x1001: "ARCH_SET_GS", 0x1002: "ARCH_SET_FS", 0x1003: "ARCH_GET_FS", 0x1004: "ARCH_GET_GS",
    0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID", 0x3001: "ARCH_CET_STATUS",
}  # fmt: skip
RLIMITS = dict(enumerate((
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
)))  # fmt: skip
CLOCKS = dict(enumerate((
    "CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID", "CLOCK_THREAD_CPUTIME_ID",
    "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME",
)))  # fmt: skip
FUTEX_OPS = dict(enumerate((
    "FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE",
    "FUTEX_WAKE_OP", "FUTEX_LOCK_PI", "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI", "FUTEX_WAIT_BITSET",
    "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI", "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2",
)))  # fmt: skip
GRND_FLAGS: Table = ((1, "GRND_NONBLOCK"), (2, "GRND_RANDOM"), (4, "GRND_INSECURE"))
MADVISE = {
    0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED",
    4: "MADV_DONTNEED", 8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK",
    11: "MADV_DOFORK", 12: "MADV_MERGEABLE", 13: "MADV_UNMERGEABLE", 14: "MADV_HUGEPAGE",
    15: "MADV_NOHUGEPAGE", 16: "MADV_DONTDUMP", 17: "MADV_DODUMP", 18: "MADV_WIPEONFORK",
    19: "MADV_KEEPONFORK", 20: "MADV_COLD", 21: "MADV_PAGEOUT", 22: "MADV_POPULATE_READ",
    23: "MADV_POPULATE_WRITE", 24: "MADV_DONTNEED_LOCKED", 25: "MADV_COLLAPSE",
    100: "MADV_HWPOISON", 101: "MADV_SOFT_OFFLINE",
}  # fmt: skip
S_IFMT = {
    0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG", 0o060000: "S_IFBLK",
    0o040000: "S_IFDIR", 0o020000: "S_IFCHR", 0o010000: "S_IFIFO",
}  # fmt: skip
# kernel-internal restart codes a tracer sees at syscall exit (include/linux/errno.h)
KERNEL_ERRNOS = {
    512: ("ERESTARTSYS", "To be restarted if SA_RESTART is set"),
    513: ("ERESTARTNOINTR", "To be restarted"),
    514: ("ERESTARTNOHAND", "To be restarted if no handler"),
    515: ("ENOIOCTLCMD", "No ioctl command"),
    516: ("ERESTART_RESTARTBLOCK", "Interrupted by signal"),
    517: ("EPROBE_DEFER", "Driver requests probe retry"),
    518: ("EOPENSTALE", "Open found a stale dentry"),
    521: ("EBADHANDLE", "Illegal NFS file handle"),
    524: ("ENOTSUPP", "Operation not supported"),
}


ENUM_PREFIXES = {"SECCOMP_": "SECCOMP_SET_MODE_", "IORING_": "IORING_REGISTER_"}


def enum_prefix(names: Sequence[str]) -> str:
    """`CLOCK_` of CLOCK_REALTIME, CLOCK_MONOTONIC..: strace's `0x4d /* CLOCK_??? */`."""
    common = min(names, default="")
    for name in names:
        while not name.startswith(common):
            common = common[:-1]
    common = common[: common.rfind("_") + 1]
    return ENUM_PREFIXES.get(common, common)


_PREFIXES: dict[int, str] = {}
"""a flag or enum table's prefix, by the table's id (tables are module constants)"""


def _prefix_of(table: Table | dict[int, str]) -> str:
    prefix = _PREFIXES.get(id(table))
    if prefix is None:
        names = table.values() if isinstance(table, dict) else [n for _, n in table]
        prefix = _PREFIXES[id(table)] = enum_prefix(list(names))
    return prefix


def bits(value: int, table: Table, zero: str = "0", comment: bool = True, prefix: str = "") -> str:
    """`A|B|0x40` for the set bits of value (each table entry's bits all set); bits none of
    which is known as strace prints them: `0x40 /* GRND_??? */`."""
    if value == 0:
        return zero
    names = []
    for mask, name in table:
        if value & mask == mask:
            names.append(name)
            value &= ~mask
    if value and not names and comment and (prefix or _prefix_of(table)):
        return f"{value:#x} /* {prefix or _prefix_of(table)}??? */"
    if value:
        names.append(hex(value))
    return "|".join(names)


STATX_MASK: Table = (
    (0xFFF, "STATX_ALL"),
    (0x7FF, "STATX_BASIC_STATS"),
    (0x1, "STATX_TYPE"), (0x2, "STATX_MODE"), (0x4, "STATX_NLINK"), (0x8, "STATX_UID"),
    (0x10, "STATX_GID"), (0x20, "STATX_ATIME"), (0x40, "STATX_MTIME"), (0x80, "STATX_CTIME"),
    (0x100, "STATX_INO"), (0x200, "STATX_SIZE"), (0x400, "STATX_BLOCKS"),
    (0x800, "STATX_BTIME"), (0x1000, "STATX_MNT_ID"), (0x2000, "STATX_DIOALIGN"),
    (0x4000, "STATX_MNT_ID_UNIQUE"), (0x8000, "STATX_SUBVOL"), (0x10000, "STATX_WRITE_ATOMIC"),
)  # fmt: skip
"""linux/stat.h; STATX_ALL and STATX_BASIC_STATS first, as strace's table has them"""
STATX_SYNC = {
    0: "AT_STATX_SYNC_AS_STAT",
    0x2000: "AT_STATX_FORCE_SYNC",
    0x4000: "AT_STATX_DONT_SYNC",
}


STATX_ATTRIBUTES: Table = (
    (0x4, "STATX_ATTR_COMPRESSED"), (0x10, "STATX_ATTR_IMMUTABLE"), (0x20, "STATX_ATTR_APPEND"),
    (0x40, "STATX_ATTR_NODUMP"), (0x800, "STATX_ATTR_ENCRYPTED"),
    (0x1000, "STATX_ATTR_AUTOMOUNT"), (0x2000, "STATX_ATTR_MOUNT_ROOT"),
    (0x100000, "STATX_ATTR_VERITY"), (0x200000, "STATX_ATTR_DAX"),
)  # fmt: skip
FADVISE = {
    0: "POSIX_FADV_NORMAL", 1: "POSIX_FADV_RANDOM", 2: "POSIX_FADV_SEQUENTIAL",
    3: "POSIX_FADV_WILLNEED", 4: "POSIX_FADV_DONTNEED", 5: "POSIX_FADV_NOREUSE",
}  # fmt: skip


def statx_flags(value: int) -> str:
    """statx's flags as strace prints them: the sync type always named, then AT_* bits."""
    value &= 0xFFFFFFFF
    sync = STATX_SYNC.get(value & 0x6000, hex(value & 0x6000))
    rest = bits(value & ~0x6000, AT_FLAGS, "", comment=False)
    return f"{sync}|{rest}" if rest else sync


def enum(value: int, table: dict[int, str]) -> str:
    """A table's name for value; else as strace: `0x7 /* SEEK_??? */`."""
    name = table.get(value)
    if name is not None:
        return name
    prefix = _prefix_of(table)
    if prefix:
        return f"{value & 0xFFFFFFFF:#x} /* {prefix}??? */"
    return hex(value) if value > 9 else str(value)


def open_flags(value: int) -> str:
    value &= 0xFFFFFFFF
    acc = ACCMODE[value & 3]
    rest = bits(value & ~3, OPEN_FLAGS, "", comment=False)
    return f"{acc}|{rest}" if rest else acc


def mode(value: int) -> str:
    return f"0{value & 0o7777:03o}"


def file_mode(value: int) -> str:
    """st_mode: `S_IFREG|0644`."""
    kind = S_IFMT.get(value & 0o170000)
    perm = f"0{value & 0o7777:03o}"
    return f"{kind}|{perm}" if kind else perm


HUGE_SHIFT = 26
HUGE_MASK = 0x3F << HUGE_SHIFT
"""MAP_HUGE_SHIFT/MFD_HUGE_SHIFT: a huge page size's log2, printed `21<<MAP_HUGE_SHIFT`"""


def huge_size(value: int, prefix: str) -> str:
    size = (value & HUGE_MASK) >> HUGE_SHIFT
    return f"|{size}<<{prefix}_HUGE_SHIFT" if size else ""


def mmap_flags(value: int) -> str:
    value &= 0xFFFFFFFF
    kind = MAP_TYPES.get(value & 0xF, hex(value & 0xF))
    rest = bits(value & ~0xF & ~HUGE_MASK, MAP_FLAGS, "", comment=False)
    return (f"{kind}|{rest}" if rest else kind) + huge_size(value, "MAP")


def signal_name(sig: int) -> str:
    if sig == 32:
        return "SIGRTMIN"
    if 32 < sig <= 64:
        return f"SIGRT_{sig - 32}"  # strace numbers real-time signals from the kernel's 32
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return str(sig)


def clone_flags(value: int) -> str:
    """Clone flags with the exit signal in the low byte (`...|SIGCHLD`)."""
    sig = value & 0xFF
    rest = bits(value & ~0xFF, CLONE_FLAGS, "", comment=False)
    parts = [p for p in (rest, signal_name(sig) if sig else "") if p]
    return "|".join(parts) or "0"


def socket_type(value: int) -> str:
    """`SOCK_STREAM|SOCK_CLOEXEC`; an unknown type as flags, as strace: `0x20 /* SOCK_??? */`."""
    value &= 0xFFFFFFFF
    kind = SOCK_TYPES.get(value & 0xF)
    if kind is None:
        return bits(value, SOCK_FLAGS) if value else "0 /* SOCK_??? */"
    rest = bits(value & ~0xF, SOCK_FLAGS, "", comment=False)
    return f"{kind}|{rest}" if rest else kind


def futex_op(value: int) -> str:
    """As strace: `FUTEX_WAKE_PRIVATE`, `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`."""
    cmd = value & 0x7F
    base = FUTEX_OPS.get(cmd)
    if base is None:
        base = ("FUTEX_PRIVATE_FLAG|" if value & 128 else "") + f"{cmd:#x} /* FUTEX_??? */"
    elif value & 128:
        base += "_PRIVATE"
    if value & 256:
        base += "|FUTEX_CLOCK_REALTIME"
    return base


def errno_name(err: int) -> str:
    name = _errno.errorcode.get(err)
    if name is None:
        return KERNEL_ERRNOS.get(err, (f"errno{err}", ""))[0]
    # glibc aliases: strace prints the canonical names
    return {"EDEADLOCK": "EDEADLK", "EWOULDBLOCK": "EAGAIN", "ENOTSUP": "EOPNOTSUPP"}.get(
        name, name
    )


def errno_text(err: int) -> str:
    if err in KERNEL_ERRNOS:
        return KERNEL_ERRNOS[err][1]
    return os.strerror(err)


def wait_status(status: int) -> str:
    """strace's `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]` rendering, without the brackets."""
    if os.WIFEXITED(status):
        return f"{{WIFEXITED(s) && WEXITSTATUS(s) == {os.WEXITSTATUS(status)}}}"
    if os.WIFSIGNALED(status):
        core = " && WCOREDUMP(s)" if os.WCOREDUMP(status) else ""
        return f"{{WIFSIGNALED(s) && WTERMSIG(s) == {signal_name(os.WTERMSIG(status))}{core}}}"
    if os.WIFSTOPPED(status):
        return f"{{WIFSTOPPED(s) && WSTOPSIG(s) == {signal_name(os.WSTOPSIG(status))}}}"
    if os.WIFCONTINUED(status):
        return "{WIFCONTINUED(s)}"
    return hex(status)


def sigset(mask: int) -> str:
    """strace's `[INT TERM]` (names without SIG), `~[...]` when more than half are set."""
    if mask.bit_count() > 32:
        inverse = ~mask & 0xFFFFFFFFFFFFFFFF
        return "~" + sigset(inverse) if inverse else "~[]"
    names = [signal_name(i + 1).removeprefix("SIG") for i in range(64) if mask >> i & 1]
    return "[" + " ".join(names) + "]"
