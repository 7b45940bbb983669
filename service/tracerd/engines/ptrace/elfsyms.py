"""Symbol addresses in a live process: ELF symbols (pyelftools) + /proc/PID/maps.

A symbol's runtime address is found through the file offset it lives at: the PT_LOAD
segment holding `st_value` gives its file offset, and the mapping of that file covering the
offset gives the address (works for PIE binaries and shared libraries alike). The file
offset is also what a uprobe definition takes (`PATH:0xOFFSET`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

log = logging.getLogger(__name__)


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


@functools.lru_cache(maxsize=64)
def symbol_offsets(path: str) -> dict[str, int]:
    """{symbol: file offset} of the defined functions/objects of an ELF file."""
    out: dict[str, int] = {}
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            for section_name in (".dynsym", ".symtab"):
                section = elf.get_section_by_name(section_name)
                if section is None or not hasattr(section, "iter_symbols"):
                    continue
                for sym in section.iter_symbols():
                    value = sym["st_value"]
                    if not value or sym["st_shndx"] == "SHN_UNDEF" or sym.name in out:
                        continue
                    for seg in loads:
                        if seg["p_vaddr"] <= value < seg["p_vaddr"] + seg["p_memsz"]:
                            out[sym.name.split("@")[0]] = value - seg["p_vaddr"] + seg["p_offset"]
                            break
    except (OSError, ELFError) as exc:
        log.debug("cannot read symbols of %s: %s", path, exc)
    return out


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
