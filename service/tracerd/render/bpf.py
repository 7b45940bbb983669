"""Text rendering of bpf sessions for the CLI: events as the BCC tools print their lines,
histograms as BCC's print_log2_hist bars, bpftrace output and maps as bpftrace prints them.

Events are the API's dicts (`name`, `pid`, `tid`, `comm`, `ts_ns`, `fields`) or WireEvents.
`header(tool)` gives the column line to print once; `render_event(ev)` one line (bpftrace
`printf` text is returned as is, newline included); `render_maps(maps)` a snapshot.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

STARS_MAX = 40
TOP_SYSCALLS = 10

HEADERS = {
    "execsnoop": "PCOMM            PID     PPID    RET ARGS",
    "opensnoop": "PID    COMM               FD ERR PATH",
    "exitsnoop": "PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE",
    "tcplife": "PID   COMM       LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS",
    "tcpstates": "SKADDR           C-PID C-COMM     LADDR           LPORT RADDR           "
    "RPORT OLDSTATE    -> NEWSTATE    MS",
    "bashreadline": "TIME      PID     COMMAND",
}


def header(tool: str) -> str | None:
    """The column line a tool prints first (None for tools that print maps or text)."""
    return HEADERS.get(tool)


def _as_dict(event: Any) -> Mapping[str, Any]:
    if hasattr(event, "_asdict"):
        as_dict: Mapping[str, Any] = event._asdict()
        return as_dict
    mapping: Mapping[str, Any] = event
    return mapping


def render_event(event: Any, wall_offset_ns: int = 0) -> str:
    """One event as its tool prints it; unknown names as `name key=value ...`."""
    ev = _as_dict(event)
    name, f = ev.get("name", ""), ev.get("fields") or {}
    render = _EVENTS.get(name)
    if render is not None:
        return render(ev, f, wall_offset_ns)
    if name == "lost":
        return f"Possibly lost {f.get('count')} samples"
    if "text" in f and (len(f) == 1 or "json" in f):  # bpftrace: text, printf & co
        return str(f["text"])
    if "json" in f:  # a bpftrace -f json record (0.17 invalid JSON: as printed)
        return _bpftrace_record(f)
    pairs = " ".join(f"{k}={v}" for k, v in f.items())
    return f"{name} pid={ev.get('pid')} comm={ev.get('comm')} {pairs}".rstrip()


def _execsnoop(ev: Mapping[str, Any], f: Mapping[str, Any], _off: int) -> str:
    args = " ".join(f.get("args", [])) + (" ..." if f.get("truncated") else "")
    return (
        f"{f.get('pcomm', ev.get('comm')):<16} {f.get('pid', ev.get('pid')):<7} "
        f"{f['ppid']:<7} {f['ret']:>3} {args}"
    )


def _opensnoop(ev: Mapping[str, Any], f: Mapping[str, Any], _off: int) -> str:
    return f"{ev.get('pid'):<6} {ev.get('comm'):<16} {f['fd']:>4} {f['err']:>3} {f['path']}"


def _exitsnoop(ev: Mapping[str, Any], f: Mapping[str, Any], _off: int) -> str:
    if f.get("signal"):
        sig = str(f["signal"]).removeprefix("SIG")
        code = f"signal {f['status'] & 0x7F} ({sig})" + (", core dumped " if f.get("core") else "")
    else:
        code = "0" if not f.get("exit_code") else f"code {f['exit_code']}"
    return f"{f['pcomm']:<16} {f['pid']:<7} {f['ppid']:<7} {f['tid']:<7} {f['age_s']:<7.2f} {code}"


def _tcplife(ev: Mapping[str, Any], f: Mapping[str, Any], _off: int) -> str:
    comm = str(f.get("comm") or "")[:10]
    return (
        f"{f.get('pid') or 0:<5} {comm:<10} {f['laddr']:<15} {f['lport']:<5} "
        f"{f['raddr']:<15} {f['rport']:<5} {f['tx_kb']:>5} {f['rx_kb']:>5} {f['ms']:.2f}"
    )


def _tcpstates(ev: Mapping[str, Any], f: Mapping[str, Any], _off: int) -> str:
    comm = str(ev.get("comm") or "")[:10]
    return (
        f"{f['skaddr']:<16} {ev.get('pid') or 0:<5} {comm:<10} {f['laddr']:<15} "
        f"{f['lport']:<5} {f['raddr']:<15} {f['rport']:<5} {f['oldstate']:<11} -> "
        f"{f['newstate']:<11} {f['ms']:.3f}"
    )


def _bashreadline(ev: Mapping[str, Any], f: Mapping[str, Any], off: int) -> str:
    wall_s = (int(ev.get("ts_ns") or 0) + off) / 1e9
    return (
        f"{time.strftime('%H:%M:%S', time.localtime(wall_s)):<9} {ev.get('pid'):<7} {f['command']}"
    )


_EVENTS = {
    "execsnoop": _execsnoop,
    "opensnoop": _opensnoop,
    "exitsnoop": _exitsnoop,
    "tcplife": _tcplife,
    "tcpstates": _tcpstates,
    "bashreadline": _bashreadline,
}


def _stars(val: int, val_max: int, width: int) -> str:
    """BCC's bar: width * val / val_max stars, '+' when the value overflows the bar."""
    if val_max <= 0:
        return ""
    n = min(width, int(width * val / val_max))
    return "*" * n + ("+" if val > val_max else "")


