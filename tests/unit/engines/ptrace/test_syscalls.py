from __future__ import annotations

import pytest

from tracerd.engines.ptrace.syscalls import SyscallTable, build_table, parse_sysent
from tracerd.engines.ptrace.sysent import TABLE_X86_64
from tracerd.errors import BadRequest


def test_table_has_newer_syscalls_with_kernel_prototypes(table: SyscallTable) -> None:
    assert table.by_nr[435].name == "clone3"
    assert table.by_name["clone3"].args == (("uargs", "struct clone_args *"), ("size", "size_t"))
    assert table.by_name["openat2"].nr == 437
    assert table.by_name["close_range"].nr == 436
    assert table.by_name["stat"].args[0] == ("filename", "const char *")  # from newstat
    assert table.name(9999) == "syscall_0x270f"


def test_table_without_tracefs_has_anonymous_args() -> None:
    bare = build_table({})
    assert bare.by_name["openat"].args == tuple((f"arg{i}", "long") for i in range(4))


def test_sysent_numbers_are_unique_and_dense() -> None:
    entries = parse_sysent(TABLE_X86_64)
    numbers = [nr for nr, *_ in entries]
    assert len(numbers) == len(set(numbers))
    assert {0, 1, 59, 257, 435, 462} <= set(numbers)


@pytest.mark.parametrize(
    ("selector", "inside", "outside"),
    [
        ("%file", {"openat", "execve", "stat", "newfstatat"}, {"read", "close", "mmap"}),
        ("%desc", {"read", "close", "mmap", "openat"}, {"getpid"}),
        ("%process", {"clone", "clone3", "execve", "exit_group", "wait4", "kill"}, {"getpid"}),
        ("%network", {"socket", "connect", "sendto"}, {"read"}),
        ("%net", {"socket"}, {"open"}),
        ("%memory", {"mmap", "brk", "munmap", "mprotect"}, {"read"}),
        ("%signal", {"rt_sigaction", "kill", "rt_sigreturn"}, {"read"}),
        ("%ipc", {"shmget", "semop", "msgsnd"}, {"read"}),
    ],
)
def test_classes(table: SyscallTable, selector: str, inside: set[str], outside: set[str]) -> None:
    chosen = {table.name(nr) for nr in table.select([selector]) or ()}
    assert inside <= chosen
    assert not outside & chosen


def test_select_names_negation_and_all(table: SyscallTable) -> None:
    assert table.select([]) is None
    assert table.select(["openat", "close"]) == {257, 3}
    everything_but = table.select(["!read"]) or frozenset()
    assert 0 not in everything_but
    assert 1 in everything_but
    assert table.select(["%file", "!openat"]) == (table.select(["%file"]) or set()) - {257}


def test_unknown_name_suggests_close_matches(table: SyscallTable) -> None:
    with pytest.raises(BadRequest) as info:
        table.select(["opneat"])
    assert "openat" in info.value.detail["close"]
    with pytest.raises(BadRequest, match="unknown syscall or class '%files'"):
        table.select(["%files"])


def test_strace_filter_syntax(table: SyscallTable) -> None:
    assert table.select(["none"]) == frozenset()
    named = {table.name(nr) for nr in table.select(["/^getp[gip]"]) or ()}
    assert named == {"getpid", "getppid", "getpgrp", "getpgid"}
    assert table.select(["?nosuchcall", "read"]) == {0}
    assert table.select(["!%file"]) == frozenset(
        set(table.by_nr) - (table.select(["%file"]) or set())
    )
    assert 4 in (table.select(["%%stat"]) or ())
    with pytest.raises(BadRequest):
        table.select(["/("])
