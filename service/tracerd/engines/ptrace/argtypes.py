"""Argument kinds as data: integer widths and strace's flag and enum tables, by kind name.

A syscall's spec (parse.SPECS) names one kind per argument. The integer kinds cut the
register to the C width the kernel reads (`d` int, `ld` long/off_t, `u32` unsigned int,
`uid` uid_t/gid_t with -1 as strace prints it, `u` unsigned long/size_t, `x` hex); the
flag kinds (`FLAGS`) and enum kinds (`ENUMS`) are tables with the width they are read at,
printed as strace prints them (unknown bits appended in hex, unknown values as numbers).
`default_kind` picks the kind of an argument without a spec from its kernel prototype.
"""

from __future__ import annotations

from collections.abc import Callable

from . import flags
from .flags import Table

O_CLOEXEC = 0o2000000
O_NONBLOCK = 0o4000


def s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def s64(value: int) -> int:
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value & (1 << 63) else value


def uid(value: int) -> str:
    value &= 0xFFFFFFFF
    return "-1" if value == 0xFFFFFFFF else str(value)


def octal(value: int) -> str:
    """strace's `%#03o`: `000`, `022`, `0644`, `04755`."""
    value &= 0xFFFFFFFF
    return f"0{value:o}" if value else "000"


INTEGERS: dict[str, Callable[[int], str]] = {
    "d": lambda v: str(s32(v)),
    "ld": lambda v: str(s64(v)),
    "u32": lambda v: str(v & 0xFFFFFFFF),
    "u": lambda v: str(v & 0xFFFFFFFFFFFFFFFF),
    "x": lambda v: hex(v) if v else "0",
    "x32": lambda v: hex(v & 0xFFFFFFFF) if v & 0xFFFFFFFF else "0",
    "uid": uid,
    "o": octal,
}