def log2_hist(buckets: Sequence[Mapping[str, int]], unit: str = "") -> str:
    """Buckets {low, high, count} as print_log2_hist draws them (slot 0, the value 0, is
    shown with the first row `0 -> 1` as BCC does)."""
    counts = {int(b["high"]): int(b["count"]) for b in buckets if b.get("high") is not None}
    if not any(counts.values()):
        return ""
    last = max(h for h, c in counts.items() if c)
    rows = []
    high = 1
    while True:
        low = 0 if high == 1 else (high + 1) >> 1
        count = counts.get(high, 0) + (counts.get(0, 0) if high == 1 else 0)
        rows.append((low, high, count))
        if high >= last:
            break
        high = high * 2 + 1
    val_max = max(c for _l, _h, c in rows)
    wide = last > (1 << 32)
    head = (
        f"{'':15}{unit:<29} : count     distribution"
        if wide
        else f"{'':5}{unit:<19} : count     distribution"
    )
    width = STARS_MAX // 2 if wide else STARS_MAX
    lines = [head]
    for low, high, count in rows:
        bounds = f"{low:>20} -> {high:<20}" if wide else f"{low:>10} -> {high:<10}"
        lines.append(f"{bounds} : {count:<8} |{_stars(count, val_max, width):<{width}}|")
    return "\n".join(lines)


def bpftrace_hist(name: str, buckets: Sequence[Mapping[str, Any]]) -> str:
    """A bpftrace hist/lhist as bpftrace prints it (src/output.cpp): `@name: `, then rows of
    a 16-wide label, an 8-wide count and a 52-wide bar; hist labels with K/M/G/T."""
    counts = [int(b.get("count", 0)) for b in buckets]
    val_max = max(counts, default=0)
    log2 = _is_log2(buckets)
    lines = [f"{name}: "]
    for b, count in zip(buckets, counts, strict=True):
        label = _bpftrace_range(b.get("low"), b.get("high"), log2)
        bar = "@" * int(count / val_max * 52) if val_max else ""
        lines.append(f"{label:<16}{count:>8} |{bar:<52}|")
    return "\n".join(lines)


def _is_log2(buckets: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the buckets are hist()'s powers of two (else lhist()'s steps)."""
    for b in buckets:
        low, high = b.get("low"), b.get("high")
        if low is None or high is None or low == high:
            continue
        if low < 2 or low & (low - 1) or high + 1 != 2 * low:
            return False
    return True


def _size_label(value: int) -> str:
    """bpftrace's hist labels: 512, 1K, 2M, 4G, 8T (powers of 1024)."""
    for shift, suffix in ((40, "T"), (30, "G"), (20, "M"), (10, "K")):
        if value >= 1 << shift and value % (1 << shift) == 0:
            return f"{value >> shift}{suffix}"
    return str(value)


