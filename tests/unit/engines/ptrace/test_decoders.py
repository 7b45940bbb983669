"""The data-driven decoders (argtypes, calls, structs): expected text is what strace 6.1
printed for the same calls in bench/corpus/strace."""

from __future__ import annotations

import struct
import time

import pytest

from tracerd.engines.ptrace import argtypes, calls, structs
from tracerd.engines.ptrace.plans import (
    AGAIN_KEY,
    build_plan,
    render_args,
    render_return,
)
from tracerd.engines.ptrace.syscalls import SyscallTable


def shown(
    table: SyscallTable,
    name: str,
    args: list[int],
    fetched: dict[int, object] | None = None,
    ok: bool = True,
    ret: int = 0,
) -> str:
    plan = build_plan(table.by_name[name], 32)
    return ", ".join(render_args(plan, args, fetched or {}, ok, ret))


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("kill", [0xDEAD000000000000 | 6610, 0], "6610, 0"),  # int: the low 32 bits
        ("fchownat", [2**64 - 100, 0, 0xFFFFFFFF, 0, 0], "AT_FDCWD, NULL, -1, 0, 0"),
        ("lseek", [0, 0xFFFFFFFF, 0], "0, 4294967295, SEEK_SET"),  # off_t: all 64 bits
        ("mlock", [0, 0], "NULL, 0"),
        ("epoll_create1", [0o2000000], "EPOLL_CLOEXEC"),
        ("flock", [3, 6], "3, LOCK_EX|LOCK_NB"),
        ("eventfd2", [3, 0o2004000], "3, EFD_CLOEXEC|EFD_NONBLOCK"),
        ("inotify_add_watch", [3, 0, 0x302], "3, NULL, IN_MODIFY|IN_CREATE|IN_DELETE"),
        ("prctl", [15, 0, 0, 0, 0], "PR_SET_NAME, NULL"),
        ("prctl", [3, 0, 0, 0, 0], "PR_GET_DUMPABLE"),
        ("prctl", [9999, 1, 2, 3, 4], "0x270f /* PR_??? */, 0x1, 0x2, 0x3, 0x4"),
        ("prctl", [38, 1, 0, 0, 0], "PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0"),
        ("kcmp", [5, 5, 1, 0, 0], "5, 5, KCMP_VM"),
        ("umask", [0xFFFF0000 | 0o22], "022"),
        ("mkdir", [0, 0], "NULL, 000"),
        ("mknodat", [2**64 - 100, 0, 0o10644, 0], "AT_FDCWD, NULL, S_IFIFO|0644"),
        ("shmget", [0, 4096, 0o1600], "IPC_PRIVATE, 4096, IPC_CREAT|0600"),
        ("clock_gettime", [77, 0], "0x4d /* CLOCK_??? */, NULL"),
        ("shutdown", [3, 2], "3, SHUT_RDWR"),
        ("preadv2", [3, 0, 2, 0, 0, 1], "3, NULL, 2, 0, RWF_HIPRI"),
        ("faccessat2", [2**64 - 100, 0, 4, 0x200], "AT_FDCWD, NULL, R_OK, AT_EACCESS"),
    ],
)
def test_register_kinds(table: SyscallTable, name: str, args: list[int], expected: str) -> None:
    assert shown(table, name, args) == expected


def test_bad_pointer_shows_the_address(table: SyscallTable) -> None:
    # nothing fetched (the read faulted): strace prints the address
    assert shown(table, "faccessat", [2**64 - 1, 0x18, 0], ok=False) == "-1, 0x18, F_OK"
    assert shown(table, "write", [1, 0x8, 4], ok=False) == "1, 0x8, 4"


