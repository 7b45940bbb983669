from __future__ import annotations

import os
import struct

import pytest

from tracerd.engines.ptrace import flags, plans, structs
from tracerd.engines.ptrace.plans import build_plan, errno_of, render_args, render_return
from tracerd.engines.ptrace.syscalls import SyscallTable


def render(table: SyscallTable, name: str, args: list[int], fetched: dict[int, object]) -> str:
    plan = build_plan(table.by_name[name], 32)
    return ", ".join(render_args(plan, args, fetched, True, 0))


def test_openat_plan_and_rendering(table: SyscallTable) -> None:
    plan = build_plan(table.by_name["openat"], 32)
    assert plan.entry == ((1, "str", 4096),)
    assert plan.exit == ()
    text = render(
        table, "openat", [2**64 - 100, 0x1000, 0o2000000, 0], {1: (b"/etc/hostname", True)}
    )
    assert text == 'AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC'
    creat = render(table, "openat", [3, 0x1000, 0o101 | 0o1000, 0o644], {1: (b"x", True)})
    assert creat == '3, "x", O_WRONLY|O_CREAT|O_TRUNC, 0644'


def test_read_write_buffers(table: SyscallTable) -> None:
    plan = build_plan(table.by_name["read"], 4)
    assert plan.exit == ((1, "obuf", 0),)
    assert render_args(plan, [3, 0x10, 832], {1: b"\x7fELF"}, True, 832) == [
        "3",
        '"\\177ELF"...',
        "832",
    ]
    write = render(table, "write", [1, 0x10, 6], {1: (b"hello\n", 6)})
    assert write == '1, "hello\\n", 6'


def test_default_plan_from_prototype(table: SyscallTable) -> None:
    plan = build_plan(table.by_name["chroot"], 32)  # no hand-written spec
    assert plan.kinds == ("path",)
    assert build_plan(table.by_name["getpgid"], 32).kinds == ("d",)
    assert build_plan(table.by_name["ioprio_get"], 32).kinds == ("d", "d")


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("mmap", [0, 8192, 3, 0x22, 2**64 - 1, 0],
         "NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0"),
        ("mprotect", [0x7F0000, 4096, 0], "0x7f0000, 4096, PROT_NONE"),
        ("clone", [0x01200011, 0, 0, 0x7FAA, 0],
         "child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
         "child_tidptr=0x7faa"),
        ("futex", [0x10, 0x189, 5, 0, 0, 0xFFFFFFFF],
         "0x10, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 5, NULL, "
         "FUTEX_BITSET_MATCH_ANY"),
        ("futex", [0x10, 0x81, 1, 0, 0, 0], "0x10, FUTEX_WAKE_PRIVATE, 1"),
        ("access", [0x10, 4], "0x10, R_OK"),
        ("socket", [1, 0x80801, 0], "AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0"),
        ("lseek", [3, 0, 1], "3, 0, SEEK_CUR"),
        ("kill", [42, 15], "42, SIGTERM"),
        ("fcntl", [3, 1, 0], "3, F_GETFD"),
        ("fcntl", [3, 2, 1], "3, F_SETFD, FD_CLOEXEC"),
        ("fcntl", [3, 4, 0o4002], "3, F_SETFL, O_RDWR|O_NONBLOCK"),
        ("fcntl", [3, 1030, 10], "3, F_DUPFD_CLOEXEC, 10"),
        ("arch_prctl", [0x1002, 0x7F00], "ARCH_SET_FS, 0x7f00"),
        ("wait4", [2**64 - 1, 0, 0, 0], "-1, NULL, 0, NULL"),
        ("futex", [0x10, 0x7F, 1, 0, 0, 0], "0x10, 0x7f /* FUTEX_??? */, 1, NULL, NULL, 0"),
        ("futex", [0x10, 0x83, 1, 0x7FFFFFFF, 0x20, 0],
         "0x10, FUTEX_REQUEUE_PRIVATE, 1, 2147483647, 0x20"),
        ("fadvise64", [3, 0, 0, 2], "3, 0, 0, POSIX_FADV_SEQUENTIAL"),
        ("clock_nanosleep", [1, 1, 0, 0], "CLOCK_MONOTONIC, TIMER_ABSTIME, NULL, NULL"),
    ],
)  # fmt: skip
def test_flag_rendering(table: SyscallTable, name: str, args: list[int], expected: str) -> None:
    assert render(table, name, args, {}) == expected