IN_LOW_BITS = [
    "IN_ACCESS",
    "IN_MODIFY",
    "IN_ATTRIB",
    "IN_CLOSE_WRITE",
    "IN_CLOSE_NOWRITE",
    "IN_OPEN",
    "IN_MOVED_FROM",
    "IN_MOVED_TO",
    "IN_CREATE",
    "IN_DELETE",
    "IN_DELETE_SELF",
    "IN_MOVE_SELF",
]
"""inotify's mask bits 0..11, in order"""
FLAGS: dict[str, tuple[Table, str]] = {
    "efd_flags": (
        ((1, "EFD_SEMAPHORE"), (O_CLOEXEC, "EFD_CLOEXEC"), (O_NONBLOCK, "EFD_NONBLOCK")),
        "0",
    ),
    "epoll_flags": (((O_CLOEXEC, "EPOLL_CLOEXEC"),), "0"),
    "sfd_flags": (((O_CLOEXEC, "SFD_CLOEXEC"), (O_NONBLOCK, "SFD_NONBLOCK")), "0"),
    "tfd_flags": (((O_CLOEXEC, "TFD_CLOEXEC"), (O_NONBLOCK, "TFD_NONBLOCK")), "0"),
    "tfd_settime": (((1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET")), "0"),
    "in_init": (((O_NONBLOCK, "IN_NONBLOCK"), (O_CLOEXEC, "IN_CLOEXEC")), "0"),
    "in_mask": (
        (
            *((1 << i, n) for i, n in enumerate(IN_LOW_BITS)),
            (0x2000, "IN_UNMOUNT"),
            (0x4000, "IN_Q_OVERFLOW"),
            (0x8000, "IN_IGNORED"),
            (0x01000000, "IN_ONLYDIR"),
            (0x02000000, "IN_DONT_FOLLOW"),
            (0x04000000, "IN_EXCL_UNLINK"),
            (0x10000000, "IN_MASK_CREATE"),
            (0x20000000, "IN_MASK_ADD"),
            (0x40000000, "IN_ISDIR"),
            (0x80000000, "IN_ONESHOT"),
        ),
        "0",
    ),
    "mfd_flags": (
        (
            (1, "MFD_CLOEXEC"),
            (2, "MFD_ALLOW_SEALING"),
            (4, "MFD_HUGETLB"),
            (8, "MFD_NOEXEC_SEAL"),
            (16, "MFD_EXEC"),
        ),
        "0",
    ),
    "seals": (
        (
            (1, "F_SEAL_SEAL"),
            (2, "F_SEAL_SHRINK"),
            (4, "F_SEAL_GROW"),
            (8, "F_SEAL_WRITE"),
            (16, "F_SEAL_FUTURE_WRITE"),
            (32, "F_SEAL_EXEC"),
        ),
        "0",
    ),
    "splice_flags": (
        (
            (1, "SPLICE_F_MOVE"),
            (2, "SPLICE_F_NONBLOCK"),
            (4, "SPLICE_F_MORE"),
            (8, "SPLICE_F_GIFT"),
        ),
        "0",
    ),
    "falloc": (
        (
            (1, "FALLOC_FL_KEEP_SIZE"),
            (2, "FALLOC_FL_PUNCH_HOLE"),
            (4, "FALLOC_FL_NO_HIDE_STALE"),
            (8, "FALLOC_FL_COLLAPSE_RANGE"),
            (16, "FALLOC_FL_ZERO_RANGE"),
            (32, "FALLOC_FL_INSERT_RANGE"),
            (64, "FALLOC_FL_UNSHARE_RANGE"),
        ),
        "0",
    ),
    "close_range": (((2, "CLOSE_RANGE_UNSHARE"), (4, "CLOSE_RANGE_CLOEXEC")), "0"),
    "flock": (
        ((1, "LOCK_SH"), (2, "LOCK_EX"), (4, "LOCK_NB"), (8, "LOCK_UN"), (32, "LOCK_MAND")),
        "0",
    ),
    "msg_flags": (
        (
            (0x1, "MSG_OOB"),
            (0x2, "MSG_PEEK"),
            (0x4, "MSG_DONTROUTE"),
            (0x8, "MSG_CTRUNC"),
            (0x10, "MSG_PROBE"),
            (0x20, "MSG_TRUNC"),
            (0x40, "MSG_DONTWAIT"),
            (0x80, "MSG_EOR"),
            (0x100, "MSG_WAITALL"),
            (0x200, "MSG_FIN"),
            (0x400, "MSG_SYN"),
            (0x800, "MSG_CONFIRM"),
            (0x1000, "MSG_RST"),
            (0x2000, "MSG_ERRQUEUE"),
            (0x4000, "MSG_NOSIGNAL"),
            (0x8000, "MSG_MORE"),
            (0x10000, "MSG_WAITFORONE"),
            (0x40000, "MSG_BATCH"),
            (0x4000000, "MSG_ZEROCOPY"),
            (0x20000000, "MSG_FASTOPEN"),
            (0x40000000, "MSG_CMSG_CLOEXEC"),
        ),
        "0",
    ),
    "rwf": (
        (
            (1, "RWF_HIPRI"),
            (2, "RWF_DSYNC"),
            (4, "RWF_SYNC"),
            (8, "RWF_NOWAIT"),
            (16, "RWF_APPEND"),
        ),
        "0",
    ),
    "resolve": (
        (
            (0x1, "RESOLVE_NO_XDEV"),
            (0x2, "RESOLVE_NO_MAGICLINKS"),
            (0x4, "RESOLVE_NO_SYMLINKS"),
            (0x8, "RESOLVE_BENEATH"),
            (0x10, "RESOLVE_IN_ROOT"),
            (0x20, "RESOLVE_CACHED"),
        ),
        "0",
    ),
    "msync": (((1, "MS_ASYNC"), (4, "MS_SYNC"), (2, "MS_INVALIDATE")), "0"),
    "landlock_flags": (((1, "LANDLOCK_CREATE_RULESET_VERSION"),), "0"),
    "mlock2": (((1, "MLOCK_ONFAULT"),), "0"),
    "mcl": (((1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT")), "0"),
    "mremap": (((1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"), (4, "MREMAP_DONTUNMAP")), "0"),
    "rename": (((1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")), "0"),
    "xattr": (((1, "XATTR_CREATE"), (2, "XATTR_REPLACE")), "0"),
    "sync_file_range": (
        (
            (1, "SYNC_FILE_RANGE_WAIT_BEFORE"),
            (2, "SYNC_FILE_RANGE_WRITE"),
            (4, "SYNC_FILE_RANGE_WAIT_AFTER"),
        ),
        "0",
    ),
    "ipc_flags": (((0o1000, "IPC_CREAT"), (0o2000, "IPC_EXCL"), (0o4000, "IPC_NOWAIT")), "0"),
    "shm_flags": (
        (
            (0o10000, "SHM_RDONLY"),
            (0o20000, "SHM_RND"),
            (0o40000, "SHM_REMAP"),
            (0o100000, "SHM_EXEC"),
        ),
        "0",
    ),
    "msgrcv_flags": (
        (
            (0o10000, "MSG_NOERROR"),
            (0o20000, "MSG_EXCEPT"),
            (0o40000, "MSG_COPY"),
            (0o4000, "IPC_NOWAIT"),
        ),
        "0",
    ),
    "ss_flags": (((1, "SS_ONSTACK"), (2, "SS_DISABLE"), (1 << 31, "SS_AUTODISARM")), "0"),
    "pidfd_open": (((O_NONBLOCK, "PIDFD_NONBLOCK"),), "0"),
    "uring_enter": (
        (
            (1, "IORING_ENTER_GETEVENTS"),
            (2, "IORING_ENTER_SQ_WAKEUP"),
            (4, "IORING_ENTER_SQ_WAIT"),
            (8, "IORING_ENTER_EXT_ARG"),
            (16, "IORING_ENTER_REGISTERED_RING"),
        ),
        "0",
    ),
    "sem_flags": (((0x1000, "SEM_UNDO"), (0o4000, "IPC_NOWAIT")), "0"),
    "at_eaccess": (
        ((0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_EACCESS"), (0x1000, "AT_EMPTY_PATH")),
        "0",
    ),
}
ENUMS: dict[str, dict[int, str]] = {
    "epoll_ctl": {1: "EPOLL_CTL_ADD", 2: "EPOLL_CTL_DEL", 3: "EPOLL_CTL_MOD"},
    "shutdown": {0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"},
    "itimer": {0: "ITIMER_REAL", 1: "ITIMER_VIRTUAL", 2: "ITIMER_PROF"},
    "rusage_who": {0: "RUSAGE_SELF", -1: "RUSAGE_CHILDREN", -2: "RUSAGE_BOTH", 1: "RUSAGE_THREAD"},
    "prio_which": {0: "PRIO_PROCESS", 1: "PRIO_PGRP", 2: "PRIO_USER"},
    "sched_policy": {
        0: "SCHED_OTHER",
        1: "SCHED_FIFO",
        2: "SCHED_RR",
        3: "SCHED_BATCH",
        5: "SCHED_IDLE",
        6: "SCHED_DEADLINE",
    },
    "membarrier": {
        0: "MEMBARRIER_CMD_QUERY",
        1: "MEMBARRIER_CMD_GLOBAL",
        2: "MEMBARRIER_CMD_GLOBAL_EXPEDITED",
        4: "MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED",
        8: "MEMBARRIER_CMD_PRIVATE_EXPEDITED",
        16: "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED",
        32: "MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE",
        64: "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE",
        128: "MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ",
        256: "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ",
    },
    "ipc_cmd": {0: "IPC_RMID", 1: "IPC_SET", 2: "IPC_STAT", 3: "IPC_INFO"},
    "semctl": {
        0: "IPC_RMID",
        1: "IPC_SET",
        2: "IPC_STAT",
        3: "IPC_INFO",
        11: "GETPID",
        12: "GETVAL",
        13: "GETALL",
        14: "GETNCNT",
        15: "GETZCNT",
        16: "SETVAL",
        17: "SETALL",
        18: "SEM_STAT",
        19: "SEM_INFO",
        20: "SEM_STAT_ANY",
    },
    "shmctl": {
        0: "IPC_RMID",
        1: "IPC_SET",
        2: "IPC_STAT",
        3: "IPC_INFO",
        11: "SHM_LOCK",
        12: "SHM_UNLOCK",
        13: "SHM_STAT",
        14: "SHM_INFO",
        15: "SHM_STAT_ANY",
    },
    "msgctl": {
        0: "IPC_RMID",
        1: "IPC_SET",
        2: "IPC_STAT",
        3: "IPC_INFO",
        11: "MSG_STAT",
        12: "MSG_INFO",
        13: "MSG_STAT_ANY",
    },
    "kcmp": {
        0: "KCMP_FILE",
        1: "KCMP_VM",
        2: "KCMP_FILES",
        3: "KCMP_FS",
        4: "KCMP_SIGHAND",
        5: "KCMP_IO",
        6: "KCMP_SYSVSEM",
        7: "KCMP_EPOLL_TFD",
    },
    "prctl": {
        1: "PR_SET_PDEATHSIG",
        2: "PR_GET_PDEATHSIG",
        3: "PR_GET_DUMPABLE",
        4: "PR_SET_DUMPABLE",
        5: "PR_GET_UNALIGN",
        6: "PR_SET_UNALIGN",
        7: "PR_GET_KEEPCAPS",
        8: "PR_SET_KEEPCAPS",
        13: "PR_GET_TIMING",
        14: "PR_SET_TIMING",
        15: "PR_SET_NAME",
        16: "PR_GET_NAME",
        21: "PR_GET_SECCOMP",
        22: "PR_SET_SECCOMP",
        23: "PR_CAPBSET_READ",
        24: "PR_CAPBSET_DROP",
        25: "PR_GET_TSC",
        26: "PR_SET_TSC",
        27: "PR_GET_SECUREBITS",
        28: "PR_SET_SECUREBITS",
        29: "PR_SET_TIMERSLACK",
        30: "PR_GET_TIMERSLACK",
        31: "PR_TASK_PERF_EVENTS_DISABLE",
        32: "PR_TASK_PERF_EVENTS_ENABLE",
        33: "PR_MCE_KILL",
        34: "PR_MCE_KILL_GET",
        35: "PR_SET_MM",
        36: "PR_SET_CHILD_SUBREAPER",
        37: "PR_GET_CHILD_SUBREAPER",
        38: "PR_SET_NO_NEW_PRIVS",
        39: "PR_GET_NO_NEW_PRIVS",
        40: "PR_GET_TID_ADDRESS",
        41: "PR_SET_THP_DISABLE",
        42: "PR_GET_THP_DISABLE",
        47: "PR_CAP_AMBIENT",
        52: "PR_GET_SPECULATION_CTRL",
        53: "PR_SET_SPECULATION_CTRL",
        0x59616D61: "PR_SET_PTRACER",
    },
    "clock": dict(flags.CLOCKS)
    | {8: "CLOCK_REALTIME_ALARM", 9: "CLOCK_BOOTTIME_ALARM", 11: "CLOCK_TAI"},
    "keyctl": {
        0: "KEYCTL_GET_KEYRING_ID",
        1: "KEYCTL_JOIN_SESSION_KEYRING",
        2: "KEYCTL_UPDATE",
        3: "KEYCTL_REVOKE",
        4: "KEYCTL_CHOWN",
        5: "KEYCTL_SETPERM",
        6: "KEYCTL_DESCRIBE",
        7: "KEYCTL_CLEAR",
        8: "KEYCTL_LINK",
        9: "KEYCTL_UNLINK",
        10: "KEYCTL_SEARCH",
        11: "KEYCTL_READ",
        12: "KEYCTL_INSTANTIATE",
        13: "KEYCTL_NEGATE",
        14: "KEYCTL_SET_REQKEY_KEYRING",
        15: "KEYCTL_SET_TIMEOUT",
        16: "KEYCTL_ASSUME_AUTHORITY",
        17: "KEYCTL_GET_SECURITY",
        18: "KEYCTL_SESSION_TO_PARENT",
        19: "KEYCTL_REJECT",
        20: "KEYCTL_INSTANTIATE_IOV",
        21: "KEYCTL_INVALIDATE",
        22: "KEYCTL_GET_PERSISTENT",
    },
    "keyring": {
        -1: "KEY_SPEC_THREAD_KEYRING",
        -2: "KEY_SPEC_PROCESS_KEYRING",
        -3: "KEY_SPEC_SESSION_KEYRING",
        -4: "KEY_SPEC_USER_KEYRING",
        -5: "KEY_SPEC_USER_SESSION_KEYRING",
        -6: "KEY_SPEC_GROUP_KEYRING",
        -7: "KEY_SPEC_REQKEY_AUTH_KEY",
    },
    "seccomp_op": {
        0: "SECCOMP_SET_MODE_STRICT",
        1: "SECCOMP_SET_MODE_FILTER",
        2: "SECCOMP_GET_ACTION_AVAIL",
        3: "SECCOMP_GET_NOTIF_SIZES",
    },
    "ioprio_which": {1: "IOPRIO_WHO_PROCESS", 2: "IOPRIO_WHO_PGRP", 3: "IOPRIO_WHO_USER"},
    "uring_register": dict(enumerate((
        "IORING_REGISTER_BUFFERS", "IORING_UNREGISTER_BUFFERS", "IORING_REGISTER_FILES",
        "IORING_UNREGISTER_FILES", "IORING_REGISTER_EVENTFD", "IORING_UNREGISTER_EVENTFD",
        "IORING_REGISTER_FILES_UPDATE", "IORING_REGISTER_EVENTFD_ASYNC", "IORING_REGISTER_PROBE",
        "IORING_REGISTER_PERSONALITY", "IORING_UNREGISTER_PERSONALITY",
        "IORING_REGISTER_RESTRICTIONS", "IORING_REGISTER_ENABLE_RINGS", "IORING_REGISTER_FILES2",
        "IORING_REGISTER_FILES_UPDATE2", "IORING_REGISTER_BUFFERS2",
        "IORING_REGISTER_BUFFERS_UPDATE", "IORING_REGISTER_IOWQ_AFF",
        "IORING_UNREGISTER_IOWQ_AFF", "IORING_REGISTER_IOWQ_MAX_WORKERS",
        "IORING_REGISTER_RING_FDS", "IORING_UNREGISTER_RING_FDS", "IORING_REGISTER_PBUF_RING",
        "IORING_UNREGISTER_PBUF_RING", "IORING_REGISTER_SYNC_CANCEL",
        "IORING_REGISTER_FILE_ALLOC_RANGE",
    ))),
}  # fmt: skip


def _flag_formatter(table: Table, zero: str) -> Callable[[int], str]:
    return lambda v: flags.bits(v & 0xFFFFFFFF, table, zero)


enum_prefix = flags.enum_prefix


def _enum_formatter(table: dict[int, str]) -> Callable[[int], str]:
    prefix = enum_prefix(list(table.values()))
    if all(k < 0 for k in table):  # special ids (KEY_SPEC_*): other values are plain ids
        return lambda v: table.get(s32(v), str(s32(v)))

    def fmt(v: int) -> str:
        value = s32(v)
        name = table.get(value)
        if name is not None:
            return name
        return f"{value & 0xFFFFFFFF:#x} /* {prefix}??? */" if prefix else str(value)

    return fmt


FORMATTERS: dict[str, Callable[[int], str]] = {
    **INTEGERS,
    **{k: _flag_formatter(t, z) for k, (t, z) in FLAGS.items()},
    **{k: _enum_formatter(t) for k, t in ENUMS.items()},
}
"""every kind that prints from the register alone"""

_SIGNED32 = frozenset(
    {"int", "pid_t", "clockid_t", "key_serial_t", "timer_t", "mqd_t", "rwf_t", "key_t", "long int"}
    - {"long int"}
)
_SIGNED64 = frozenset({"long", "off_t", "loff_t", "ssize_t", "__s64", "s64", "long long"})
_UNSIGNED32 = frozenset({"unsigned int", "unsigned", "u32", "__u32", "uint32_t", "qid_t"})
_UIDS = frozenset({"uid_t", "gid_t", "old_uid_t", "old_gid_t"})
_FD_NAMES = frozenset(
    {"fd", "oldfd", "newfd", "fd_in", "fd_out", "epfd", "out_fd", "in_fd", "pidfd"}
)
_DIRFD_NAMES = frozenset({"dfd", "olddfd", "newdfd", "dirfd", "from_dfd", "to_dfd"})


def default_kind(arg: str, ctype: str) -> str:
    """The kind of an argument without a spec, from its name and C type."""
    ctype = ctype.replace("__user", "").strip()
    if "*" in ctype:
        is_const_char = ctype.replace(" ", "") == "constchar*"
        if is_const_char and "buf" not in arg:
            return "path"
        return "p"
    if arg in _DIRFD_NAMES:
        return "dirfd"
    if arg in _FD_NAMES or (arg.endswith("fd") and "int" in ctype):
        return "fd"
    if ctype == "umode_t":
        return "o"
    if ctype in _UIDS:
        return "uid"
    if ctype in _SIGNED32:
        return "d"
    if ctype in _SIGNED64:
        return "ld"
    if ctype in _UNSIGNED32:
        return "u32"
    return "u"
