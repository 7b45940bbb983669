"""The print-fmt evaluator: libtraceevent's semantics on small formats."""

from __future__ import annotations

import pytest

from tracerd.render.printfmt import PrintFmtError, compile_print_fmt


def render(fmt: str, fields: dict[str, object], **kw: object) -> str:
    return compile_print_fmt(fmt, **kw)(fields)  # type: ignore[arg-type]


def test_flags_symbolic_and_ternary() -> None:
    fmt = (
        '"state=%s vec=%s", (REC->s) ? __print_flags(REC->s, "|", { 1, "A" }, { 2, "B" }, '
        '{ 0x10, "C" }) : "none", __print_symbolic(REC->v, { 0, "HI" }, { 9, "RCU" })'
    )
    assert render(fmt, {"s": 3, "v": 9}) == "state=A|B vec=RCU"
    assert render(fmt, {"s": 0x23, "v": 4}) == "state=A|B|0x20 vec=0x4"
    assert render(fmt, {"s": 0, "v": 0}) == "state=none vec=HI"


def test_unknown_flag_names_are_minus_one_as_in_libtraceevent() -> None:
    fmt = '"state %s", __print_flags(REC->s, "|", {I_DIRTY_SYNC, "I_DIRTY_SYNC"}, {4, "X"})'
    assert render(fmt, {"s": 0x70}) == "state 0x70"  # no match: the value in hex
    assert render(fmt, {"s": 0}) == "state I_DIRTY_SYNC"
    sym = '"%s", __print_symbolic(REC->c, { IOPRIO_CLASS_NONE, "none" }, { 2, "be" })'
    assert render(sym, {"c": 2}) == "be"
    assert render(sym, {"c": 0}) == "0x0"


def test_unsigned_arithmetic_casts_and_shifts() -> None:
    fmt = (
        '"dev=%d:%d ofs=%lld len=%d err=%d", ((unsigned int) ((REC->dev) >> 20)), '
        "((unsigned int) ((REC->dev) & ((1U << 20) - 1))), ((loff_t)REC->index) << 12, "
        "REC->ret > 0 ? REC->ret : 0, REC->ret < 0 ? REC->ret : 0"
    )
    # libtraceevent reads fields unsigned: ret = -11 (an int) is 0xfffffff5 > 0
    out = render(fmt, {"dev": 266338304, "index": 14, "ret": -11}, widths={"ret": 4})
    assert out == "dev=254:0 ofs=57344 len=-11 err=0"


def test_c_printf_conversions() -> None:
    fmt = '"%#x %#x %hu %03d %-4s| %lu %c %5.2s|%%"'
    fmt += ", REC->a, REC->b, REC->c, REC->d, REC->s, REC->e, REC->ch, REC->s"
    fields = {"a": 0, "b": 255, "c": -1, "d": 7, "s": "ab", "e": -1, "ch": 65}
    assert render(fmt, fields) == "0 0xff 65535 007 ab  | 18446744073709551615 A    ab|%"


def test_pointers_and_symbols() -> None:
    fmt = '"site=%pS fn=%ps p=%p q=%p k=%pK"'
    fmt += ", (void *)REC->site, REC->fn, REC->p, REC->q, REC->k"
    syms = {0xFFFFFFFF81000024: ("getname", 0x24), 0xFFFFFFFF81200000: ("tick_handler", 0)}
    fields = {
        "site": 0xFFFFFFFF81000024,
        "fn": 0xFFFFFFFF81200000,
        "p": 0,
        "q": 0xFFFF888100DE6000,
        "k": 0x10,
    }
    out = render(fmt, fields, symbols=syms.get)
    assert out == "site=getname+0x24 fn=tick_handler p=(nil) q=0xffff888100de6000 k=0x10K"
    no_syms = render('"site=%pS", REC->site', {"site": 0xFFFFFFFF81000024})
    assert no_syms == "site=0xffffffff81000024"