def test_structs() -> None:
    st = bytearray(144)
    struct.pack_into("=I", st, 24, 0o100644)
    struct.pack_into("=q", st, 48, 20)
    assert structs.stat(bytes(st)) == "{st_mode=S_IFREG|0644, st_size=20, ...}"
    struct.pack_into("=I", st, 24, 0o020666)
    struct.pack_into("=Q", st, 40, 0x103)
    assert structs.stat(bytes(st)) == "{st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}"
    assert structs.timespec(struct.pack("=qq", 1, 5)) == "{tv_sec=1, tv_nsec=5}"
    assert structs.wstatus(struct.pack("=i", 3 << 8)) == "[{WIFEXITED(s) && WEXITSTATUS(s) == 3}]"
    assert structs.int_pair(struct.pack("=ii", 3, 4)) == "[3, 4]"
    sun = struct.pack("=H", 1) + b"/run/x.sock\0"
    assert structs.sockaddr(sun) == '{sa_family=AF_UNIX, sun_path="/run/x.sock"}'
    sin = struct.pack("=H", 2) + struct.pack("!H", 80) + bytes([127, 0, 0, 1])
    assert structs.sockaddr(sin) == (
        '{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}'
    )


def test_open_flags_in_strace_order() -> None:
    """Orders strace 6.1 printed for the same values."""
    o = os
    assert flags.open_flags(o.O_NONBLOCK | o.O_CLOEXEC | o.O_DIRECTORY) == (
        "O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_DIRECTORY"
    )
    assert flags.open_flags(o.O_CLOEXEC | o.O_PATH | o.O_DIRECTORY) == (
        "O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY"
    )
    assert flags.open_flags(o.O_RDWR | o.O_TMPFILE) == "O_RDWR|O_TMPFILE"
    assert (
        flags.open_flags(o.O_DSYNC | o.O_CLOEXEC | o.O_ASYNC) == "O_RDONLY|O_DSYNC|O_CLOEXEC|FASYNC"
    )
    assert flags.open_flags(o.O_WRONLY | o.O_CREAT | o.O_EXCL | o.O_NOCTTY | o.O_TRUNC) == (
        "O_WRONLY|O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC"
    )


def test_getdents64_counts_entries_like_strace(table: SyscallTable) -> None:
    from tracerd.engines.ptrace.decode import dirent_count

    def dirent(name: bytes) -> bytes:
        reclen = (19 + len(name) + 1 + 7) // 8 * 8
        return struct.pack("=QqHB", 1, 0, reclen, 4) + name.ljust(reclen - 19, b"\0")

    assert dirent_count(dirent(b".") + dirent(b"..") + dirent(b"hostname")) == 3
    assert dirent_count(dirent(b"x")[:-4]) is None  # short read: no count
    plan = plans.build_plan(table.by_name["getdents64"], 32)
    assert plans.render_args(plan, [3, 0x1000, 32768], {1: 2}, True, 48) == [
        "3",
        "0x1000 /* 2 entries */",
        "32768",
    ]


