"""ptrace syscalls stored compact (`fields.compact_syscall`): the strace line once, `args`,
`text`, `ret`, `errno` and `duration_ns` rebuilt on read. Every read path gives back the very
JSON the worker sent: the events API, exports, `from_seq` replay and JSON-path reports."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from tracerd.api.stream import stored_messages
from tracerd.fields import COMPACT_MARK, compact_syscall, dump_fields, expand_syscall
from tracerd.reports.export.rows import iter_chunks
from tracerd.reports.query import field_expr
from tracerd.storage.queries import EventFilter
from tracerd.storage.replay import Escaped
from tracerd.storage.tables import EventRow
from tracerd.workers import wire

from .test_data_path import T0, Env

U64 = (1 << 64) - 1
ENOENT = "-1 ENOENT (No such file or directory)"
ENODATA = "-1 ENODATA (No data available)"
MMAP = ["NULL", "8192", "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS", "-1", "0"]


def syscall(
    name: str,
    args: list[str],
    raws: list[int],
    ret: int | None,
    ret_text: str,
    errno: str | None = None,
    dur: int = 1234,
) -> tuple[str, dict[str, Any], int | None, str | None, int]:
    """(name, fields, ret, errno, dur) as engines/ptrace/decode.py emits a traced call."""
    fields = {
        "args": args,
        "raw_args": raws,
        "ret": ret,
        "errno": errno,
        "duration_ns": dur,
        "text": f"{name}({', '.join(args)}) = {ret_text}",
    }
    return name, fields, ret, errno, dur


CALLS = [
    syscall("close", ["3"], [3], 0, "0"),
    syscall("read", ["3", '"\\177ELF\\2\\1\\1"...', "832"], [3, 0x7FFD1234, 832], 832, "832"),
    syscall("openat", ["AT_FDCWD", '"/nope"', "O_RDONLY"], [U64 - 99, 0x55AA, 0], -2, ENOENT,
            "ENOENT"),
    syscall("mmap", MMAP, [0, 8192, 3, 34, U64, 0], 0x7F0012340000, "0x7f0012340000"),
    syscall("lgetxattr", ['"/a, b"', '"security.selinux"', "0x5583047a5840", "255"],
            [0x7FFD0, 0x7FFD1, 0x5583047A5840, 255], -61, ENODATA, "ENODATA"),
    syscall("openat", ["AT_FDCWD", '"/etc/passwd"', "O_RDONLY|O_CLOEXEC"], [U64 - 99, 1, 524288],
            3, "3</etc/passwd>"),
    syscall("exit_group", ["0"], [0, 0, 0, 0, 0, 0], None, "?"),
    syscall("restart_syscall", ["<... resuming interrupted read ...>"], [], 0, "0"),
    syscall("getpid", [], [], 42, "42"),
    syscall("write", ["1", '"ünï \\"q\\" \\\\ , = )"', "9"], [1, 2, 9], 9, "9"),
    syscall("syscall_0x1d5", ["0x1", "0", "0", "0", "0", "0"], [1, 0, 0, 0, 0, 0], -38,
            "-1 ENOSYS (Function not implemented)", "ENOSYS"),
    syscall("kill", ["4294967295", "SIGTERM"], [U64 >> 32, 15], -3, "-1 ESRCH (No such process)",
            "ESRCH"),
]  # fmt: skip


@pytest.mark.parametrize("call", CALLS, ids=lambda c: str(c[0]))
def test_a_traced_call_comes_back_byte_for_byte(call: Any) -> None:
    name, fields, ret, errno, dur = call
    stored = dump_fields(fields)
    compact = compact_syscall(name, stored, ret, errno, dur)
    assert compact is not None
    assert compact.startswith(COMPACT_MARK)
    assert len(compact) < len(stored) - len(fields["text"])  # the line is stored once
    assert expand_syscall(name, compact, ret, errno, dur) == stored


def test_the_error_text_is_rebuilt_from_the_errno_column() -> None:
    name, fields, ret, errno, dur = CALLS[2]
    compact = compact_syscall(name, dump_fields(fields), ret, errno, dur)
    assert compact is not None
    assert "No such file" not in compact
    assert os.strerror(2) == "No such file or directory"


RESUMED = {**CALLS[1][1], "resumed": True, "entry_text": "read(3, ", "resumed_text": "x"}


@pytest.mark.parametrize(
    ("name", "fields", "ret", "errno", "dur"),
    [
        ("read", RESUMED, 832, None, 1234),  # other keys: kept as JSON
        ("read", {**CALLS[1][1], "text": "read(3) = 832"}, 832, None, 1234),  # not the args
        ("read", CALLS[1][1], 833, None, 1234),  # ret column differs from the field
        ("read", CALLS[1][1], 832, "EIO", 1234),  # errno column differs
        ("read", CALLS[1][1], 832, None, 99),  # duration column differs
        ("pread64", CALLS[1][1], 832, None, 1234),  # the line names another call
        ("exit", {"code": 0, "signal": None, "text": "+++ exited with 0 +++"}, None, None, None),
        ("read", {**CALLS[1][1], "args": [3, "x", "832"]}, 832, None, 1234),  # not text
        ("read", {**CALLS[1][1], "raw_args": [3, "x", 832]}, 832, None, 1234),
    ],
)
def test_anything_else_keeps_its_json(
    name: str, fields: dict[str, Any], ret: int | None, errno: str | None, dur: int | None
) -> None:
    stored = dump_fields(fields)
    assert compact_syscall(name, stored, ret, errno, dur) is None
    assert expand_syscall(name, stored, ret, errno, dur) == stored


def frames() -> list[wire.Frame]:
    """Every call of CALLS, an exit and a signal line, as a ptrace worker sends them."""
    events: list[list[Any]] = []
    for i, (name, fields, ret, errno, dur) in enumerate(CALLS * 30):
        events.append(
            [T0 + i, None, 7, 7 + i % 2, "ls", name, dump_fields(fields), dur, ret, errno]
        )
    for name, fields in (
        ("signal", {"signal": "SIGCHLD", "siginfo": "{si_signo=SIGCHLD}", "text": "--- x ---"}),
        ("exit", {"code": 0, "signal": None, "text": "+++ exited with 0 +++"}),
    ):
        events.append([T0 + len(events), None, 7, 7, "ls", name, dump_fields(fields)] + [None] * 3)
    return [{"t": "events", "events": events[:200]}, {"t": "events", "events": events[200:]}]


def stored(env: Env) -> list[str]:
    with env.db() as s:
        query = select(EventRow.fields).where(EventRow.session_id == env.sid)
        return list(s.execute(query.order_by(EventRow.seq)).scalars())


@pytest.fixture(scope="module")
def ptrace_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Env, list[list[Any]]]:
    env = Env(tmp_path_factory.mktemp("ptrace"), kind="ptrace")
    fed = frames()
    env.feed(fed)
    return env, [ev for f in fed for ev in f["events"]]


def test_ptrace_sessions_store_syscalls_compact_and_page_them_back(
    ptrace_env: tuple[Env, list[list[Any]]],
) -> None:
    env, fed = ptrace_env
    rows = stored(env)
    assert sum(r.startswith(COMPACT_MARK) for r in rows) == len(CALLS) * 30
    assert rows[-2:] == [fed[-2][6], fed[-1][6]]  # signal and exit lines: JSON as sent
    assert sum(map(len, rows)) < 0.5 * sum(len(ev[6]) for ev in fed)
    events = env.events()
    assert [orjson.dumps(e["fields"]).decode() for e in events] == [ev[6] for ev in fed]
    assert env.events(EventFilter(names=["openat"]))[1]["fields"] == CALLS[5][1]


def test_exports_read_the_fields_as_sent(ptrace_env: tuple[Env, list[list[Any]]]) -> None:
    env, fed = ptrace_env
    rows = [r for chunk in iter_chunks(env.db, env.sid, EventFilter(), chunk=100) for r in chunk]
    assert [r.fields for r in rows] == [ev[6] for ev in fed]


def test_replay_sends_the_fields_as_sent(ptrace_env: tuple[Env, list[list[Any]]]) -> None:
    env, fed = ptrace_env
    with env.engine.connect() as conn:
        escaped = Escaped.read(conn, env.sid)
        assert escaped.compact
        messages = stored_messages(conn, env.sid, EventFilter(), 0, len(fed) - 1, escaped)
    events = [e for m in map(orjson.loads, messages) for e in m["events"]]
    assert [orjson.dumps(e["fields"]).decode() for e in events] == [ev[6] for ev in fed]
    assert [(e["seq"], e["name"], e["comm"]) for e in events] == [
        (i, ev[5], ev[4]) for i, ev in enumerate(fed)
    ]


def test_json_paths_of_compact_rows_read_their_columns(
    ptrace_env: tuple[Env, list[list[Any]]],
) -> None:
    """`fields.errno` and `duration_ns` (report fields) come from the row's columns; a
    path a compact row has not in a column is NULL, never a JSON error."""
    env, fed = ptrace_env
    sent = [orjson.loads(ev[6]) for ev in fed]
    with env.db() as s:
        for path, key in (
            ("fields.errno", "errno"),
            ("duration_ns", "duration_ns"),
            ("signal",) * 2,
        ):
            value = field_expr(s, path)
            query = select(value).where(EventRow.session_id == env.sid, value.is_not(None))
            got = s.execute(query.order_by(EventRow.seq)).scalars().all()
            assert got == [f[key] for f in sent if f.get(key) is not None], path
        value = field_expr(s, "args")
        assert s.execute(select(value).where(value.is_not(None))).all() == []


def test_other_sessions_keep_their_json(tmp_path: Path) -> None:
    env = Env(tmp_path, kind="tracefs")
    fed = frames()
    env.feed(fed)
    assert stored(env) == [ev[6] for f in fed for ev in f["events"]]