def test_network_addresses() -> None:
    fmt = (
        '"saddr=%pI4 v6=%pI6c full=%pI6 mac=%pM src=%pISpc dst=%pISpc"'
        ", REC->saddr, REC->v6, REC->v6, REC->mac, REC->sa4, REC->sa6"
    )
    v6 = [0] * 10 + [0xFF, 0xFF, 127, 0, 0, 1]
    sa4 = [2, 0, 0x1F, 0x90, 127, 0, 0, 1] + [0] * 20
    sa6 = [10, 0, 0, 80, 0, 0, 0, 0] + [0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1] + [0] * 4
    fields = {"saddr": [127, 0, 0, 1], "v6": v6, "mac": [0, 0x1B, 0x21, 0xA, 0xB, 0xC]}
    fields |= {"sa4": sa4, "sa6": sa6}
    assert render(fmt, fields) == (
        "saddr=127.0.0.1 v6=::ffff:127.0.0.1 full=0000:0000:0000:0000:0000:ffff:7f00:0001 "
        "mac=00:1b:21:0a:0b:0c src=127.0.0.1:8080 dst=[2001:db8::1]:80"
    )


def test_dynamic_arrays_hex_bitmask_and_star_precision() -> None:
    fmt = (
        '"name %.*s hex=%s arr=%s mask=%s len=%u cpus=%s", REC->n, __get_str(name), '
        "__print_hex(__get_dynamic_array(buf), __get_dynamic_array_len(buf)), "
        "__print_array(__get_dynamic_array(vals), 2, 4), __get_bitmask(mask), "
        "__get_dynamic_array_len(vals), __get_cpumask(cpus)"
    )
    fields = {
        "n": 3,
        "name": "abcdef",
        "buf": [0xDE, 0xAD, 0x01],
        "vals": [1, 0xFFFF],
        "mask": [0x5, 0x1],
        "cpus": [0b1101],
    }
    widths = {"buf": 1, "vals": 4, "mask": 8, "cpus": 8}
    out = render(fmt, fields, widths=widths)
    assert out == (
        "name abc hex=de ad 01 arr={0x1,0xffff} mask=00000000,00000001,00000000,00000005 "
        "len=8 cpus=0,2-3"
    )


def test_unknown_atoms_are_zero_and_builtins() -> None:
    fmt = (
        '"page=%p pfn=0x%lx a=%d", (((struct page *)vmemmap_base) + (REC->pfn)), REC->pfn, '
        "__builtin_expect(!!(REC->x >= (unsigned long)-4095), 0) ? 1 : 2"
    )
    assert render(fmt, {"pfn": 0x1D1E50, "x": 5}) == "page=0x1d1e50 pfn=0x1d1e50 a=2"


@pytest.mark.parametrize(
    "fmt",
    [
        '"%s", ({ int x = REC->a; x; })',  # a statement expression
        '"%d", mystery_helper(REC->a)',
        '"%d %d", REC->a',  # too few arguments
        '"%d", REC->a, REC->b',  # too many
        '"%d", *REC->a',
    ],
)
def test_unsupported_formats_raise(fmt: str) -> None:
    with pytest.raises(PrintFmtError):
        compile_print_fmt(fmt)


def test_libtraceevent_reroots_parenthesized_looser_operations() -> None:
    """trace-cmd prints what libtraceevent's parse evaluates: `x & (a | b | c)` as
    `(x & a) | b | c` (timer_start's flags), `n < (c ? a : b)` as `(n < c) ? a : b`
    (mm_page_alloc_extfrag's fragmenting); a tighter operation in parentheses is kept."""
    flags = (
        '"flags=%s", __print_flags(REC->flags & (0x00040000 | 0x00080000 | 0x00100000 | '
        '0x00200000), "|", { 0x00040000, "M" }, { 0x00080000, "D" }, { 0x00100000, "P" }, '
        '{ 0x00200000, "I" })'
    )
    assert render(flags, {"flags": 0x2A00000}) == "flags=D|P|I"  # trace-cmd's line
    frag = (
        '"fragmenting=%d", REC->fallback_order < (((unsigned int)((21 - 12))) < '
        "((unsigned int)(10)) ? ((unsigned int)((21 - 12))) : ((unsigned int)(10)))"
    )
    assert render(frag, {"fallback_order": 10}) == "fragmenting=10"  # trace-cmd's line
    assert render('"%d", REC->dev & ((1U << 20) - 1)', {"dev": 266338304 + 5}) == "5"