def test_socket_calls_like_strace(table: SyscallTable) -> None:
    """As strace 6.1 printed a loopback TCP exchange and an unbound unix socket."""
    from tracerd.engines.ptrace.sockets import OUT_LEN_KEY

    def args_of(name: str, args: list[int], fetched: dict[int, object]) -> list[str]:
        plan = plans.build_plan(table.by_name[name], 32)
        return plans.render_args(plan, args, fetched, True, 0)

    assert args_of("socket", [2, 0x80001, 6], {}) == [
        "AF_INET", "SOCK_STREAM|SOCK_CLOEXEC", "IPPROTO_TCP",
    ]  # fmt: skip
    assert args_of("socket", [1, 2, 0], {}) == ["AF_UNIX", "SOCK_DGRAM", "0"]
    one = struct.pack("=i", 1)
    assert args_of("setsockopt", [3, 1, 2, 0x1000, 4], {3: (one, 4)}) == [
        "3", "SOL_SOCKET", "SO_REUSEADDR", "[1]", "4",
    ]  # fmt: skip
    sin = struct.pack("=H", 2) + struct.pack("!H", 80) + bytes([127, 0, 0, 1]) + bytes(8)
    fetched = {1: sin, 2: struct.pack("=I", 128), OUT_LEN_KEY: 16}
    assert args_of("accept4", [3, 0x1000, 0x2000, 0x80000], fetched) == [
        "3",
        '{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}',
        "[128 => 16]",
        "SOCK_CLOEXEC",
    ]
    unnamed = {1: struct.pack("=H", 1), 2: struct.pack("=I", 110), OUT_LEN_KEY: 2}
    assert args_of("getsockname", [6, 0x1000, 0x2000], unnamed) == [
        "6", "{sa_family=AF_UNIX}", "[110 => 2]",
    ]  # fmt: skip


def test_socket_options_like_strace(table: SyscallTable) -> None:
    """strace 6.1's socket options: every level's names, values printed by length (a
    timeval as its bytes, cut at -s), SO_ERROR as an errno, unknown levels and options."""
    from tracerd.engines.ptrace.sockets import OUT_LEN_KEY

    def args_of(name: str, args: list[int], fetched: dict[int, object], ok: bool = True) -> str:
        plan = plans.build_plan(table.by_name[name], 32)
        return ", ".join(plans.render_args(plan, args, fetched, ok, 0))

    tv = struct.pack("=qq", 2, 500000)
    assert args_of("setsockopt", [3, 1, 20, 0x10, 16], {3: (tv, 16)}) == (
        '3, SOL_SOCKET, SO_RCVTIMEO_OLD, "\\2\\0\\0\\0\\0\\0\\0\\0 \\241\\7\\0\\0\\0\\0\\0", 16'
    )
    assert args_of("setsockopt", [3, 1, 20, 0x10, 16], {3: (tv, 8)}).endswith("..., 16")
    four = struct.pack("=i", 64)
    assert args_of("setsockopt", [3, 0, 2, 0x10, 4], {3: (four, 4)}) == "3, SOL_IP, IP_TTL, [64], 4"
    assert args_of("setsockopt", [3, 999, 1, 0x10, 4], {3: (four, 4)}) == (
        "3, 0x3e7 /* SOL_?? */, 1, [64], 4"
    )
    assert args_of("setsockopt", [3, 6, 99, 0x10, 4], {3: (four, 4)}) == (
        "3, SOL_TCP, 0x63 /* TCP_??? */, [64], 4"
    )
    assert args_of("setsockopt", [3, 41, 26, 0x10, 4], {3: (four, 4)}).startswith(
        "3, SOL_IPV6, IPV6_V6ONLY"
    )
    small = {3: (b"\0\0", 2), 4: struct.pack("=I", 2), OUT_LEN_KEY: 2}
    assert args_of("getsockopt", [3, 1, 8, 0x10, 0x20], small) == (
        '3, SOL_SOCKET, SO_RCVBUF, "\\x00\\x00", [2]'
    )
    err = {3: (struct.pack("=i", 111), 4), 4: struct.pack("=I", 4), OUT_LEN_KEY: 4}
    assert args_of("getsockopt", [3, 1, 4, 0x10, 0x20], err) == (
        "3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]"
    )
    ucred = {3: (struct.pack("=iII", 42, 0, 0), 12), 4: struct.pack("=I", 12), OUT_LEN_KEY: 12}
    assert args_of("getsockopt", [3, 1, 17, 0x10, 0x20], ucred) == (
        "3, SOL_SOCKET, SO_PEERCRED, {pid=42, uid=0, gid=0}, [12]"
    )
    failed = {4: struct.pack("=I", 4)}
    assert args_of("getsockopt", [3, 1, 9999, 0x10, 0x20], failed, ok=False) == (
        "3, SOL_SOCKET, 0x270f /* SO_??? */, 0x10, [4]"
    )


