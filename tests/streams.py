"""What a stream subscriber received, by seq (shared by the hub's unit tests and the live
stream tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Seen:
    events: list[int] = field(default_factory=list)  # seqs of delivered events
    covered: list[int] = field(default_factory=list)  # seqs announced lost
    lost: list[dict[str, Any]] = field(default_factory=list)
    types: list[str] = field(default_factory=list)

    def add(self, raw: bytes | str) -> str:
        """One message in; its type out."""
        msg = orjson.loads(raw)
        self.types.append(msg["type"])
        if msg["type"] == "events":
            self.events += [e["seq"] for e in msg["events"]]
        elif msg["type"] == "columns":  # the opt-in format (stream/columns.py)
            assert msg["count"] == len(msg["seq"])
            self.events += msg["seq"]
        elif msg["type"] == "lost":
            self.lost.append(msg)
            self.covered += range(msg["seq"], msg.get("last_seq", msg["seq"]) + 1)
        return str(msg["type"])
