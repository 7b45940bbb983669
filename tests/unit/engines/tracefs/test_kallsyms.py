"""kallsyms.py: the symbol table and the tracer records' post-decode step (no kernel)."""

from __future__ import annotations

from typing import Any

from tracerd.engines.tracefs.kallsyms import (
    Kallsyms,
    KallsymsCache,
    Symbol,
    SymbolizingSink,
    TracerSymbols,
)
from tracerd.engines.tracefs.sinks import ListSink
from tracerd.types import WireEvent

# the shape of /proc/kallsyms: unsorted modules at the end, data symbols, aliases
TEXT = b"""\
ffffffff81000000 T _stext
ffffffff81001000 t do_syscall_64
ffffffff81002000 d some_data
ffffffff81003000 T __do_sys_getpid
ffffffff81003000 T __x64_sys_getpid
ffffffff81004000 T ksys_write
ffffffff81005000 W weak_func
0000000000001000 A fixed_percpu_data
ffffffff81006000 t $a
ffffffff82400000 D __start_rodata
ffffffffc0002000 t mod_other\t[kvm]
ffffffffc0001000 t mod_func\t[kvm]
"""
HIDDEN = b"0000000000000000 T _stext\n0000000000000000 T ksys_write\n"


def table() -> Kallsyms:
    return Kallsyms.parse(TEXT)


def test_lookup_gives_the_containing_symbol_and_offset() -> None:
    t = table()
    assert t.lookup(0xFFFFFFFF81004000) == Symbol("ksys_write", 0)
    assert t.lookup(0xFFFFFFFF81001019) == Symbol("do_syscall_64", 0x19)
    assert str(t.lookup(0xFFFFFFFF81001019)) == "do_syscall_64+0x19"
    assert t.lookup(0xFFFFFFFF80000000) is None  # below the first symbol


def test_data_symbols_are_named_as_trace_cmd_names_them() -> None:
    """trace-cmd loads every kallsyms symbol but absolute ones (x86-64's per-cpu offsets)
    and arm's `$a`: an iomap ops table in rodata prints as `__start_rodata`."""
    t = table()
    assert t.name(0xFFFFFFFF81002000) == "some_data"
    assert t.lookup(0xFFFFFFFF82400A40) == Symbol("__start_rodata", 0xA40)
    assert t.lookup(0x1000) is None  # no absolute symbols
    assert t.name(0xFFFFFFFF81006010) == "weak_func"  # no `$a`


def test_aliases_keep_the_first_name_in_file_order() -> None:
    assert table().name(0xFFFFFFFF81003000) == "__do_sys_getpid"


def test_module_symbols_sorted_with_their_module() -> None:
    t = table()
    assert t.lookup(0xFFFFFFFFC0001010) == Symbol("mod_func", 0x10, "kvm")
    assert str(t.lookup(0xFFFFFFFFC0002000)) == "mod_other [kvm]"
    assert t.name(0xFFFFFFFF81005004) == "weak_func"


def test_hidden_addresses_make_an_unusable_table() -> None:
    t = Kallsyms.parse(HIDDEN)
    assert not t.usable
    cache = KallsymsCache(lambda: t)
    assert cache.name(0xFFFFFFFF81004000) is None


def test_an_address_beyond_the_table_reloads_it_once() -> None:
    loads: list[int] = []
    tables = [table(), Kallsyms.parse(TEXT + b"ffffffffc0100000 t late_func\t[late]\n")]

    def loader() -> Kallsyms:
        loads.append(1)
        return tables[min(len(loads) - 1, 1)]

    cache = KallsymsCache(loader)
    assert cache.name(0xFFFFFFFF81004000) == "ksys_write"
    cache._loaded_at -= 60  # as if loaded a minute ago
    assert cache.name(0xFFFFFFFFC0100004) == "late_func"
    assert len(loads) == 2


def test_unreadable_kallsyms_leaves_raw_addresses() -> None:
    def loader() -> Kallsyms:
        raise PermissionError(13, "Permission denied")

    cache = KallsymsCache(loader)
    assert cache.name(1) is None
    assert cache.failed is not None
    assert "Permission denied" in cache.failed


def ev(name: str, **fields: Any) -> WireEvent:
    return WireEvent(1, 0, 1, 1, "x", name, dict(fields))


def test_decorate_function_graph_and_kprobe_records() -> None:
    symbols = TracerSymbols(KallsymsCache(table))
    out = symbols.decorate(
        [
            ev("ftrace:function", ip=0xFFFFFFFF81004004, parent_ip=0xFFFFFFFF81001019),
            ev("ftrace:funcgraph_entry", func=0xFFFFFFFF81003000, depth=0),
            ev(
                "ftrace:funcgraph_exit",
                func=0xFFFFFFFF81003000,
                depth=0,
                calltime=1000,
                rettime=3500,
                overrun=0,
            ),
            ev("kprobes:open", __probe_ip=0xFFFFFFFF81004000),
            ev(
                "kprobes:open_ret",
                __probe_func=0xFFFFFFFF81004000,
                __probe_ret_ip=0xFFFFFFFF81001040,
            ),
            ev("sched:sched_switch", prev_pid=1),
        ]
    )
    assert out[0].fields["ip_sym"] == "ksys_write"
    assert out[0].fields["parent_sym"] == "do_syscall_64"
    assert out[1].fields["func_sym"] == "__do_sys_getpid"
    assert out[2].fields["duration_ns"] == 2500
    assert out[2].dur_ns == 2500
    assert out[3].fields["probe_sym"] == "ksys_write"
    assert (out[4].fields["func_sym"], out[4].fields["ret_sym"]) == ("ksys_write", "do_syscall_64")
    assert out[5] == ev("sched:sched_switch", prev_pid=1)


def test_symbolizing_sink_forwards_everything() -> None:
    inner = ListSink()
    sink = SymbolizingSink(inner, TracerSymbols(KallsymsCache(table)))
    sink.emit([ev("ftrace:funcgraph_entry", func=0xFFFFFFFF81004000, depth=1)])
    sink.lost_total("kernel", 3)
    sink.info({"a": 1})
    sink.ended({"code": 0, "signal": None}, "done")
    assert inner.events[0].fields["func_sym"] == "ksys_write"
    assert inner.lost_totals == {"kernel": 3}
