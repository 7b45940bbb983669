"""The opt-in columnar stream message (`?format=columns`): a run of events as one array per
event key instead of one object per event.

    {"type":"columns","count":N,"seq":[...],"ts_ns":[...],"cpu":[...],"pid":[...],
     "tid":[...],"comm":[k,...],"name":[k,...],"fields":[{...},...],
     "comms":{"k":"text",...},"names":{"k":"text",...}}

Value i of each array belongs to event i. `comm` and `name` hold keys into the message's
own `comms` and `names` objects (null: no comm); every key a message uses is in it, so a
message is read alone. A stored range is built by SQLite (one aggregate per column, no join:
storage/replay.py), a live batch from the columns of its wire events (C loops) with keys
the hub keeps per session; either way about a third of the JSON bytes of `events`
messages and no object per event to build or parse. Other message kinds (`lost`, `state`,
`maps`, `end`) are the same in both formats.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import orjson

EVENTS_FORMAT = "events"
COLUMNS_FORMAT = "columns"
FORMATS = (EVENTS_FORMAT, COLUMNS_FORMAT)
COLUMN_KEYS = ("seq", "ts_ns", "cpu", "pid", "tid", "comm", "name", "fields")
"""the arrays of a `columns` message, in order (an `events` object's keys)"""
MAX_KEYS = 1 << 16
"""comm and name texts a session's key table holds before it starts over (a new
generation: frames of different generations never merge into one message)"""


@dataclass(frozen=True, slots=True)
class ColumnRun:
    """Events as column texts: each column's JSON values comma-joined (no brackets), and
    the `"key":"text"` entries of the comms and names they use."""

    columns: tuple[str, ...]
    comms: tuple[str, ...]
    names: tuple[str, ...]
    generation: int = 0

    @property
    def size(self) -> int:
        """the memory its texts hold"""
        return sum(map(sys.getsizeof, chain(self.columns, self.comms, self.names)))


def entries(keys: Iterable[tuple[Any, str]]) -> tuple[str, ...]:
    """(key, text) pairs -> `"key":"text"` entries of a dictionary object."""
    return tuple(f'"{key}":{orjson.dumps(text).decode()}' for key, text in keys)


def columns_message(count: int, runs: Sequence[ColumnRun]) -> str:
    """One `columns` message of `runs` (in seq order; `count` events in all)."""
    parts = ['{"type":"columns","count":', str(count)]
    for i, key in enumerate(COLUMN_KEYS):
        parts += (',"', key, '":[', ",".join([run.columns[i] for run in runs]), "]")
    comms = dict.fromkeys(chain.from_iterable(run.comms for run in runs))
    names = dict.fromkeys(chain.from_iterable(run.names for run in runs))
    parts += (',"comms":{', ",".join(comms), '},"names":{', ",".join(names), "}}")
    return "".join(parts)


class KeyTable:
    """Keys for the comm and name texts of one session's live events (a text's key stays
    the same while its generation lasts, so runs of one generation merge)."""

    def __init__(self) -> None:
        self.generation = 0  # frames of different generations never merge
        self._comms: dict[Any, Any] = {None: None}
        self._names: dict[Any, Any] = {}

    def run(self, seqs: Sequence[int], events: Sequence[Sequence[Any]]) -> ColumnRun:
        """Wire events (seq i of `seqs` for event i) -> their ColumnRun."""
        if len(self._comms) + len(self._names) > MAX_KEYS:  # a long system-wide session
            self.generation += 1
            self._comms, self._names = {None: None}, {}
        ts, cpu, pid, tid, comm, name, fields = list(zip(*events, strict=False))[:7]
        comm_keys, comm_entries = self._keyed(self._comms, comm)
        name_keys, name_entries = self._keyed(self._names, name)
        dumps = orjson.dumps
        columns = tuple(
            dumps(values)[1:-1].decode() for values in (list(seqs), ts, cpu, pid, tid, comm_keys)
        )
        return ColumnRun(
            (*columns, dumps(name_keys)[1:-1].decode(), joined(fields)),
            comm_entries,
            name_entries,
            self.generation,
        )

    @staticmethod
    def _keyed(table: dict[Any, Any], texts: Sequence[Any]) -> tuple[list[Any], tuple[str, ...]]:
        distinct = dict.fromkeys(texts)
        for text in distinct:
            if text not in table:
                table[text] = len(table)
        keys = list(map(table.__getitem__, texts))
        return keys, entries((table[t], t) for t in distinct if t is not None)


def joined(texts: Sequence[str | bytes]) -> str:
    """JSON texts (str as the wire carries fields; bytes as well) comma-joined."""
    try:
        return ",".join(texts)  # type: ignore[arg-type]
    except TypeError:
        return orjson.dumps(list(map(orjson.Fragment, texts)))[1:-1].decode()


def column_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A parsed `columns` message -> its events as `events` messages carry them (clients:
    the CLI's printers take these)."""
    comms, names = message["comms"], message["names"]
    return [
        {
            "seq": seq,
            "ts_ns": ts,
            "cpu": cpu,
            "pid": pid,
            "tid": tid,
            "comm": None if comm is None else comms[str(comm)],
            "name": names[str(name)],
            "fields": fields,
        }
        for seq, ts, cpu, pid, tid, comm, name, fields in zip(
            *(message[key] for key in COLUMN_KEYS), strict=True
        )
    ]