def _bpftrace_range(low: int | None, high: int | None, log2: bool) -> str:
    label = _size_label if log2 else str
    if low is None:
        return f"(..., {'...' if high is None else label(high + 1)})"
    if low == high and log2:
        return f"[{low}]"
    if high is None:
        return f"[{label(low)}, ...)"
    return f"[{label(low)}, {label(high + 1)})"


def render_maps(maps: Mapping[str, Any], tool: str | None = None) -> str:
    """A map snapshot: histograms as bars, syscount as its table, stacks folded, bpftrace
    maps (`@name`) as bpftrace prints them, anything else as `key: value` lines."""
    if maps and all(name.startswith("@") for name in maps):
        # bpftrace: one line per value, a blank line after each histogram
        return "\n".join(_bpftrace_map(name, contents) for name, contents in maps.items())
    parts = []
    for name, contents in maps.items():
        kind = contents.get("type") if isinstance(contents, Mapping) else None
        if name.startswith("@"):
            parts.append(_bpftrace_map(name, contents))
        elif tool == "syscount" and kind == "map":
            parts.append(_syscount(contents))
        elif kind == "hist":
            parts.append(_hist(contents))
        elif kind == "stacks":
            parts.append(_stacks(contents, tool))
        elif kind == "map":
            parts.append("\n".join(f"{e['key']}: {e['value']}" for e in contents["entries"]))
        else:
            parts.append(f"{name}: {contents}")
    return "\n\n".join(p for p in parts if p)


def _hist(contents: Mapping[str, Any]) -> str:
    unit = contents.get("unit") or "value"
    if "buckets" in contents:
        return log2_hist(contents["buckets"], unit)
    out = []
    for entry in contents.get("entries", []):
        key = ", ".join(f"{k} = {v}" for k, v in entry["key"].items())
        out.append(f"\n{key}\n{log2_hist(entry['buckets'], unit)}")
    return "\n".join(out).lstrip("\n")


def _syscount(contents: Mapping[str, Any]) -> str:
    entries = contents["entries"][:TOP_SYSCALLS]
    latency = any(e["value"].get("total_ns") for e in entries)
    per_process = bool(entries) and "pid" in entries[0]["key"]
    if per_process:
        head = f"{'PID':<6} {'COMM':<15} {'COUNT':>8}"
        rows = [
            f"{e['key']['pid']:<6} {e['value'].get('comm', ''):<15} {e['value']['count']:>8}"
            for e in entries
        ]
    else:
        head = f"{'SYSCALL':<22} {'COUNT':>8}"
        rows = [f"{e['key']['syscall']:<22} {e['value']['count']:>8}" for e in entries]
    if latency:
        head += f" {'TIME (us)':>16}"
        rows = [
            f"{r} {e['value']['total_ns'] / 1e3:>16.3f}" for r, e in zip(rows, entries, strict=True)
        ]
    return "\n".join([head, *rows])


def _stacks(contents: Mapping[str, Any], tool: str | None) -> str:
    if tool != "mallocstacks":
        return "\n".join(contents.get("folded", []))
    out = []
    for entry in contents["entries"]:
        frames = "\n".join(f"\t{frame}" for frame in entry["key"]["user_stack"])
        out.append(f"{entry['value']['bytes']} bytes allocated at:\n{frames}")
    return "\n".join(out)


def _bpftrace_map(name: str, contents: Mapping[str, Any]) -> str:
    kind = contents.get("type")
    if kind == "value":
        return f"{name}: {contents['value']}"
    if kind == "hist":
        if "buckets" in contents:
            return bpftrace_hist(name, contents["buckets"]) + "\n"
        return "\n".join(
            bpftrace_hist(f"{name}[{e['key']}]", e["buckets"]) + "\n" for e in contents["entries"]
        )
    return "\n".join(f"{name}[{e['key']}]: {e['value']}" for e in contents.get("entries", []))


def _bpftrace_record(f: Mapping[str, Any]) -> str:
    """A `-f json` map/hist/stats record of a bpftrace session, as its maps; other
    records as the JSON line bpftrace printed."""
    from ..engines.bpf.bpftrace_text import classify

    try:
        rec = classify(json.loads(str(f["json"])))
    except ValueError:
        return str(f["json"])
    if rec.kind == "maps":
        return render_maps(rec.data)
    return str(f["json"])
