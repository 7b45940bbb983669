"""BpfLoader: compile, load, attach, read and unload one BCC program. The only module of
tracerd that imports bcc (lazily: the daemon imports the package without it).

Mechanism: `BPF(text=...)` compiles in-process (clang's diagnostics go to fd 2, which is
captured for the duration, so a CompileError carries the compiler's or the verifier's
text). Functions are then loaded one by one (`load_func`), recorded in the ledger with
their kernel program id, and only then attached. BCC 0.26 attaches tracepoints, uprobes
(perf `uprobe` PMU) and perf events through perf-event fds and raw tracepoints through a
raw-tracepoint fd: all die with the process. BCC falls back to tracefs
`uprobe_events`/`kprobe_events` definitions (named `..._bcc_<pid>`) when the PMU is missing;
those survive a SIGKILL, so a `bpf_tracefs_probe` ledger row is written before any
uprobe/kprobe attach and the leftovers are removed at close (and by the daemon's reconcile).
Caveats: a BPF object has no locking: every call goes through `lock`. BCC raises bare
`Exception`; `_classify` maps its messages to tracerd errors.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ...errors import BadProbe, CapabilityMissing, CompileError, KernelRejected, TracerdError
from ..base import Ledger
from .kernel import (
    TRACEFS_PROBE_FILES,
    clang_errors,
    fdinfo,
    perf_event_spec,
    remove_tracefs_probes,
)
from .plan import LOST_MAP, AttachSpec, ProgramPlan

log = logging.getLogger(__name__)
CFLAGS = ("-Wno-ignored-attributes", "-Wno-duplicate-decl-specifier")
PERF_PAGES = 64
PERF_WAKEUP_EVENTS = 1 << 20  # never woken per record: the poller consumes every few ms
VERIFIER_TAIL_LINES = 60
_SKIP_GENERIC = ("RingBuf", "PerfEventArray", "StackTrace", "ProgArray")


@contextlib.contextmanager
def captured_stderr(sink: list[str]) -> Iterator[None]:
    """Redirect fd 2 (clang, libbpf and BCC print there) into `sink` for the block."""
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            sink.append(tmp.read().decode("utf-8", "replace"))


def _bcc() -> Any:
    import bcc

    return bcc


class BpfLoader:
    """One compiled BCC module of a session, from compile to unload."""

    def __init__(self, plan: ProgramPlan, ledger: Ledger) -> None:
        self.plan = plan
        self.lock = threading.RLock()
        self.notes: list[str] = list(plan.notes)
        self._ledger = ledger
        self._bpf: Any = None
        self._keys: list[str] = []
        self._recorded: dict[str, int] = {}
        self._stacks: dict[tuple[str, int, int, bool], list[str]] = {}
        self._probe_key: str | None = None

    # -- set-up ------------------------------------------------------------------------

    def compile(self) -> None:
        """Compile (no program attached yet, except BCC's auto-attached functions)."""
        bpf_cls = _bcc().BPF
        err: list[str] = []
        if self.plan.tool is None and re.search(r"\bk(ret)?probe__", self.plan.text):
            self._record_tracefs_probes()
        try:
            with captured_stderr(err):
                self._bpf = bpf_cls(text=self.plan.text.encode(), cflags=list(CFLAGS))
        except Exception as e:  # bcc raises bare Exception
            raise _classify(str(e), "".join(err), None) from e
        for name in list(self._bpf.funcs):
            self._record_program(name.decode(), "auto-attached")

    def attach_all(self) -> None:
        """Load each function, record it (with its program id), then attach it."""
        for spec in self.plan.attach:
            if spec.optional and not self._exists(spec):
                self.notes.append(f"{spec.type} {spec.target} does not exist: skipped")
                continue
            err: list[str] = []
            try:
                with captured_stderr(err):
                    self._attach(spec)
            except TracerdError:
                raise
            except Exception as e:
                raise _classify(str(e), "".join(err), spec) from e

    def _exists(self, spec: AttachSpec) -> bool:
        if spec.type != "tracepoint":
            return True
        category, _, event = spec.target.partition(":")
        return bool(_bcc().BPF.tracepoint_exists(category, event))

    def _attach(self, spec: AttachSpec) -> None:
        b, kind = self._bpf, _bcc().BPF
        fn = spec.fn.encode()
        if spec.type in ("uprobe", "uretprobe", "kprobe", "kretprobe"):
            self._record_tracefs_probes()
        prog_type = {
            "tracepoint": kind.TRACEPOINT,
            "raw_tracepoint": kind.RAW_TRACEPOINT,
            "perf_event": kind.PERF_EVENT,
        }.get(spec.type, kind.KPROBE)
        if spec.type != "fentry":
            self._record_program(spec.fn, spec.target, b.load_func(fn, prog_type).fd)
        if spec.type == "tracepoint":
            b.attach_tracepoint(tp=spec.target.encode(), fn_name=fn)
        elif spec.type == "raw_tracepoint":
            b.attach_raw_tracepoint(tp=spec.target.encode(), fn_name=fn)
        elif spec.type in ("uprobe", "uretprobe"):
            path, _, symbol = spec.target.rpartition(":")
            where: dict[str, Any] = (
                {"addr": int(symbol, 16)} if symbol.startswith("0x") else {"sym": symbol.encode()}
            )
            attach = b.attach_uprobe if spec.type == "uprobe" else b.attach_uretprobe
            attach(name=path.encode(), fn_name=fn, pid=spec.pid, **where)
        elif spec.type == "kprobe":
            b.attach_kprobe(event=spec.target.encode(), fn_name=fn)
        elif spec.type == "kretprobe":
            b.attach_kretprobe(event=spec.target.encode(), fn_name=fn)
        elif spec.type == "perf_event":
            ev_type, ev_config, rate = perf_event_spec(spec.target)
            b.attach_perf_event(
                ev_type=ev_type, ev_config=ev_config, fn_name=fn, pid=spec.pid, **rate
            )
        elif spec.type == "fentry":
            # KFUNC_PROBE/KRETFUNC_PROBE programs (fentry/fexit) are attached by BPF() itself
            exit_ = spec.fn.startswith("kretfunc__")
            attached = b.kfunc_exit_fds if exit_ else b.kfunc_entry_fds
            if fn not in attached:
                (b.attach_kretfunc if exit_ else b.attach_kfunc)(fn_name=fn)
                self._record_program(spec.fn, spec.target)

    def _record_program(self, fn: str, target: str, fd: int | None = None) -> None:
        if fn in self._recorded:
            return
        if fd is None:
            func = self._bpf.funcs.get(fn.encode())
            fd = func.fd if func is not None else -1
        prog_id = int(fdinfo(fd).get("prog_id", "0")) if fd >= 0 else 0
        self._recorded[fn] = prog_id
        self._keys.append(
            self._ledger.record(
                "bpf_program",
                fn,
                {"prog_id": prog_id, "prog_name": fn[:15], "target": target, "pid": os.getpid()},
            )
        )

    def _record_tracefs_probes(self) -> None:
        if self._probe_key is None:
            self._probe_key = self._ledger.record(
                "bpf_tracefs_probe",
                f"bcc_{os.getpid()}",
                {"files": list(TRACEFS_PROBE_FILES), "suffix": f"_bcc_{os.getpid()}"},
            )

    @property
    def programs(self) -> dict[str, int]:
        """function name -> kernel program id, for what was loaded"""
        return dict(self._recorded)

    @property
    def prog_ids(self) -> list[int]:
        return sorted(i for i in self._recorded.values() if i)

    # -- reading -----------------------------------------------------------------------

    def table_kind(self, name: str) -> str:
        with self.lock:
            return type(self._bpf[name.encode()]).__name__

    def map_fd(self, name: str) -> int:
        with self.lock:
            return int(self._bpf[name.encode()].map_fd)

    def table_raw(self, name: str) -> list[tuple[bytes, bytes]]:
        """(key, value) bytes of every entry (per-CPU values concatenated, 8-aligned)."""
        with self.lock:
            table = self._bpf[name.encode()]
            try:
                items = list(table.items_lookup_batch())
            except Exception:  # older kernels lack batch ops for some map types
                items = list(table.items())
            key_t, leaf_t = table.Key, table.Leaf
            return [(_raw(k, key_t), _raw(v, leaf_t)) for k, v in items]

    def lost_count(self) -> int:
        if self.plan.lost_map is None:
            return 0
        raw = b"".join(v for _k, v in self.table_raw(LOST_MAP))
        return sum(int.from_bytes(raw[i : i + 8], "little") for i in range(0, len(raw), 8))

    @property
    def ncpus(self) -> int:
        return len(_bcc().utils.get_possible_cpus())

    def generic_tables(self) -> dict[str, list[tuple[Any, Any]]]:
        """Every other map of a custom program, as Python values built from BCC's types."""
        out: dict[str, list[tuple[Any, Any]]] = {}
        with self.lock:
            lib, module = _bcc().libbcc.lib, self._bpf.module
            # not declared by bcc's libbcc.py: typed prototypes of our own
            count = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p)(("bpf_num_tables", lib))
            name_of = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t)(
                ("bpf_table_name", lib)
            )
            names = [name_of(module, i).decode() for i in range(count(module))]
            for name in names:
                table = self._bpf[name.encode()]
                if (
                    name in (LOST_MAP, self.plan.output_map)
                    or type(table).__name__ in _SKIP_GENERIC
                ):
                    continue
                out[name] = [(to_python(k), to_python(v)) for k, v in table.items()]
        return out

    def resolve_stack(self, stack_map: str, stack_id: int, pid: int, kernel: bool) -> list[str]:
        key = (stack_map, stack_id, -1 if kernel else pid, kernel)
        cached = self._stacks.get(key)
        if cached is not None:
            return cached
        with self.lock:
            b = self._bpf
            addrs = list(b[stack_map.encode()].walk(stack_id))
            names = [b.ksym(a) if kernel else b.sym(a, pid) for a in addrs]
        frames = [n.decode("utf-8", "replace") for n in names]
        self._stacks[key] = frames
        return frames

    def open_perf(
        self, name: str, on_raw: Callable[[bytes], None], on_lost: Callable[[int], None]
    ) -> None:
        with self.lock:
            self._bpf[name.encode()].open_perf_buffer(
                lambda _cpu, data, size: on_raw(ctypes.string_at(data, size)),
                page_cnt=PERF_PAGES,
                lost_cb=on_lost,
                wakeup_events=PERF_WAKEUP_EVENTS,
            )

    def perf_consume(self) -> None:
        with self.lock:
            self._bpf.perf_buffer_consume()

    # -- teardown ----------------------------------------------------------------------

    def detach_all(self) -> None:
        """Detach every attachment (programs stay loaded, maps stay readable)."""
        b = self._bpf
        if b is None:
            return
        with self.lock:
            for table, detach in (
                (b.tracepoint_fds, b.detach_tracepoint),
                (b.raw_tracepoint_fds, b.detach_raw_tracepoint),
                (b.uprobe_fds, b.detach_uprobe_event),
                (b.kprobe_fds, b.detach_kprobe_event),
                (b.kfunc_entry_fds, b.detach_kfunc),
                (b.kfunc_exit_fds, b.detach_kretfunc),
            ):
                for key in list(table):
                    _quietly(detach, key)
            for ev_type, ev_config in list(b.open_perf_events):
                _quietly(b.detach_perf_event, ev_type, ev_config)

    def close(self) -> None:
        """Unload everything, remove tracefs leftovers, cross the ledger rows off."""
        with self.lock:
            if self._bpf is not None:
                _quietly(self._bpf.cleanup)
                self._bpf = None
        if self._probe_key is not None:
            remove_tracefs_probes(f"_bcc_{os.getpid()}")
        for key in reversed(self._keys):
            self._ledger.cross_off(key)
        self._keys.clear()
        if self._probe_key is not None:
            self._ledger.cross_off(self._probe_key)
            self._probe_key = None


