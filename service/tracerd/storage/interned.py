"""Strings stored once, as small integers (event_names, event_comms): the writer's cache of
their ids, new ones inserted in the writer's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

MAX_CACHED = 65_536


class Interned:
    """value -> id of one table with columns `id` and `column` (unique); None stays None.
    Only the writer thread uses it."""

    def __init__(self, dialect: Dialect, table: Table, column: str) -> None:
        insert: Any = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        self._column = column
        self._insert = insert(table).on_conflict_do_nothing()
        self._select = select(table.c.id).where(table.c[column] == bindparam("value"))
        self.ids: dict[str | None, int | None] = {None: None}

    def ensure(
        self, conn: Connection, values: Iterable[str | None]
    ) -> dict[str | None, int | None]:
        """The cache, holding every one of `values` (new ones inserted)."""
        missing = set(values) - self.ids.keys()
        if missing:
            if len(self.ids) + len(missing) > MAX_CACHED:
                self.clear()
            for value in missing:
                conn.execute(self._insert, {self._column: value})
                self.ids[value] = int(conn.execute(self._select, {"value": value}).scalar_one())
        return self.ids

    def clear(self) -> None:
        """Forget the cached ids (after a rollback: ids made in it are gone)."""
        self.ids = {None: None}
