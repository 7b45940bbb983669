"""ELF symbols (pyelftools): a function's address and its file offset (for uprobes)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from ..errors import BadProbe


@dataclass(frozen=True, slots=True)
class ElfSymbol:
    name: str
    vaddr: int
    size: int
    file_offset: int


@lru_cache(maxsize=64)
def _symbols(path: str, mtime_ns: int) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    try:
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            for section in elf.iter_sections():
                if not isinstance(section, SymbolTableSection):
                    continue
                for sym in section.iter_symbols():
                    if sym["st_info"]["type"] not in ("STT_FUNC", "STT_GNU_IFUNC"):
                        continue
                    if sym["st_shndx"] == "SHN_UNDEF" or not sym["st_value"]:
                        continue
                    name = sym.name.split("@", 1)[0]
                    out.setdefault(name, (sym["st_value"], sym["st_size"]))
    except (OSError, ELFError) as exc:
        raise BadProbe(f"cannot read ELF symbols of {path}: {exc}", {"path": path}) from exc
    return out


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
    import os

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