def _quietly(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # teardown: log and keep releasing the rest
        log.warning("bcc teardown step %s failed", getattr(fn, "__name__", fn), exc_info=True)


def _raw(value: Any, ctype: Any) -> bytes:
    """Bytes of a BCC key or leaf (batch lookups hand simple types back as Python ints)."""
    return bytes(ctype(value)) if isinstance(value, int) else bytes(value)


def to_python(value: Any) -> Any:
    """A ctypes value (BCC's key/leaf types) as plain Python: dicts, lists, ints, str."""
    if isinstance(value, ctypes.Structure | ctypes.Union):
        return {name: to_python(getattr(value, name)) for name, *_ in value._fields_}
    if isinstance(value, ctypes.Array):
        if getattr(value, "_type_", None) is ctypes.c_char:
            return bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
        return [to_python(v) for v in value]
    if isinstance(value, bytes):
        return value.split(b"\0", 1)[0].decode("utf-8", "replace")
    return getattr(value, "value", value)


def _classify(message: str, stderr: str, spec: AttachSpec | None) -> TracerdError:
    """BCC's exception text (+ what it printed) as the tracerd error it stands for."""
    detail = {"stderr": stderr[-8000:]} if stderr else None
    if "Failed to compile BPF module" in message:
        return CompileError(clang_errors(stderr) or message, detail)
    if "Need super-user privileges" in message or (spec and spec.type == "fentry"):
        return CapabilityMissing("bpf.fentry", f"{message} (fentry/kfunc refused here)")
    if "Failed to load BPF program" in message:
        tail = "\n".join(stderr.strip().splitlines()[-VERIFIER_TAIL_LINES:])
        return CompileError(f"{message}\n{tail}".strip(), detail)
    if spec is not None and spec.type in ("kprobe", "kretprobe"):
        return CapabilityMissing(f"bpf.{spec.type}", f"{message} {stderr.strip()}".strip())
    if re.search(r"could not determine address|can't find|Could not find|not found", message):
        return BadProbe(message, detail)
    where = f" ({spec.type} {spec.target})" if spec else ""
    return KernelRejected(f"{message}{where} {stderr.strip()}".strip(), detail)