def test_poll_and_its_return_annotation(table: SyscallTable) -> None:
    pollfds = struct.pack("=ihh", 3, 3, 0) + struct.pack("=ihh", 4, 4, 0)
    after = struct.pack("=ihh", 3, 3, 1) + struct.pack("=ihh", 4, 4, 4)
    fetched: dict[int, object] = {0: pollfds, AGAIN_KEY: after}
    assert shown(table, "poll", [0x10, 2, 100], fetched) == (
        "[{fd=3, events=POLLIN|POLLPRI}, {fd=4, events=POLLOUT}], 2, 100"
    )
    note = calls.return_note("poll", [0x10, 2, 100], fetched, 2)
    assert note == " ([{fd=3, revents=POLLIN}, {fd=4, revents=POLLOUT}])"
    assert calls.return_note("poll", [0x10, 1, 0], fetched, 0) == " (Timeout)"


def test_pselect6_sets_and_annotation(table: SyscallTable) -> None:
    rset, wset = (1 << 3).to_bytes(8, "little"), (1 << 4).to_bytes(8, "little")
    left = struct.pack("=qq", 0, 999)
    fetched: dict[int, object] = {
        1: rset, 2: wset, AGAIN_KEY + 1: rset, AGAIN_KEY + 2: wset, AGAIN_KEY + 4: left,
        4: struct.pack("=qq", 1, 0),
    }  # fmt: skip
    args = [5, 0x10, 0x20, 0, 0x30, 0]
    assert shown(table, "pselect6", args, fetched) == (
        "5, [3], [4], NULL, {tv_sec=1, tv_nsec=0}, NULL"
    )
    assert calls.return_note("pselect6", args, fetched, 2) == (
        " (in [3], out [4], left {tv_sec=0, tv_nsec=999})"
    )


def test_iovecs_in_and_out(table: SyscallTable) -> None:
    iov = [(b"hello ", 6, False), (b"world\n", 6, False)]
    assert shown(table, "writev", [3, 0x10, 2], {1: iov}) == (
        '3, [{iov_base="hello ", iov_len=6}, {iov_base="world\\n", iov_len=6}], 2'
    )
    read = [(b"hell", 4, False), (b"o world\n", 8, False)]
    assert shown(table, "readv", [3, 0x10, 2], {1: read}, ret=12) == (
        '3, [{iov_base="hell", iov_len=4}, {iov_base="o world\\n", iov_len=8}], 2'
    )


def test_structs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")  # the date comments are local time, as strace's
    time.tzset()
    assert structs.epoll_event(struct.pack("=IQ", 0x80000001, 7)) == (
        "{events=EPOLLIN|EPOLLET, data={u32=7, u64=7}}"
    )
    assert structs.itimerspec(struct.pack("=4q", 0, 0, 5, 0)) == (
        "{it_interval={tv_sec=0, tv_nsec=0}, it_value={tv_sec=5, tv_nsec=0}}"
    )
    lock = struct.pack("=hh4xqqi4x", 1, 0, 0, 10, 0)
    assert structs.flock(lock) == "{l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=10}"
    how = struct.pack("=QQQ", 0o101, 0o640, 0)
    assert structs.open_how(how) == "{flags=O_WRONLY|O_CREAT, mode=0640, resolve=0}"
    stack = struct.pack("=Qi4xQ", 0, 2, 0)
    assert structs.stack_t(stack) == "{ss_sp=NULL, ss_flags=SS_DISABLE, ss_size=0}"
    pair = struct.pack("=4q", 1, 2, 3, structs.UTIME_OMIT)
    assert structs.timespec_pair(pair) == (
        "[{tv_sec=1, tv_nsec=2} /* 1970-01-01T00:00:01.000000002+0000 */, UTIME_OMIT]"
    )


def test_returns() -> None:
    assert render_return("umask", 0o22, False) == "022"
    assert render_return("fcntl", 6, False, 1034) == "0x6 (seals F_SEAL_SHRINK|F_SEAL_GROW)"
    assert render_return("membarrier", 0x3FF, False, 0) == "0x3ff"
    assert argtypes.octal(0) == "000"
    assert argtypes.uid(0xFFFFFFFF) == "-1"
