"""ELF symbols (pyelftools), the one reader: a function's address and its file offset (for
uprobes), and symbol addresses in a live process (with /proc/PID/maps).

A symbol's runtime address is found through the file offset it lives at: the PT_LOAD
segment holding `st_value` gives its file offset, and the mapping of that file covering the
offset gives the address (works for PIE binaries and shared libraries alike). The file
offset is also what a uprobe definition takes (`PATH:0xOFFSET`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from ..errors import BadProbe

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ElfSymbol:
    name: str
    vaddr: int
    size: int
    file_offset: int


@dataclass(frozen=True, slots=True)
class SymbolTable:
    """The defined symbols of one ELF file, read in one pass over its symbol tables."""

    functions: dict[str, tuple[int, int]]
    """function name -> (st_value, st_size)"""
    offsets: dict[str, int]
    """name of a defined function or object -> its file offset"""


@lru_cache(maxsize=64)
def read_symbols(path: str, mtime_ns: int) -> SymbolTable:
    """Every symbol table of `path` (.dynsym first); OSError/ELFError as pyelftools raised."""
    table = SymbolTable({}, {})
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        for section in elf.iter_sections():
            if isinstance(section, SymbolTableSection):
                _add_symbols(table, section, loads)
    return table


def _add_symbols(table: SymbolTable, section: SymbolTableSection, loads: list[Any]) -> None:
    for sym in section.iter_symbols():
        value = sym["st_value"]
        if not value or sym["st_shndx"] == "SHN_UNDEF":
            continue
        name = sym.name.split("@", 1)[0]
        if sym["st_info"]["type"] in ("STT_FUNC", "STT_GNU_IFUNC"):
            table.functions.setdefault(name, (value, sym["st_size"]))
        if sym.name in table.offsets:
            continue
        for seg in loads:
            if seg["p_vaddr"] <= value < seg["p_vaddr"] + seg["p_memsz"]:
                table.offsets[name] = value - seg["p_vaddr"] + seg["p_offset"]
                break


def _symbols(path: str, mtime_ns: int) -> dict[str, tuple[int, int]]:
    try:
        return read_symbols(path, mtime_ns).functions
    except (OSError, ELFError) as exc:
        raise BadProbe(f"cannot read ELF symbols of {path}: {exc}", {"path": path}) from exc


def vaddr_to_offset(path: str, vaddr: int) -> int:
    """File offset of a virtual address, from the PT_LOAD segment that holds it."""
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD":
                continue
            start = seg["p_vaddr"]
            if start <= vaddr < start + seg["p_memsz"]:
                return int(vaddr - start + seg["p_offset"])
    raise BadProbe(f"address {vaddr:#x} is in no loadable segment of {path}")


def resolve_symbol(path: str, name: str) -> ElfSymbol:
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise BadProbe(f"cannot open {path}: {exc.strerror}", {"path": path}) from exc
    table = _symbols(path, mtime)
    if name not in table:
        import difflib

        close = difflib.get_close_matches(name, list(table), n=5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadProbe(
            f"no function {name} in {path}{hint}",
            {"path": path, "symbol": name, "close_matches": close},
        )
    vaddr, size = table[name]
    return ElfSymbol(name, vaddr, size, vaddr_to_offset(path, vaddr))


ELF_MAGIC = b"\x7fELF"
PF_X = 1


def check_uprobe_target(path: str, offset: int) -> None:
    """A uprobe goes into an ELF file, at a file offset inside an executable segment;
    BadProbe otherwise (a probe on data or past the end would patch what is not code)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != ELF_MAGIC:
                raise BadProbe(f"{path} is not an ELF file", {"path": path})
            fh.seek(0)
            segments = [
                (int(seg["p_offset"]), int(seg["p_filesz"]))
                for seg in ELFFile(fh).iter_segments()
                if seg["p_type"] == "PT_LOAD" and int(seg["p_flags"]) & PF_X
            ]
    except (OSError, ELFError) as exc:
        raise BadProbe(f"cannot read {path} as ELF: {exc}", {"path": path}) from exc
    if not any(start <= offset < start + size for start, size in segments):
        raise BadProbe(
            f"offset {offset:#x} is not in an executable segment of {path}",
            {"path": path, "offset": offset},
        )


@dataclass(frozen=True, slots=True)
class Mapping:
    start: int
    end: int
    offset: int
    path: str


@dataclass(frozen=True, slots=True)
class Location:
    symbol: str
    path: str
    file_offset: int
    address: int | None = None


def read_maps(pid: int) -> list[Mapping]:
    out: list[Mapping] = []
    try:
        with open(f"/proc/{pid}/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(maxsplit=5)
        if len(parts) < 6 or not parts[5].startswith("/"):
            continue
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        out.append(Mapping(lo, hi, int(parts[2], 16), parts[5].removesuffix(" (deleted)")))
    return out


def symbol_offsets(path: str) -> dict[str, int]:
    """{symbol: file offset} of the defined functions/objects of an ELF file ({} if unreadable)."""
    try:
        return read_symbols(path, os.stat(path).st_mtime_ns).offsets
    except (OSError, ELFError) as exc:
        log.debug("cannot read symbols of %s: %s", path, exc)
        return {}


def resolve(pid: int, symbols: Iterable[str], paths: Iterable[str] | None = None) -> list[Location]:
    """Locations of `symbols` in the files mapped by `pid` (or in `paths`), first match wins."""
    maps = read_maps(pid)
    files = list(dict.fromkeys(paths if paths is not None else (m.path for m in maps)))
    out = []
    for symbol in symbols:
        for path in files:
            offset = symbol_offsets(path).get(symbol)
            if offset is None:
                continue
            out.append(Location(symbol, path, offset, _address(maps, path, offset)))
            break
    return out


def _address(maps: list[Mapping], path: str, offset: int) -> int | None:
    for m in maps:
        if m.path == path and m.offset <= offset < m.offset + (m.end - m.start):
            return m.start + offset - m.offset
    return None


def entry_point(pid: int) -> int | None:
    """AT_ENTRY from /proc/PID/auxv: where the program starts once ld.so loaded its libraries."""
    try:
        with open(f"/proc/{pid}/auxv", "rb") as f:
            data = f.read()
    except OSError:
        return None
    for i in range(0, len(data) - 15, 16):
        key = int.from_bytes(data[i : i + 8], "little")
        if key == 9:  # AT_ENTRY
            return int.from_bytes(data[i + 8 : i + 16], "little")
    return None
