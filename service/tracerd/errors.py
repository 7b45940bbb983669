"""Domain errors, one class per error code of design.md; no HTTP here (api/errors.py maps them)."""

from __future__ import annotations

from typing import Any, ClassVar


class TracerdError(Exception):
    code: ClassVar[str] = "internal"

    def __init__(self, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class BadRequest(TracerdError):
    code = "bad_request"


class UnknownEvent(TracerdError):
    code = "unknown_event"


class KernelRejected(TracerdError):
    """The kernel refused a write; `message` carries its error_log text."""

    code = "kernel_rejected"


class CompileError(TracerdError):
    code = "compile_error"


class BadProbe(TracerdError):
    code = "bad_probe"


class Unauthenticated(TracerdError):
    code = "unauthenticated"


class Forbidden(TracerdError):
    code = "forbidden"


class NotFound(TracerdError):
    code = "not_found"


class InvalidTransition(TracerdError):
    code = "invalid_transition"

    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(
            f"cannot {wanted} a session that is {current}", {"state": current, "request": wanted}
        )


class CapabilityMissing(TracerdError):
    code = "capability_missing"

    def __init__(self, capability: str, reason: str | None) -> None:
        super().__init__(
            f"{capability} is not usable on this kernel: {reason or 'unknown'}",
            {"capability": capability, "reason": reason},
        )


class AlreadyTraced(TracerdError):
    code = "already_traced"

    def __init__(self, pid: int, tracer_pid: int) -> None:
        super().__init__(
            f"process {pid} is already traced by pid {tracer_pid}",
            {"pid": pid, "tracer_pid": tracer_pid},
        )


class PermissionDenied(TracerdError):
    code = "permission_denied"


class ResourceBusy(TracerdError):
    code = "resource_busy"


class QuotaExceeded(TracerdError):
    code = "quota_exceeded"


class BudgetExceeded(TracerdError):
    code = "budget_exceeded"


class SpecError(TracerdError):
    code = "invalid_spec"


class TracefsUnavailable(TracerdError):
    code = "tracefs_unavailable"


class StorageUnavailable(TracerdError):
    """The state database refused a write (disk full, locked past the busy timeout)."""

    code = "storage_unavailable"


class WorkerFailed(TracerdError):
    """A worker process died or broke the wire protocol."""

    code = "worker_failed"


ERROR_CLASSES: dict[str, type[TracerdError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        UnknownEvent,
        KernelRejected,
        CompileError,
        BadProbe,
        Unauthenticated,
        Forbidden,
        NotFound,
        CapabilityMissing,
        AlreadyTraced,
        PermissionDenied,
        ResourceBusy,
        QuotaExceeded,
        BudgetExceeded,
        SpecError,
        TracefsUnavailable,
        StorageUnavailable,
        WorkerFailed,
    )
}
ERROR_CLASSES["invalid_transition"] = InvalidTransition


def error_from_wire(data: dict[str, Any]) -> TracerdError:
    """Rebuild an error a worker reported, keeping its code, message and detail."""
    code = str(data.get("code", "internal"))
    err = TracerdError(str(data.get("message", "")), data.get("detail"))
    cls = ERROR_CLASSES.get(code)
    if cls is not None:
        err = cls.__new__(cls)
        TracerdError.__init__(err, str(data.get("message", "")), data.get("detail"))
    return err
