"""strace -y/-yy/-P pieces that need no tracee: -P's argument rules, the `<path>` forms,
descriptor names of this process (as the tracer reads a tracee's)."""

from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

from tracerd.engines.ptrace import fdpaths
from tracerd.engines.ptrace.plans import FdOptions, build_plan, render_args
from tracerd.engines.ptrace.syscalls import SyscallTable


def test_path_rules_as_strace() -> None:
    assert fdpaths.path_args("renameat2", "f") == (("fd", 0), ("fd", 2), ("path", 1), ("path", 3))
    assert fdpaths.path_args("mmap", "dm") == (("fd", 4),)
    assert fdpaths.path_args("socket", "n") == ()
    assert fdpaths.path_args("rename", "f") == (("path", 0),)  # the fallback: first argument
    assert fdpaths.path_args("fsync", "d") == (("fd", 0),)
    assert fdpaths.path_args("getpid", "Nu") == ()


def test_path_matches_strings_and_descriptors() -> None:
    paths = frozenset({"pf", "/dev/null"})
    rules = fdpaths.path_args("openat", "df")
    assert fdpaths.path_matches(rules, {1: (b"pf", True)}, paths)
    assert not fdpaths.path_matches(rules, {1: (b"./pf", True)}, paths)  # strings, as given
    assert fdpaths.path_matches(rules, {fdpaths.FD_QUIET_KEY: "/dev/null"}, paths)
    assert not fdpaths.path_matches(rules, {}, paths)


def test_bracketed_forms() -> None:
    assert fdpaths.bracketed("/tmp/a b") == "</tmp/a b>"
    assert fdpaths.bracketed("/tmp/x (deleted)") == "</tmp/x>(deleted)"
    assert fdpaths.bracketed("/tmp/\n") == "</tmp/\\n>"
    assert fdpaths.bracketed('UNIX:[5,"s"]') == '<UNIX:[5,"s"]>'
    raw = struct.pack("=ii", 4, 5)
    assert fdpaths.pair(raw, ("pipe:[9]", "pipe:[9]")) == "[4<pipe:[9]>, 5<pipe:[9]>]"


def test_own_descriptors(tmp_path: Path) -> None:
    pid = os.getpid()
    with open(tmp_path / "f", "w") as f:
        assert fdpaths.fd_name(pid, f.fileno(), 1) == str(tmp_path / "f")
    assert fdpaths.fd_name(pid, -100, 2) == os.getcwd()
    assert fdpaths.fd_name(pid, -1, 1) is None
    with open("/dev/null") as null:
        assert fdpaths.fd_name(pid, null.fileno(), 2) == "/dev/null<char 1:3>"
    a, b = socket.socketpair()
    with a, b:
        cache: dict[int, str] = {}
        name = fdpaths.fd_name(pid, a.fileno(), 2, cache)
        ino_a = os.fstat(a.fileno()).st_ino
        ino_b = os.fstat(b.fileno()).st_ino
        assert name == f"UNIX-STREAM:[{ino_a}->{ino_b}]"
        assert cache == {ino_a: name}
        assert fdpaths.fd_name(pid, a.fileno(), 1) == f"socket:[{ino_a}]"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert fdpaths.fd_name(pid, s.fileno(), 2) == f"TCP:[127.0.0.1:{port}]"


def test_plans_fetch_and_render_descriptor_names(table: SyscallTable) -> None:
    plan = build_plan(table.by_name["read"], 32, FdOptions(level=1))
    assert (0, "fdpath", 1) in plan.entry
    fetched = {fdpaths.FD_KEY: "/etc/hostname", 1: b"vm\n"}
    assert render_args(plan, [3, 1, 8], fetched, True, 3)[0] == "3</etc/hostname>"
    plan = build_plan(table.by_name["openat"], 32, FdOptions(level=1))
    assert (0, "fdret", 1) in plan.exit
    plan = build_plan(table.by_name["pipe2"], 32, FdOptions(level=2))
    assert (0, "fdpair", 2) in plan.exit
    plan = build_plan(table.by_name["read"], 32, FdOptions(paths=frozenset({"x"})))
    assert (0, "fdpath", 0) in plan.entry
    assert plan.touches == (("fd", 0),)
    plain = build_plan(table.by_name["read"], 32)
    assert not any(f[1].startswith("fdp") for f in plain.entry)
    assert plain.touches == ()


def test_poll_names_and_ignored_entries() -> None:
    from tracerd.engines.ptrace import structs

    data = struct.pack("=ihh", 3, 1, 0) + struct.pack("=ihh", -1, 1, 0)
    assert structs.pollfds(data, names=["<pipe:[9]>"]) == (
        "[{fd=3<pipe:[9]>, events=POLLIN}, {fd=-1}]"
    )
    assert structs.pollfds(data) == "[{fd=3, events=POLLIN}, {fd=-1}]"
