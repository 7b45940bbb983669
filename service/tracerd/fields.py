"""An event's fields as the wire and the database carry them: JSON text (bytes as hex)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import orjson


def json_default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray):
        return obj.hex()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def dump_fields(fields: Any) -> str:
    """An event's fields as JSON text (bytes values as hex)."""
    return orjson.dumps(fields, default=json_default).decode()


def load_fields(text: str) -> dict[str, Any]:
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {"value": value}


# -- traced syscalls (ptrace) as stored: their line once, rebuilt on read -------------------
#
# A ptrace syscall event's fields are `args` (as strace shows them), `raw_args`, `ret`,
# `errno`, `duration_ns` and the strace `text` (`name(args) = ret_text`, which repeats the
# args), ~415 B of JSON an event. The writer stores them as COMPACT_MARK + a header + the
# args' text once: `~RAW;ARGS;RET:BODY` where RAW is the raw args in hex (`,`-separated),
# ARGS a token per shown arg (`d`: the raw arg in decimal, `x`: in hex, N: the next N
# characters of BODY), RET a token for the return text (empty: `str(ret)`, `x`: hex, `e`:
# `-1 ERRNO (strerror)`, N: the next N characters of BODY). `ret`, `errno` and
# `duration_ns` are the row's own columns. The form is used only when it expands to the
# very JSON text it replaces (byte for byte); every other event keeps its JSON.

COMPACT_MARK = "~"
"""first character of a compact syscall's stored fields (JSON text never starts with it)"""
SYSCALL_KEYS = ("args", "raw_args", "ret", "errno", "duration_ns", "text")
_SYSCALL_PREFIX = '{"args":['
_U64 = (1 << 64) - 1


def is_compact(stored: str) -> bool:
    return stored.startswith(COMPACT_MARK)


def _error_text(ret: int, errno: str | None) -> str | None:
    return f"-1 {errno} ({os.strerror(-ret)})" if errno is not None and -4096 < ret < 0 else None


def _ret_token(ret_text: str, ret: int | None, errno: str | None, body: list[str]) -> str:
    if ret is not None:
        if ret_text == str(ret):
            return ""
        if ret_text == hex(ret & _U64):
            return "x"
        if ret_text == _error_text(ret, errno):
            return "e"
    body.append(ret_text)
    return str(len(ret_text))


def compact_syscall(
    name: str, stored: str, ret: int | None, errno: str | None, dur_ns: int | None
) -> str | None:
    """The compact form of a traced syscall's fields JSON, or None: not a syscall's fields,
    or they would not come back byte for byte (`expand_syscall` with the same columns)."""
    if not stored.startswith(_SYSCALL_PREFIX):
        return None
    try:
        fields = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return None
    if tuple(fields) != SYSCALL_KEYS:
        return None
    args, raws, text = fields["args"], fields["raw_args"], fields["text"]
    if not (
        isinstance(text, str)
        and all(isinstance(a, str) for a in args)
        and all(type(r) is int for r in raws)
    ):
        return None
    call = f"{name}({', '.join(args)}) = "
    if not text.startswith(call):
        return None
    body: list[str] = []
    tokens = []
    for i, arg in enumerate(args):
        if i < len(raws) and arg == str(raws[i]):
            tokens.append("d")
        elif i < len(raws) and arg == hex(raws[i]):
            tokens.append("x")
        else:
            tokens.append(str(len(arg)))
            body.append(arg)
    ret_token = _ret_token(text[len(call) :], ret, errno, body)
    raw = ",".join(f"{r:x}" for r in raws)
    compact = f"{COMPACT_MARK}{raw};{','.join(tokens)};{ret_token}:{''.join(body)}"
    # equal values of the same types, in the same key order: orjson writes the same bytes
    columns = (ret, errno, dur_ns)
    if tuple(map(type, columns)) != tuple(type(fields[k]) for k in SYSCALL_KEYS[2:5]):
        return None
    try:
        same = syscall_fields(name, compact, ret, errno, dur_ns) == fields
    except (ValueError, IndexError):
        same = False
    return compact if same else None


def syscall_fields(
    name: str, stored: str, ret: int | None, errno: str | None, dur_ns: int | None
) -> dict[str, Any]:
    """The fields of a compact syscall (`compact_syscall`), as they were sent."""
    head, _, body = stored[1:].partition(":")
    raw_part, arg_part, ret_token = head.split(";")
    raws = [int(r, 16) for r in raw_part.split(",")] if raw_part else []
    args: list[str] = []
    at = 0
    for i, token in enumerate(arg_part.split(",") if arg_part else ()):
        if token == "d":
            args.append(str(raws[i]))
        elif token == "x":
            args.append(hex(raws[i]))
        else:
            args.append(body[at : at + int(token)])
            at += int(token)
    if ret_token == "":
        ret_text = str(ret)
    elif ret_token == "x":
        ret_text = hex((ret or 0) & _U64)
    elif ret_token == "e":
        ret_text = _error_text(ret or 0, errno) or ""
    else:
        ret_text = body[at : at + int(ret_token)]
    return {
        "args": args,
        "raw_args": raws,
        "ret": ret,
        "errno": errno,
        "duration_ns": dur_ns,
        "text": f"{name}({', '.join(args)}) = {ret_text}",
    }


def expand_syscall(
    name: str, stored: str, ret: int | None, errno: str | None, dur_ns: int | None
) -> str:
    """Stored fields as JSON text: a compact syscall's rebuilt, any other as stored."""
    if not stored.startswith(COMPACT_MARK):
        return stored
    return dump_fields(syscall_fields(name, stored, ret, errno, dur_ns))


def load_stored(
    name: str, stored: str, ret: int | None, errno: str | None, dur_ns: int | None
) -> dict[str, Any]:
    """Stored fields as a dict (compact syscalls rebuilt)."""
    if stored.startswith(COMPACT_MARK):
        return syscall_fields(name, stored, ret, errno, dur_ns)
    return load_fields(stored)


def compact_rows(
    names: Sequence[str],
    stored: Sequence[str],
    rets: Sequence[int | None],
    errnos: Sequence[str | None],
    durs: Sequence[int | None],
) -> list[str]:
    """`stored` with each traced syscall's fields in their compact form."""
    return [
        compact_syscall(n, s, r, e, d) or s
        for n, s, r, e, d in zip(names, stored, rets, errnos, durs, strict=True)
    ]
