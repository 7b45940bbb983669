"""Calls whose argument's type depends on an op, a version or a length: shmctl's buffers,
capget/capset's header and data, mincore's vector, keyctl's per-op arguments, and
io_uring_setup's params (what the caller asked at entry, what the kernel filled at exit).

Pure rendering (x86-64 layouts, strace 6.1's text); the reader fetches by op (decode.py
`_fetch_more`, kinds "shmctl", "keyctl", "mincore") and plans.py dispatches here through
calls.ARG_HOOKS / calls.FETCHED_KINDS.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence

from . import argtypes, flags, structs

AGAIN_KEY = 100

# -- shmctl -----------------------------------------------------------------------------------

IPC_SET, IPC_STAT, IPC_INFO, SHM_STAT, SHM_INFO, SHM_STAT_ANY = 1, 2, 3, 13, 14, 15
SHMID_DS_SIZE = 112
SHM_ENTRY_SIZES = {IPC_SET: SHMID_DS_SIZE}
SHM_EXIT_SIZES = {IPC_STAT: SHMID_DS_SIZE, SHM_STAT: SHMID_DS_SIZE, SHM_STAT_ANY: 112}
SHM_EXIT_SIZES |= {IPC_INFO: 40, SHM_INFO: 48}


def shm_cmd(value: int) -> int:
    return value & 0xFF  # without IPC_64


def _perm(data: bytes, full: bool) -> str:
    key, uid, gid, cuid, cgid, mode = struct.unpack_from("=iIIIII", data)
    head = f"uid={uid}, gid={gid}, mode={argtypes.octal(mode & 0o777)}"
    return f"{{{head}, key={key}, cuid={cuid}, cgid={cgid}}}" if full else f"{{{head}}}"


def shmid_ds(data: bytes) -> str | None:
    if len(data) < SHMID_DS_SIZE:
        return None
    segsz, atime, dtime, ctime, cpid, lpid, nattch = struct.unpack_from("=QqqqiiQ", data, 48)
    return (
        f"{{shm_perm={_perm(data, True)}, shm_segsz={segsz}, shm_cpid={cpid}, "
        f"shm_lpid={lpid}, shm_nattch={nattch}, shm_atime={atime}, shm_dtime={dtime}, "
        f"shm_ctime={ctime}}}"
    )


def shminfo(data: bytes) -> str | None:
    if len(data) < 40:
        return None
    shmmax, shmmin, shmmni, shmseg, shmall = struct.unpack_from("=5Q", data)
    return (
        f"{{shmmax={shmmax}, shmmin={shmmin}, shmmni={shmmni}, shmseg={shmseg}, shmall={shmall}}}"
    )


def shm_info(data: bytes) -> str | None:
    if len(data) < 48:
        return None
    used, tot, rss, swp, attempts, successes = struct.unpack_from("=i4x5Q", data)
    return (
        f"{{used_ids={used}, shm_tot={tot}, shm_rss={rss}, shm_swp={swp}, "
        f"swap_attempts={attempts}, swap_successes={successes}}}"
    )


def shmctl_args(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    cmd = shm_cmd(args[1])
    shown: str | None = None
    if cmd == IPC_SET:
        data = fetched.get(2)
        if isinstance(data, bytes) and len(data) >= 24:
            shown = f"{{shm_perm={_perm(data, False)}}}"
    elif cmd in SHM_EXIT_SIZES and ok:
        data = fetched.get(AGAIN_KEY + 2)
        if isinstance(data, bytes):
            render = shminfo if cmd == IPC_INFO else shm_info if cmd == SHM_INFO else shmid_ds
            shown = render(data)
    return [*out[:2], shown or structs.pointer(args[2])]


# -- capget / capset --------------------------------------------------------------------------

CAP_VERSIONS = {
    0x19980330: "_LINUX_CAPABILITY_VERSION_1",
    0x20071026: "_LINUX_CAPABILITY_VERSION_2",
    0x20080522: "_LINUX_CAPABILITY_VERSION_3",
}


def cap_header(data: bytes) -> str | None:
    if len(data) < 8:
        return None
    version, pid = struct.unpack_from("=Ii", data)
    name = CAP_VERSIONS.get(version, f"{version:#x} /* _LINUX_CAPABILITY_VERSION_??? */")
    return f"{{version={name}, pid={pid}}}"


def _cap_set(low: int, high: int, names: Sequence[str]) -> str:
    parts = [f"1<<{names[i]}" for i in range(32) if low >> i & 1 and i < len(names)]
    unknown_high = high
    for i in range(32):
        if high >> i & 1 and 32 + i < len(names):
            parts.append(f"1<<{names[32 + i]}")
            unknown_high &= ~(1 << i)
    if unknown_high:
        parts.append(hex(unknown_high))
    return "|".join(parts) or "0"


def cap_data(data: bytes, version: int, names: Sequence[str]) -> str | None:
    """`{effective=1<<CAP_CHOWN|..., permitted=..., inheritable=...}`: one 32-bit word per
    set for version 1, two (low, high) for versions 2 and 3."""
    words = 1 if version == 0x19980330 else 2
    if len(data) < 12 * words:
        return None
    sets = [struct.unpack_from("=3I", data, 12 * w) for w in range(words)]
    high = sets[1] if words == 2 else (0, 0, 0)
    labels = ("effective", "permitted", "inheritable")
    body = ", ".join(f"{labels[i]}={_cap_set(sets[0][i], high[i], names)}" for i in range(3))
    return "{" + body + "}"


Hook = Callable[[Sequence[int], list[str], Mapping[int, object], bool, int], list[str]]


def cap_args(names: Sequence[str]) -> Hook:
    """capget/capset's data as the header's version lays it out."""

    def hook(
        args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
    ) -> list[str]:
        header = fetched.get(0)
        data = fetched.get(1)
        if not isinstance(header, bytes) or len(header) < 8 or not isinstance(data, bytes):
            return out
        version = struct.unpack_from("=I", header)[0]
        if version not in CAP_VERSIONS:
            return out
        return [out[0], cap_data(data, version, names) or out[1]]

    return hook


# -- mincore ------------------------------------------------------------------------------------


def mincore_pages(length: int) -> int:
    return (length + 4095) // 4096


def mincore_vec(value: object, arg: int, ok: bool, ret: int) -> str:
    """`[1, 0, 1, ...]` (each byte's residency bit), cut at -s elements as strace cuts it."""
    if not ok or not isinstance(value, tuple):
        return structs.pointer(arg)
    data, pages = value
    items = ", ".join(str(b & 1) for b in data)
    return f"[{items}{', ...' if len(data) < pages else ''}]"


# -- keyctl -------------------------------------------------------------------------------------

KEYCTL_ONE_KEY = frozenset({3, 7, 21})
"""REVOKE, CLEAR, INVALIDATE: the key only"""
KEYCTL_OUT_BUF = frozenset({6, 11, 17})
"""DESCRIBE, READ, GET_SECURITY: (key, buffer written, size)"""
KEYCTL_TWO_KEYS = frozenset({8, 9})
"""LINK, UNLINK"""
KEY_PERMS: flags.Table = tuple(
    (bit << shift, f"KEY_{who}_{what}")
    for who, shift in (("POS", 24), ("USR", 16), ("GRP", 8), ("OTH", 0))
    for bit, what in (
        (1, "VIEW"),
        (2, "READ"),
        (4, "WRITE"),
        (8, "SEARCH"),
        (0x10, "LINK"),
        (0x20, "SETATTR"),
    )
)
REQKEY_DEFL = {
    -1: "KEY_REQKEY_DEFL_NO_CHANGE",
    0: "KEY_REQKEY_DEFL_DEFAULT",
    1: "KEY_REQKEY_DEFL_THREAD_KEYRING",
    2: "KEY_REQKEY_DEFL_PROCESS_KEYRING",
    3: "KEY_REQKEY_DEFL_SESSION_KEYRING",
    4: "KEY_REQKEY_DEFL_USER_KEYRING",
    5: "KEY_REQKEY_DEFL_USER_SESSION_KEYRING",
    6: "KEY_REQKEY_DEFL_GROUP_KEYRING",
    7: "KEY_REQKEY_DEFL_REQUESTOR_KEYRING",
}


def _string(value: object, arg: int) -> str:
    if isinstance(value, tuple) and isinstance(value[0], bytes):
        return structs.quote(value[0], cut=not value[1])
    return structs.pointer(arg)


def keyctl_args(
    args: Sequence[int], out: list[str], fetched: Mapping[int, object], ok: bool, ret: int
) -> list[str]:
    op = args[0] & 0xFFFFFFFF
    key = argtypes.FORMATTERS["keyring"]
    if op == 0:  # GET_KEYRING_ID
        return out[:3]
    if op == 1:  # JOIN_SESSION_KEYRING
        return [out[0], _string(fetched.get(1), args[1])]
    if op == 2:  # UPDATE
        data = fetched.get(2)
        shown = None
        if isinstance(data, tuple):
            shown = structs.quote(data[0], cut=len(data[0]) < data[1])
        return [out[0], out[1], shown or structs.pointer(args[2]), str(args[3] & 0xFFFFFFFF)]
    if op in KEYCTL_ONE_KEY:
        return out[:2]
    if op == 4:  # CHOWN
        return [out[0], out[1], argtypes.uid(args[2]), argtypes.uid(args[3])]
    if op == 5:  # SETPERM
        return [out[0], out[1], flags.bits(args[2] & 0xFFFFFFFF, KEY_PERMS)]
    if op in KEYCTL_OUT_BUF:
        data = fetched.get(AGAIN_KEY + 2)
        if ok and isinstance(data, bytes) and args[2]:
            cut = len(data) < min(ret, args[3] & 0xFFFFFFFF)
            if op != 11 and b"\0" in data:  # DESCRIBE, GET_SECURITY: C strings
                data, cut = data.split(b"\0")[0], False
            shown = structs.quote(data, cut=cut)
        else:
            shown = structs.pointer(args[2])
        return [out[0], out[1], shown, str(args[3] & 0xFFFFFFFF)]
    if op in KEYCTL_TWO_KEYS:
        return [out[0], out[1], key(args[2])]
    if op == 10:  # SEARCH
        found = [_string(fetched.get(i), args[i]) for i in (2, 3)]
        return [out[0], out[1], *found, key(args[4])]
    if op == 14:  # SET_REQKEY_KEYRING
        return [out[0], flags.enum(argtypes.s32(args[1]), REQKEY_DEFL)]
    if op == 15:  # SET_TIMEOUT
        return [out[0], out[1], str(args[2] & 0xFFFFFFFF)]
    return out


# -- io_uring_setup ---------------------------------------------------------------------------

URING_PARAMS_SIZE = 120
"""struct io_uring_params: sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle,
features, wq_fd, resv[3], then sq_off and cq_off (40 bytes each)"""
URING_SETUP_FLAGS: flags.Table = tuple(
    (1 << bit, f"IORING_SETUP_{name}")
    for bit, name in enumerate(
        (
            "IOPOLL", "SQPOLL", "SQ_AFF", "CQSIZE", "CLAMP", "ATTACH_WQ", "R_DISABLED",
            "SUBMIT_ALL", "COOP_TASKRUN", "TASKRUN_FLAG", "SQE128", "CQE32", "SINGLE_ISSUER",
            "DEFER_TASKRUN",
        )
    )
)  # fmt: skip
"""as strace 6.1 names them (later flags print as hex)"""
URING_FEATURES: flags.Table = tuple(
    (1 << bit, f"IORING_FEAT_{name}")
    for bit, name in enumerate(
        (
            "SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS", "CUR_PERSONALITY",
            "FAST_POLL", "POLL_32BITS", "SQPOLL_NONFIXED", "EXT_ARG", "NATIVE_WORKERS",
            "RSRC_TAGS", "CQE_SKIP", "LINKED_FILE",
        )
    )
)  # fmt: skip
"""strace 6.1's: a 6.18 kernel's later features print as one hex rest (`|0x3e000`)"""
ATTACH_WQ = 1 << 5
SQ_OFFSETS = ("head", "tail", "ring_mask", "ring_entries", "flags", "dropped", "array")
CQ_OFFSETS = ("head", "tail", "ring_mask", "ring_entries", "overflow", "cqes", "flags")


def _offsets(names: Sequence[str], values: Sequence[int]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in zip(names, values, strict=True)) + "}"


def uring_params(
    args: Sequence[int], i: int, fetched: Mapping[int, object], ok: bool, ret: int
) -> str:
    """io_uring_setup's params: `{flags=..., sq_thread_cpu=0, sq_thread_idle=0` as the
    caller set them, then (on success) `, sq_entries=4, cq_entries=8, features=...,
    sq_off={...}, cq_off={...}}` as the kernel filled them in."""
    before = fetched.get(i)
    if not isinstance(before, bytes) or len(before) < URING_PARAMS_SIZE:
        return structs.pointer(args[i])
    _sq, _cq, setup, cpu, idle, _feat, wq_fd, *resv = struct.unpack_from("=10I", before)
    parts = [
        f"flags={flags.bits(setup, URING_SETUP_FLAGS, prefix='IORING_SETUP_')}",
        f"sq_thread_cpu={structs.hex0(cpu)}",
        f"sq_thread_idle={idle}",
    ]
    if setup & ATTACH_WQ:
        parts.append(f"wq_fd={argtypes.s32(wq_fd)}")
    if any(resv):
        parts.append("resv=[" + ", ".join(map(structs.hex0, resv)) + "]")
    after = fetched.get(AGAIN_KEY + i)
    if ok and isinstance(after, bytes) and len(after) >= URING_PARAMS_SIZE:
        sq, cq, _setup, _cpu, _idle, features = struct.unpack_from("=6I", after)
        sq_off = struct.unpack_from("=7I", after, 40)
        cq_off = struct.unpack_from("=7I", after, 80)
        parts += [
            f"sq_entries={sq}",
            f"cq_entries={cq}",
            f"features={flags.bits(features, URING_FEATURES, prefix='IORING_FEAT_')}",
            f"sq_off={_offsets(SQ_OFFSETS, sq_off)}",
            f"cq_off={_offsets(CQ_OFFSETS, cq_off)}",
        ]
    return "{" + ", ".join(parts) + "}"
