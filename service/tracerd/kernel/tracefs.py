"""tracefs: the one module that opens its files (control files of an instance, the
catalogue, dynamic-event definitions, error_log, formats' text, top-level settings).

Requirements: tracefs mounted (default /sys/kernel/tracing); instances (`instances/`).
Caveats (kernel-interfaces.md 1.2, 1.6): writes go through os.open + os.write so every
error surfaces; nothing containing a newline is ever written (each line of a definition
file is a command); a rejected filter write removes the previous filter, so the old one
is put back; the kernel's explanation is read from the filter file and `error_log`.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import fnmatch
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import KernelRejected, NotFound, TracefsUnavailable, UnknownEvent
from .formats import FormatError, parse_format

log = logging.getLogger(__name__)

EVENT_PART_RE = re.compile(r"^[A-Za-z0-9_]{1,128}$")
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
RMDIR_RETRIES = 50
RMDIR_RETRY_S = 0.02
CLOSE_MATCHES = 5
DEFAULT_PAGE_SIZE = 4096
DEFAULT_ROOT = Path("/sys/kernel/tracing")
MOUNT_POINTS = (DEFAULT_ROOT, Path("/sys/kernel/debug/tracing"))
PROBE_FILES = ("uprobe_events", "kprobe_events")
CLOCK_IDS = {
    "mono": time.CLOCK_MONOTONIC,
    "mono_raw": time.CLOCK_MONOTONIC_RAW,
    "boot": time.CLOCK_BOOTTIME,
    "tai": time.CLOCK_TAI,
}
"""trace_clock names -> the clock_gettime(2) clock reading the same time"""


def os_error_text(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "E?")
    return f"{name} ({os.strerror(exc.errno or 0)})"


def check_text(text: str) -> str:
    if "\n" in text or "\r" in text or "\0" in text:
        raise KernelRejected("control text may not contain newlines or NUL", {"text": text})
    return text


def write_file(path: Path, text: str, append: bool = False) -> None:
    """One write(2) of `text`; raises OSError as the kernel answered."""
    check_text(text)
    flags = os.O_WRONLY | os.O_CLOEXEC | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags)
    try:
        data = text.encode()
        if os.write(fd, data) != len(data):
            raise OSError(0, f"short write to {path}")
    finally:
        os.close(fd)


def write_tokens(path: Path, tokens: Iterable[str]) -> None:
    """O_TRUNC, then one write(2) per token, looping on short writes (the ftrace filter
    parser takes one token per call); raises OSError as the kernel answered."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        for token in tokens:
            data = (check_text(token) + " ").encode()
            while data:
                data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def read_file(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def read_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def find_mount() -> Path | None:
    """Where tracefs is mounted (with its `events` directory), None if nowhere."""
    return next((root for root in MOUNT_POINTS if os.path.isdir(root / "events")), None)


def mount_missing_reason() -> str:
    """Why `find_mount()` found nothing: unreadable (not root?) or not mounted."""
    for root in MOUNT_POINTS:
        try:
            os.listdir(root)
        except PermissionError:
            return f"EACCES (Permission denied) reading tracefs at {root}"
        except OSError:
            continue
    return f"tracefs is not mounted at {' or '.join(map(str, MOUNT_POINTS))}"


def check_name(name: str, what: str = "name") -> str:
    if NAME_RE.fullmatch(name) is None or name in (".", ".."):
        raise NotFound(f"invalid {what} {name!r}", {what: name})
    return name


@dataclass(frozen=True, slots=True)
class EventRef:
    system: str
    event: str

    @property
    def full(self) -> str:
        return f"{self.system}:{self.event}"

    @property
    def rel(self) -> str:
        return f"{self.system}/{self.event}"


class Tracefs:
    """The tracefs mount: catalogue, dynamic-event definitions and the top-level error log."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def require(self) -> None:
        if not (self.root / "events").is_dir():
            raise TracefsUnavailable(f"tracefs is not mounted at {self.root}")

    def event_dir(self, ref: EventRef) -> Path:
        check_name(ref.system, "subsystem")
        check_name(ref.event, "event")
        path = self.root / "events" / ref.system / ref.event
        if not (path / "format").is_file():
            raise NotFound(f"no event {ref.full}", {"event": ref.full})
        return path

    def format_text(self, ref: EventRef) -> str:
        return read_file(self.event_dir(ref) / "format")

    def print_formats(self, names: Iterable[str]) -> dict[str, str]:
        """The `print fmt` of each tracefs event name (for ftrace-like text); names that are not
        `system:event` identifiers, or whose format is gone, are left out."""
        out = {}
        for name in names:
            system, _, event = name.partition(":")
            if not (EVENT_PART_RE.match(system) and EVENT_PART_RE.match(event)):
                continue
            try:
                text = self.format_text(EventRef(system, event))
                fmt = parse_format(text, system).print_fmt
            except (OSError, FormatError, ValueError):
                continue
            if fmt:
                out[name] = fmt
        return out

    def header_page(self) -> str:
        return read_file(self.root / "events" / "header_page")

    def event_id(self, ref: EventRef) -> int:
        """The tracepoint's id (perf_event_open's config); OSError/ValueError if none."""
        return int(read_file(self.root / "events" / ref.system / ref.event / "id"))

    def system_formats(self, system: str, prefix: str = "") -> Iterator[tuple[str, str]]:
        """(event, format text) of the events of `system` whose name starts with `prefix`;
        unreadable ones are skipped."""
        try:
            entries = sorted((self.root / "events" / system).glob(f"{prefix}*"))
        except OSError:
            return
        for directory in entries:
            try:
                yield directory.name, read_file(directory / "format")
            except OSError as exc:
                log.debug("cannot read %s: %s", directory, exc)

    def lines(self, file: str) -> Iterator[str]:
        """The lines of a top-level file read as a stream (available_filter_functions)."""
        with open(self.root / file, encoding="utf-8", errors="backslashreplace") as fh:
            yield from fh

    def exists(self, file: str) -> bool:
        return (self.root / file).exists()

    def remove_probes_ending(self, suffix: str) -> list[str]:
        """Delete uprobe/kprobe definitions whose name ends with `suffix` (BCC's fallback
        probes, `..._bcc_<pid>`); returns the names removed."""
        removed = []
        for name in PROBE_FILES:
            try:
                lines = read_file(self.root / name).splitlines()
            except OSError:
                continue
            for line in lines:
                event = line.split()[0].split(":", 1)[-1] if line.strip() else ""
                if not event.endswith(suffix):
                    continue
                fd = os.open(self.root / name, os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, f"-:{event}\n".encode())
                    removed.append(event)
                except OSError as e:
                    log.warning(
                        "could not remove %s from %s: %s",
                        event,
                        name,
                        errno.errorcode.get(e.errno or 0, e),
                    )
                finally:
                    os.close(fd)
        return removed

    def all_events(self) -> list[EventRef]:
        """Every event of the catalogue (systems' directories under events/)."""
        out = []
        events = self.root / "events"
        for sysdir in sorted(events.iterdir()):
            if not sysdir.is_dir():
                continue
            for evdir in sorted(sysdir.iterdir()):
                if (evdir / "format").is_file():
                    out.append(EventRef(sysdir.name, evdir.name))
        return out

    def expand(self, patterns: Iterable[str]) -> list[EventRef]:
        """`sys:event` names and globs -> events; unknown -> UnknownEvent with close matches."""
        catalogue = self.all_events()
        names = [r.full for r in catalogue]
        by_name = {r.full: r for r in catalogue}
        out: dict[str, EventRef] = {}
        for pattern in patterns:
            if any(c in pattern for c in "*?["):
                matched = fnmatch.filter(names, pattern)
            else:
                matched = [pattern] if pattern in by_name else []
            if not matched:
                close = difflib.get_close_matches(pattern, names, n=CLOSE_MATCHES, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise UnknownEvent(
                    f"unknown event {pattern}{hint}", {"event": pattern, "close_matches": close}
                )
            for name in matched:
                out.setdefault(name, by_name[name])
        return list(out.values())

    def write(self, file: str, text: str, append: bool = False) -> None:
        """One write(2) to a top-level file; OSError as the kernel answered."""
        write_file(self.root / file, text, append)

    def error_log(self) -> str:
        return read_file(self.root / "error_log")

    def clear_error_log(self) -> None:
        with contextlib.suppress(OSError):
            write_file(self.root / "error_log", "")

    def define_dynamic(self, file: str, definition: str) -> None:
        """Append one definition to uprobe_events/kprobe_events (never O_TRUNC)."""
        self.clear_error_log()
        try:
            write_file(self.root / file, definition, append=True)
        except OSError as exc:
            text = self.error_log().strip() or os_error_text(exc)
            raise KernelRejected(
                f"the kernel refused {definition!r}: {text}",
                {"definition": definition, "error_log": text, "errno": os_error_text(exc)},
            ) from exc

    def remove_dynamic(self, file: str, group: str, event: str) -> None:
        try:
            write_file(self.root / file, f"-:{group}/{event}", append=True)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno not in (2,):  # ENOENT: already gone
                raise

    def instance(self, name: str) -> Instance:
        return Instance(self, self.root / "instances" / check_name(name, "instance"))

    def instances(self, prefix: str) -> list[str]:
        try:
            return sorted(
                p.name for p in (self.root / "instances").iterdir() if p.name.startswith(prefix)
            )
        except OSError:
            return []

    def dynamic_events(self) -> list[tuple[str, str, str]]:
        """(file, group, event) of every uprobe and kprobe definition."""
        out = []
        for file in ("uprobe_events", "kprobe_events"):
            with contextlib.suppress(OSError):
                for line in read_file(self.root / file).splitlines():
                    head = line.split(" ", 1)[0]
                    if ":" not in head:
                        continue
                    group, _, event = head.split(":", 1)[1].partition("/")
                    out.append((file, group, event))
        return out

    def dynamic_groups(self, prefix: str) -> list[tuple[str, str, str]]:
        """(file, group, event) of every dynamic event whose group starts with prefix."""
        return [d for d in self.dynamic_events() if d[1].startswith(prefix)]


class Instance:
    """One tracefs instance (instances/NAME) and its control files."""

    def __init__(self, fs: Tracefs, path: Path) -> None:
        self.fs = fs
        self.path = path

    @property
    def name(self) -> str:
        return self.path.name

    def exists(self) -> bool:
        return self.path.is_dir()

    def mkdir(self) -> None:
        """Create the instance; OSError as the kernel answered (FileExistsError: taken)."""
        self.path.mkdir()

    def create(self) -> None:
        try:
            self.mkdir()
        except OSError as exc:
            raise KernelRejected(
                f"cannot create instance {self.name}: {os_error_text(exc)}"
            ) from exc

    def remove(self) -> None:
        """rmdir, retrying while the kernel still sees an open file (EBUSY)."""
        for _ in range(RMDIR_RETRIES):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != 16:  # EBUSY: a file of the instance is still open
                    raise
                time.sleep(RMDIR_RETRY_S)
        self.path.rmdir()

    def has(self, rel: str) -> bool:
        return (self.path / rel).exists()

    def write(self, rel: str, text: str, append: bool = False) -> None:
        write_file(self.path / rel, text, append)

    def read(self, rel: str) -> str:
        return read_file(self.path / rel)

    def set_option(self, option: str, on: bool) -> None:
        path = self.path / "options" / option
        if path.exists():
            write_file(path, "1" if on else "0")

    def set_event_enabled(self, ref: EventRef, on: bool) -> None:
        if not (self.path / "events" / ref.system / ref.event / "enable").exists():
            # ftrace's own records (print for markers, function, funcgraph_*) have no enable
            # file: they are written whenever their feature is in use
            return
        try:
            self.write(f"events/{ref.rel}/enable", "1" if on else "0")
        except OSError as exc:
            raise KernelRejected(
                f"cannot enable {ref.full}: {os_error_text(exc)}", {"event": ref.full}
            ) from exc

    def set_filter(self, ref: EventRef, expression: str) -> None:
        """Install a filter; on rejection restore the old one and raise with the kernel's text."""
        rel = f"events/{ref.rel}/filter"
        old = self.read(rel).strip()
        with contextlib.suppress(OSError):
            self.write("error_log", "")
        try:
            self.write(rel, expression)
        except OSError as exc:
            text = self.read(rel).strip()
            log_text = ""
            with contextlib.suppress(OSError):
                log_text = self.read("error_log").strip()
            self._restore_filter(rel, old)
            message = log_text or text or os_error_text(exc)
            raise KernelRejected(
                f"the kernel rejected the filter of {ref.full}: {message}",
                {"event": ref.full, "filter": expression, "error_log": message},
            ) from exc

    def _restore_filter(self, rel: str, old: str) -> None:
        # a failed write removed the previous filter (kernel-interfaces.md 1.6)
        with contextlib.suppress(OSError):
            self.write(rel, old if old and old != "none" else "0")

    def set_pids(self, file: str, pids: Sequence[int]) -> None:
        if (self.path / file).exists():
            self.write(file, " ".join(str(p) for p in pids))

    def cpus(self) -> list[int]:
        return sorted(
            int(p.name[3:])
            for p in (self.path / "per_cpu").iterdir()
            if p.name.startswith("cpu") and p.name[3:].isdigit()
        )

    def open_pipe(self, rel: str = "trace_pipe") -> int:
        """A non-blocking read fd of one of the instance's pipes (the caller closes it)."""
        return os.open(self.path / rel, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)

    def marker(self, text: str) -> None:
        data = text.encode()
        fd = os.open(self.path / "trace_marker", os.O_WRONLY | os.O_CLOEXEC)
        try:
            while data:
                written = os.write(fd, data)  # the kernel truncates long markers
                data = data[written:]
        finally:
            os.close(fd)


def online_cpus(instance_dir: str) -> tuple[int, ...]:
    """The CPUs that have a per_cpu directory in the instance."""
    names = os.listdir(f"{instance_dir}/per_cpu")
    return tuple(sorted(int(n[3:]) for n in names if n.startswith("cpu") and n[3:].isdigit()))


def subbuf_size(instance_dir: str) -> int:
    """Sub-buffer size in bytes: `buffer_subbuf_size_kb` where the kernel has it, else 4096."""
    try:
        with open(f"{instance_dir}/buffer_subbuf_size_kb") as fh:
            return int(fh.read().split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return DEFAULT_PAGE_SIZE


def read_cpu_stats(instance_dir: str, cpu: int) -> dict[str, float]:
    """`per_cpu/cpuN/stats` as {"entries": ..., "overrun": ..., "dropped events": ...}."""
    out: dict[str, float] = {}
    with open(f"{instance_dir}/per_cpu/cpu{cpu}/stats") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            try:
                out[key.strip()] = float(value) if "." in value else int(value)
            except ValueError:
                continue
    return out


def read_kernel_loss(instance_dir: str, cpus: Iterable[int] | None = None) -> int:
    """The authoritative kernel loss: overrun + dropped events + commit overrun, all CPUs."""
    total = 0
    for cpu in cpus if cpus is not None else online_cpus(instance_dir):
        st = read_cpu_stats(instance_dir, cpu)
        total += int(
            st.get("overrun", 0) + st.get("dropped events", 0) + st.get("commit overrun", 0)
        )
    return total
