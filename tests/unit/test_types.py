"""The named column indexes of an event row follow `WireEvent`'s field order."""

from __future__ import annotations

from tracerd import types


def test_event_column_indexes_follow_wire_event_fields() -> None:
    fields = types.WireEvent._fields
    for index, field in enumerate(fields):
        assert getattr(types, f"EV_{field.upper()}") == index
    assert len(fields) == types.EV_WIDTH
    ev = types.lost_event("kernel", 3, 42, cpu=1)
    assert ev[types.EV_NAME] == types.LOST_EVENT_NAME
    assert ev[types.EV_TS_NS] == 42
    assert ev[types.EV_CPU] == 1
