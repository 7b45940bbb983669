"""An event's fields as the wire and the database carry them: JSON text (bytes as hex)."""

from __future__ import annotations

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