def test_statx_like_strace() -> None:
    """The arguments and struct of `ls`'s statx, as strace 6.1 prints them."""
    assert flags.statx_flags(0x900) == "AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT"
    assert flags.statx_flags(0x4000) == "AT_STATX_DONT_SYNC"
    assert flags.bits(0x25E, flags.STATX_MASK) == (
        "STATX_MODE|STATX_NLINK|STATX_UID|STATX_GID|STATX_MTIME|STATX_SIZE"
    )
    stx = bytearray(48)
    struct.pack_into("=I", stx, 0, 0x17FF)
    struct.pack_into("=H", stx, 28, 0o100644)
    struct.pack_into("=Q", stx, 40, 3)
    assert structs.statx(bytes(stx)) == (
        "{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, stx_mode=S_IFREG|0644,"
        " stx_size=3, ...}"
    )


def test_quote_like_strace() -> None:
    assert structs.quote(b'a"b\\\n\t') == '"a\\"b\\\\\\n\\t"'
    assert structs.quote(b"\x00\x01a") == '"\\0\\1a"'
    assert structs.quote(b"\x001") == '"\\0001"'  # a digit follows: full octal
    assert structs.quote(b"abc", cut=True) == '"abc"...'
    assert structs.quote(b"\xd9\x0e", force_hex=True) == '"\\xd9\\x0e"'


def test_returns_and_errnos() -> None:
    assert render_return("openat", -2, True) == "-1 ENOENT (No such file or directory)"
    assert errno_of(-2, True) == "ENOENT"
    assert errno_of(3, False) is None
    assert render_return("mmap", 0x7F0000, False) == "0x7f0000"
    assert render_return("exit_group", None, False) == "?"
    assert (
        render_return("read", -512, True) == "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
    )
    assert render_return("fcntl", 1, False, 1) == "0x1 (flags FD_CLOEXEC)"
    assert render_return("fcntl", 0x8002, False, 3) == "0x8002 (flags O_RDWR|O_LARGEFILE)"


def test_signal_names_and_sets() -> None:
    assert flags.signal_name(17) == "SIGCHLD"
    assert flags.signal_name(33) == "SIGRT_1"
    assert flags.sigset(1 << 1 | 1 << 14) == "[INT TERM]"
    assert flags.sigset(~(1 << 32) & (2**64 - 1)) == "~[RT_1]"


def test_siginfo_text() -> None:
    from tracerd.engines.ptrace.decode import siginfo_text

    chld = struct.pack("=iii4xiIiqq", 17, 0, 1, 1234, 0, 3, 0, 0).ljust(128, b"\0")
    assert siginfo_text(17, chld) == (
        "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1234, si_uid=0, si_status=3, "
        "si_utime=0, si_stime=0}"
    )
    user = struct.pack("=iii4xiI", 10, 0, 0, 99, 1000).ljust(128, b"\0")
    assert siginfo_text(10, user) == "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=99, si_uid=1000}"
    segv = struct.pack("=iii4xQ", 11, 0, 1, 0).ljust(128, b"\0")
    assert siginfo_text(11, segv) == "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}"
    assert siginfo_text(15, None) == "{si_signo=SIGTERM}"


def test_sigaction_flags_in_strace_order_and_clone3_parent_tid(table: SyscallTable) -> None:
    act = struct.pack("=QQQQ", 0x1234, 0x1C000004, 0x5678, 0)
    assert structs.sigaction(act) == (
        "{sa_handler=0x1234, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO, "
        "sa_restorer=0x5678}"
    )
    assert flags.sigset(1 << 31 | 1 << 32) == "[RTMIN RT_1]"
    args = struct.pack("=8Q", 0x00100000, 0, 0, 0x10, 0, 0, 0, 0)
    plan = build_plan(table.by_name["clone3"], 32)
    shown = render_args(plan, [0x20, 88, 0, 0, 0, 0], {0: args, -1: 4242}, True, 4242)
    assert shown == [
        "{flags=CLONE_PARENT_SETTID, parent_tid=0x10, exit_signal=0, stack=NULL, "
        "stack_size=0} => {parent_tid=[4242]}",
        "88",
    ]


