"""Kernel address -> symbol, from /proc/kallsyms, and the tracer events' post-decode step.

Mechanism: /proc/kallsyms is read once (one regex pass in C over the text, every symbol
but absolute ones, as trace-cmd takes them, module symbols with their `[module]`), sorted
by address into an `array('Q')` and searched with `bisect`: the symbol of an address is the
last one at or below it, its offset the distance (the next symbol bounds it implicitly, as
the kernel's own `%pS` does). Of aliases (one address, several names: `__x64_sys_getpid` and
`__do_sys_getpid` on 6.1) the first in file order is kept, the one the kernel prints.
Lookups are memoised per address: a function tracer session sees the same few hundred
addresses millions of times. An address above the last module symbol (a module
loaded after the table was read) makes the table reload, at most every `RELOAD_INTERVAL_S`.

`TracerSymbols.decorate` is the post-decode step of the `function` and `function_graph`
tracers' records (and of kprobe events' probe addresses), adding names the way
`trace-cmd report` prints them (`%ps`: name without offset):
- `ftrace:function`: `ip_sym`, `parent_sym` (`ksys_write`, `__x64_sys_write`);
- `ftrace:funcgraph_entry`/`_exit`: `func_sym`; the exit also gets `duration_ns`
  (rettime - calltime, both from the kernel's trace clock) promoted to the `dur_ns` column;
- kprobe events: `probe_sym` (`__probe_ip`), kretprobes `func_sym`/`ret_sym`.

Requirements: root (kallsyms shows zero addresses to others, or under kptr_restrict=2: then
nothing is added and `usable` is False). Cost: the table of Debian's 6.1 (about 200k
lines) parses in about 0.2 s on the host, 20 times longer under TCG; each worker reads it
once, lazily, when the first record that needs it arrives.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...kernel.tracefs import DEFAULT_ROOT
from ...types import WireEvent
from ..base import EventSink

log = logging.getLogger(__name__)

KALLSYMS_PATH = "/proc/kallsyms"
RELOAD_INTERVAL_S = 5.0
_LINE_RE = re.compile(rb"^([0-9a-f]+) [^aA\s] ([^\s\[$][^\s\[]*)(?:\t\[([^\]]+)\])?", re.M)
"""every symbol but absolute ones (x86-64's per-cpu offsets) and arm's `$a` names, as
trace-cmd loads kallsyms: `%ps` of an ops table names its data symbol (`__start_rodata`)"""


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    offset: int
    module: str | None = None

    def __str__(self) -> str:
        text = f"{self.name}+{self.offset:#x}" if self.offset else self.name
        return f"{text} [{self.module}]" if self.module else text


class Kallsyms:
    """A sorted table of kernel symbols (text, and the data symbols kallsyms lists)."""

    def __init__(self, entries: Sequence[tuple[int, str, str | None]]) -> None:
        ordered = []
        last = -1
        for entry in sorted(entries, key=lambda e: e[0]):  # stable: file order among aliases
            if entry[0] != last:
                ordered.append(entry)
                last = entry[0]
        self.addrs = array("Q", (e[0] for e in ordered))
        self.names = [e[1] for e in ordered]
        self.modules = [e[2] for e in ordered]
        self._memo: dict[int, Symbol | None] = {}

    @classmethod
    def parse(cls, text: bytes) -> Kallsyms:
        entries = [
            (int(addr, 16), name.decode(), module.decode() if module else None)
            for addr, name, module in _LINE_RE.findall(text)
        ]
        return cls([e for e in entries if e[0]])  # zero addresses: hidden (kptr_restrict)

    @classmethod
    def load(cls, path: str = KALLSYMS_PATH) -> Kallsyms:
        with open(path, "rb") as fh:
            return cls.parse(fh.read())

    @property
    def usable(self) -> bool:
        return len(self.addrs) > 0

    @property
    def highest(self) -> int:
        return self.addrs[-1] if self.addrs else 0

    def lookup(self, addr: int) -> Symbol | None:
        try:
            return self._memo[addr]
        except KeyError:
            pass
        i = bisect.bisect_right(self.addrs, addr) - 1
        sym = None if i < 0 else Symbol(self.names[i], addr - self.addrs[i], self.modules[i])
        self._memo[addr] = sym
        return sym

    def name(self, addr: int) -> str | None:
        sym = self.lookup(addr)
        return None if sym is None else sym.name


class KallsymsCache:
    """The worker's table: loaded on first use, reloaded when an address lies beyond it."""

    def __init__(self, loader: Callable[[], Kallsyms] = Kallsyms.load) -> None:
        self._loader = loader
        self._table: Kallsyms | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        self.failed: str | None = None

    def table(self) -> Kallsyms | None:
        if self._table is None and self.failed is None:
            with self._lock:
                if self._table is None and self.failed is None:
                    self._reload()
        return self._table

    def _reload(self) -> None:
        started = time.monotonic()
        try:
            self._table = self._loader()
        except OSError as exc:
            self.failed = f"cannot read {KALLSYMS_PATH}: {exc.strerror}"
            log.warning("%s: tracer events keep raw addresses", self.failed)
            return
        self._loaded_at = time.monotonic()
        if not self._table.usable:
            log.warning("kallsyms shows no addresses (kptr_restrict?): no symbol names")
        log.debug(
            "kallsyms: %d symbols in %.2f s", len(self._table.addrs), time.monotonic() - started
        )

    def name(self, addr: int) -> str | None:
        table = self.table()
        if table is None or not table.usable:
            return None
        if addr > table.highest and time.monotonic() - self._loaded_at > RELOAD_INTERVAL_S:
            with self._lock:
                self._reload()  # a module loaded since
            table = self._table
            if table is None:
                return None
        return table.name(addr)


class TracerSymbols:
    """Adds symbol names to tracer and kprobe records (the post-decode step)."""

    def __init__(self, cache: KallsymsCache | None = None) -> None:
        self.cache = cache or KallsymsCache()
        self._steps: dict[str, Callable[[WireEvent], WireEvent]] = {
            "ftrace:function": self._function,
            "ftrace:funcgraph_entry": self._graph_entry,
            "ftrace:funcgraph_exit": self._graph_exit,
        }

    def decorate(self, events: Sequence[WireEvent]) -> list[WireEvent]:
        steps = self._steps
        out = []
        for event in events:
            step = steps.get(event.name)
            if step is None and event.name.startswith("kprobes:"):
                step = self._kprobe
            out.append(event if step is None else step(event))
        return out

    def _sym(self, fields: dict[str, Any], raw: str, key: str) -> None:
        value = fields.get(raw)
        if isinstance(value, int):
            name = self.cache.name(value)
            if name is not None:
                fields[key] = name

    def _function(self, event: WireEvent) -> WireEvent:
        self._sym(event.fields, "ip", "ip_sym")
        self._sym(event.fields, "parent_ip", "parent_sym")
        return event

    def _graph_entry(self, event: WireEvent) -> WireEvent:
        self._sym(event.fields, "func", "func_sym")
        return event

    def _graph_exit(self, event: WireEvent) -> WireEvent:
        fields = event.fields
        self._sym(fields, "func", "func_sym")
        call, ret = fields.get("calltime"), fields.get("rettime")
        if isinstance(call, int) and isinstance(ret, int) and ret >= call:
            fields["duration_ns"] = ret - call
            return event._replace(dur_ns=ret - call)
        return event

    def _kprobe(self, event: WireEvent) -> WireEvent:
        self._sym(event.fields, "__probe_ip", "probe_sym")
        self._sym(event.fields, "__probe_func", "func_sym")
        self._sym(event.fields, "__probe_ret_ip", "ret_sym")
        return event


class SymbolizingSink:
    """An `EventSink` that runs `TracerSymbols.decorate` on every batch, then forwards it."""

    def __init__(self, inner: EventSink, symbols: TracerSymbols | None = None) -> None:
        self.inner = inner
        self.symbols = symbols or TracerSymbols()

    def emit(self, events: Sequence[WireEvent]) -> None:
        self.inner.emit(self.symbols.decorate(events))

    def maps(self, ts_ns: int, maps: Mapping[str, Any]) -> None:
        self.inner.maps(ts_ns, maps)

    def lost_total(self, source: str, count: int) -> None:
        self.inner.lost_total(source, count)

    def info(self, values: Mapping[str, Any]) -> None:
        self.inner.info(values)

    def ended(
        self, exit_status: Mapping[str, Any] | None, reason: str | None = None, failed: bool = False
    ) -> None:
        self.inner.ended(exit_status, reason, failed)


BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


def boot_id() -> str | None:
    """This boot's id: kernel addresses (KASLR) are only meaningful within one boot."""
    try:
        with open(BOOT_ID_PATH) as fh:
            return fh.read().strip() or None
    except OSError:
        return None


_SHARED: KallsymsCache | None = None


def boot_symbols(recorded_boot: str | None) -> Callable[[int], tuple[str, int] | None] | None:
    """The process-wide symbol lookup when `recorded_boot` is this boot, else None (a
    session recorded before a reboot keeps its addresses in hex)."""
    global _SHARED
    if recorded_boot is None or recorded_boot != boot_id():
        return None
    if _SHARED is None:
        _SHARED = KallsymsCache()
    return symbol_lookup(_SHARED)


PRINTK_FORMATS_PATH = str(DEFAULT_ROOT / "printk_formats")
_PRINTK_RE = re.compile(r'^0x([0-9a-f]+) : "(.*)"$', re.M)


def printk_strings(path: str = PRINTK_FORMATS_PATH) -> Callable[[int], str | None]:
    """address -> the kernel string at it, from tracefs' `printk_formats` (trace_printk
    formats and the strings tracepoints log by pointer: rcu_utilization's "Start
    scheduler-tick", maple_tree's function names): what libtraceevent prints for `%s` of
    a pointer-sized field (render.printfmt.StringLookup). Read once, on first use."""
    table: dict[int, str] | None = None

    def lookup(addr: int) -> str | None:
        nonlocal table
        if table is None:
            try:
                with open(path) as fh:
                    text = fh.read()
            except OSError:
                text = ""
            table = {int(a, 16): value for a, value in _PRINTK_RE.findall(text)}
        return table.get(addr)

    return lookup


def boot_printk_strings(recorded_boot: str | None) -> Callable[[int], str | None] | None:
    """`printk_strings` when `recorded_boot` is this boot, else None (addresses stay hex)."""
    if recorded_boot is None or recorded_boot != boot_id():
        return None
    return _shared_printk()


_PRINTK_LOOKUP: Callable[[int], str | None] | None = None


def _shared_printk() -> Callable[[int], str | None]:
    global _PRINTK_LOOKUP
    if _PRINTK_LOOKUP is None:
        _PRINTK_LOOKUP = printk_strings()
    return _PRINTK_LOOKUP


def symbol_lookup(cache: KallsymsCache | None = None) -> Callable[[int], tuple[str, int] | None]:
    """address -> (function, offset) for the text renderer's `%pS`/call sites, from this
    boot's kallsyms (render.printfmt.SymbolLookup); None for unknown addresses."""
    symbols = cache or KallsymsCache()

    def lookup(addr: int) -> tuple[str, int] | None:
        table = symbols.table()
        if table is None or not table.usable or addr > table.highest + (1 << 24):
            return None
        sym = table.lookup(addr)
        return None if sym is None else (sym.name, sym.offset)

    return lookup
