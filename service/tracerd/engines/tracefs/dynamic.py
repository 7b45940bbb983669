"""Dynamic events of a session: uprobes and kprobes in the session's own group.

Definitions are appended to `uprobe_events`/`kprobe_events` (never truncated: O_TRUNC
would delete every probe on the machine), each recorded in the ledger first. A uprobe
on a symbol is placed at the symbol's file offset (kernel-interfaces.md 1.12: there is no
symbol syntax for uprobes), inside the file's executable segments (an ELF file only);
an offset into a function (not at its entry) is for admins only (api/deps.py: the kernel
writes the breakpoint into every process that maps the file, and one mid-instruction
crashes them). The kernel's refusal comes back with the top-level
`error_log` text. Events are shown as `uprobes:<name>`/`kprobes:<name>`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence

from ...errors import BadProbe, KernelRejected
from ...kernel.elf import check_uprobe_target, resolve_symbol
from ...kernel.tracefs import EventRef, Tracefs
from ...specs import ProbeSpec
from ..base import Ledger

log = logging.getLogger(__name__)


class DynamicEvents:
    def __init__(self, fs: Tracefs, group: str, ledger: Ledger) -> None:
        self.fs = fs
        self.group = group
        self.ledger = ledger
        self.defined: list[tuple[str, str, str]] = []
        """(file, event name, ledger key)"""

    def define(
        self, uprobes: Sequence[ProbeSpec], kprobes: Sequence[ProbeSpec]
    ) -> list[tuple[EventRef, str]]:
        out = []
        for probe in uprobes:
            out.append(self._define("uprobe_events", probe, self._uprobe_place(probe)))
        for probe in kprobes:
            place = probe.symbol or ""
            if probe.offset:
                place = f"{place}+{probe.offset}" if place else f"{probe.offset:#x}"
            out.append(self._define("kprobe_events", probe, place))
        return out

    def _uprobe_place(self, probe: ProbeSpec) -> str:
        path = os.path.realpath(probe.path or "")
        if not os.path.isfile(path):
            raise BadProbe(f"uprobe {probe.name}: no file {probe.path}", {"path": probe.path})
        offset = probe.offset or 0
        if probe.symbol is not None:
            symbol = resolve_symbol(path, probe.symbol)
            if offset and offset >= max(symbol.size, 1):
                raise BadProbe(
                    f"uprobe {probe.name}: offset {offset} is past the end of {probe.symbol} "
                    f"({symbol.size} bytes)",
                    {"symbol": probe.symbol, "offset": offset, "size": symbol.size},
                )
            offset += symbol.file_offset
        check_uprobe_target(path, offset)
        return f"{path}:{offset:#x}"

    def _define(self, file: str, probe: ProbeSpec, place: str) -> tuple[EventRef, str]:
        kind = "r" if probe.return_ else "p"
        definition = " ".join([f"{kind}:{self.group}/{probe.name}", place, *probe.fetchargs])
        key = self.ledger.record(
            "dynamic_event",
            f"{self.group}/{probe.name}",
            {"file": file, "group": self.group, "event": probe.name},
        )
        try:
            self.fs.define_dynamic(file, definition)
        except KernelRejected as exc:
            self.ledger.cross_off(key)
            raise BadProbe(exc.message, exc.detail) from exc
        self.defined.append((file, probe.name, key))
        display = ("uprobes:" if file == "uprobe_events" else "kprobes:") + probe.name
        return EventRef(self.group, probe.name), display

    def remove_all(self) -> None:
        """Remove every definition (after the instance is gone: enabled ones are busy)."""
        while self.defined:
            file, name, key = self.defined.pop()
            try:
                self.fs.remove_dynamic(file, self.group, name)
            except OSError as exc:
                log.warning("cannot remove %s/%s: %s", self.group, name, exc)
                continue
            with contextlib.suppress(Exception):
                self.ledger.cross_off(key)