def test_holdout2_arguments_like_strace(table: SyscallTable) -> None:
    """Lines strace 6.1 printed for programs of bench/corpus/strace_holdout2 (the second
    holdout), argument by argument: ptrace requests, ioctls, fcntl commands, futex ops,
    prctl options and unknown flag/enum values."""

    def args_of(name: str, args: list[int], fetched: dict[int, object], ok: bool = True) -> str:
        plan = plans.build_plan(table.by_name[name], 32)
        return ", ".join(plans.render_args(plan, args, fetched, ok, 0))

    assert args_of("ptrace", [0, 0, 0, 0], {}, ok=False) == "PTRACE_TRACEME"
    assert args_of("ptrace", [2, 999999, 0x1000, 0x7FF0], {}, ok=False) == (
        "PTRACE_PEEKDATA, 999999, 0x1000, 0x7ff0"
    )
    assert args_of("ptrace", [16, 999999, 0, 0], {}) == "PTRACE_ATTACH, 999999"
    assert args_of("ptrace", [7, 999999, 0, 5], {}) == "PTRACE_CONT, 999999, NULL, SIGTRAP"
    assert args_of("ptrace", [0x4206, 9, 0, 0x11], {}) == (
        "PTRACE_SEIZE, 9, NULL, PTRACE_O_TRACESYSGOOD|PTRACE_O_TRACEEXEC"
    )
    assert args_of("ptrace", [12, 9, 0, 0], {}, ok=False) == "PTRACE_GETREGS, 9, NULL"
    assert args_of("ptrace", [12345, 9, 0, 0], {}, ok=False) == (
        "0x3039 /* PTRACE_??? */, 9, NULL, NULL"
    )
    assert args_of("ioctl", [6, 0x1234ABCD, 0], {}, ok=False) == (
        "6, _IOC(_IOC_NONE, 0xab, 0xcd, 0x1234), 0"
    )
    winsize = {2: struct.pack("=4H", 24, 80, 0, 0)}
    assert args_of("ioctl", [3, 0x5414, 0x10], winsize) == (
        "3, TIOCSWINSZ, {ws_row=24, ws_col=80, ws_xpixel=0, ws_ypixel=0}"
    )
    assert args_of("fcntl", [3, 10, 29], {}) == "3, F_SETSIG, SIGIO"
    assert args_of("fcntl", [6, 1026, 0x8000000C], {}) == (
        "6, F_NOTIFY, DN_CREATE|DN_DELETE|DN_MULTISHOT"
    )
    assert render_return("fcntl", 2, False, 1025) == "0x2 (F_UNLCK)"
    assert render_return("fcntl", 29, False, 11) == "29 (SIGIO)"
    wake_op = (1 << 28) | (1 << 12) | (4 << 24)
    assert args_of("futex", [0x10, 133, 1, 1, 0x20, wake_op], {}) == (
        "0x10, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x20, FUTEX_OP_ADD<<28|0x1<<12|FUTEX_OP_CMP_GT<<24|0"
    )
    assert args_of("futex", [0x10, 10, 1, 0, 0, 3], {}) == "0x10, FUTEX_WAKE_BITSET, 1, 0x3"
    assert args_of("prctl", [23, 200, 0, 0, 0], {}) == "PR_CAPBSET_READ, 0xc8 /* CAP_??? */"
    assert args_of("prctl", [47, 1, 13, 0, 0], {}) == (
        "PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_RAW, 0, 0"
    )
    assert args_of("lseek", [3, 0, 7], {}) == "3, 0, 0x7 /* SEEK_??? */"
    assert args_of("getrandom", [0x10, 16, 0x40], {}, ok=False) == "0x10, 16, 0x40 /* GRND_??? */"
    assert args_of("socket", [2, 0x20, 0], {}, ok=False) == (
        "AF_INET, 0x20 /* SOCK_??? */, IPPROTO_IP"
    )
    assert args_of("mmap", [0, 4096, 1, 0x8000023, 2**64 - 1, 0], {}, ok=False) == (
        "NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE|MAP_ANONYMOUS|2<<MAP_HUGE_SHIFT, -1, 0"
    )
