"""Op-dependent decoders (shmctl, capget/capset, mincore, keyctl): expected text is what
strace 6.1 printed for the same calls (bench/corpus/strace ipc_shmctl_ops, proc_capset,
mem_mincore, misc_keyctl_ops)."""

from __future__ import annotations

import struct

from tracerd.engines.ptrace import calls, opstructs
from tracerd.engines.ptrace.plans import AGAIN_KEY, build_plan, render_args
from tracerd.engines.ptrace.syscalls import SyscallTable


def _shmid_ds() -> bytes:
    perm = struct.pack("=iIIIIIHH4xQQ", 0, 0, 0, 0, 0, 0o640, 1, 0, 0, 0)
    return perm + struct.pack("=QqqqiiQQQ", 8192, 0, 0, 1796389096, 979, 0, 0, 0, 0)


def test_shmctl() -> None:
    ds = _shmid_ds()
    assert len(ds) == opstructs.SHMID_DS_SIZE
    out = opstructs.shmctl_args([5, 2, 0x7FF0], ["5", "IPC_STAT", "0x7ff0"], {102: ds}, True, 0)
    assert out[2] == (
        "{shm_perm={uid=0, gid=0, mode=0640, key=0, cuid=0, cgid=0}, shm_segsz=8192, "
        "shm_cpid=979, shm_lpid=0, shm_nattch=0, shm_atime=0, shm_dtime=0, shm_ctime=1796389096}"
    )
    out = opstructs.shmctl_args([5, 1, 0x7FF0], ["5", "IPC_SET", "0x7ff0"], {2: ds}, True, 0)
    assert out[2] == "{shm_perm={uid=0, gid=0, mode=0640}}"
    info = struct.pack("=i4x5Q", 1, 2, 0, 0, 0, 0)
    out = opstructs.shmctl_args([0, 14, 1], ["0", "SHM_INFO", "0x1"], {102: info}, True, 6)
    assert out[2] == (
        "{used_ids=1, shm_tot=2, shm_rss=0, shm_swp=0, swap_attempts=0, swap_successes=0}"
    )
    failed = opstructs.shmctl_args([5, 2, 0x7FF0], ["5", "IPC_STAT", "0x7ff0"], {}, False, 0)
    assert failed[2] == "0x7ff0"


def test_capabilities(table: SyscallTable) -> None:
    plan = build_plan(table.by_name["capset"], 32)
    header = struct.pack("=Ii", 0x20080522, 0)
    data = struct.pack("=6I", 5, 0, 0, 0, 1, 0)
    shown = render_args(plan, [1, 2], {0: header, 1: data}, False, -1)
    assert shown == [
        "{version=_LINUX_CAPABILITY_VERSION_3, pid=0}",
        "{effective=1<<CAP_CHOWN|1<<CAP_DAC_READ_SEARCH, permitted=1<<CAP_MAC_OVERRIDE, "
        "inheritable=0}",
    ]
    high = opstructs.cap_data(struct.pack("=6I", 0, 0, 0, 0xFFFFFFFF, 0, 0), 0x20071026, calls.CAPS)
    assert high is not None
    assert high.startswith("{effective=1<<CAP_MAC_OVERRIDE|")
    assert "1<<CAP_CHECKPOINT_RESTORE|0xfffffe00, permitted=0" in high
    bad = struct.pack("=Ii", 0x12345678, 0)
    assert opstructs.cap_header(bad) == (
        "{version=0x12345678 /* _LINUX_CAPABILITY_VERSION_??? */, pid=0}"
    )


def test_mincore() -> None:
    assert opstructs.mincore_vec((bytes([1, 0, 1, 0, 0, 1]), 6), 0x10, True, 0) == (
        "[1, 0, 1, 0, 0, 1]"
    )
    assert opstructs.mincore_vec((bytes(2), 48), 0x10, True, 0) == "[0, 0, ...]"
    assert opstructs.mincore_vec(None, 0x10, False, 0) == "0x10"


def test_keyctl(table: SyscallTable) -> None:
    plan = build_plan(table.by_name["keyctl"], 32)

    def shown(args: list[int], fetched: dict[int, object], ret: int = 0) -> str:
        return ", ".join(render_args(plan, [*args, 0, 0, 0, 0][:5], fetched, True, ret))

    assert shown([1, 0x10], {1: (b"tracerd-bench", True)}) == (
        'KEYCTL_JOIN_SESSION_KEYRING, "tracerd-bench"'
    )
    described = b"user;0;0;3f010000;tracerd:ops\0"
    assert shown([6, 7, 0x10, 64], {AGAIN_KEY + 2: described}, 30) == (
        'KEYCTL_DESCRIBE, 7, "user;0;0;3f010000;tracerd:ops", 64'
    )
    assert shown([11, 7, 0x10, 3], {AGAIN_KEY + 2: b"use"}, 5) == 'KEYCTL_READ, 7, "use", 3'
    assert shown([11, 7, 0, 0], {}, 5) == "KEYCTL_READ, 7, NULL, 0"
    assert shown([5, 7, 0x3F010000], {}) == (
        "KEYCTL_SETPERM, 7, KEY_POS_VIEW|KEY_POS_READ|KEY_POS_WRITE|KEY_POS_SEARCH|"
        "KEY_POS_LINK|KEY_POS_SETATTR|KEY_USR_VIEW"
    )
    assert shown([9, 7, 2**64 - 2], {}) == "KEYCTL_UNLINK, 7, KEY_SPEC_PROCESS_KEYRING"
    assert shown([14, 0], {}) == "KEYCTL_SET_REQKEY_KEYRING, KEY_REQKEY_DEFL_DEFAULT"
    assert shown([3, 7, 1, 2, 3], {}) == "KEYCTL_REVOKE, 7"
    assert shown([4, 7, 0xFFFFFFFF, 0xFFFFFFFF], {}) == "KEYCTL_CHOWN, 7, -1, -1"


def test_fcntl_getfl_zero_as_c_prints_it() -> None:
    from tracerd.engines.ptrace.plans import render_return

    assert render_return("fcntl", 0, False, 3) == "0 (flags O_RDONLY)"  # holdout h13
    assert render_return("fcntl", 0o4002, False, 3) == "0x802 (flags O_RDWR|O_NONBLOCK)"


def _uring_params(sq: int, cq: int, setup: int, features: int = 0, array: int = 0) -> bytes:
    head = struct.pack("=10I", sq, cq, setup, 0, 0, features, 0, 0, 0, 0)
    sq_off = struct.pack("=7IIQ", 0, 4, 16, 24, 36, 32, array, 0, 0)
    cq_off = struct.pack("=7IIQ", 8, 12, 20, 28, 44, 64, 40, 0, 0)
    return head + sq_off + cq_off


def test_io_uring_setup(table: SyscallTable) -> None:
    """strace 6.1's lines for bench/corpus/strace_holdout2/n25_io_uring_setup on 6.18."""
    plan = build_plan(table.by_name["io_uring_setup"], 32)
    asked = _uring_params(0, 16, 8 | 16)
    filled = _uring_params(2, 16, 8 | 16, features=0x3FFFF, array=320)
    shown = render_args(plan, [2, 0x7FF0], {1: asked, AGAIN_KEY + 1: filled}, True, 4)
    assert shown == [
        "2",
        "{flags=IORING_SETUP_CQSIZE|IORING_SETUP_CLAMP, sq_thread_cpu=0, sq_thread_idle=0, "
        "sq_entries=2, cq_entries=16, features=IORING_FEAT_SINGLE_MMAP|IORING_FEAT_NODROP|"
        "IORING_FEAT_SUBMIT_STABLE|IORING_FEAT_RW_CUR_POS|IORING_FEAT_CUR_PERSONALITY|"
        "IORING_FEAT_FAST_POLL|IORING_FEAT_POLL_32BITS|IORING_FEAT_SQPOLL_NONFIXED|"
        "IORING_FEAT_EXT_ARG|IORING_FEAT_NATIVE_WORKERS|IORING_FEAT_RSRC_TAGS|"
        "IORING_FEAT_CQE_SKIP|IORING_FEAT_LINKED_FILE|0x3e000, sq_off={head=0, tail=4, "
        "ring_mask=16, ring_entries=24, flags=36, dropped=32, array=320}, cq_off={head=8, "
        "tail=12, ring_mask=20, ring_entries=28, overflow=44, cqes=64, flags=40}}",
    ]
    failed = render_args(plan, [0, 0x7FF0], {1: _uring_params(0, 0, 0)}, False, -22)
    assert failed == ["0", "{flags=0, sq_thread_cpu=0, sq_thread_idle=0}"]
    assert render_args(plan, [4, 0], {}, False, -14) == ["4", "NULL"]
    unknown = _uring_params(0, 0, 1 << 20)
    assert render_args(plan, [1, 0x10], {1: unknown}, False, -22)[1].startswith(
        "{flags=0x100000 /* IORING_SETUP_??? */, "
    )


def test_process_vm_iovecs(table: SyscallTable) -> None:
    """process_vm_readv: the local iovecs with what was read, the remote ones as addresses
    (strace 6.1, bench/corpus/strace_holdout2/n27_iovecs)."""
    plan = build_plan(table.by_name["process_vm_readv"], 32)
    local = [(b'\0\1\2\3\x7f\x80\xff\\"\n', 16, False)]
    remote = [(0x7FFE12345678, 10)]
    args = [4242, 0x1000, 1, 0x2000, 1, 0]
    shown = render_args(plan, args, {1: local, 3: remote}, True, 10)
    assert shown == [
        "4242",
        '[{iov_base="\\0\\1\\2\\3\\177\\200\\377\\\\\\"\\n", iov_len=16}]',
        "1",
        "[{iov_base=0x7ffe12345678, iov_len=10}]",
        "1",
        "0",
    ]
    write = build_plan(table.by_name["process_vm_writev"], 32)
    shown = render_args(write, args, {1: [(b"hi", 2, False)], 3: [(0, 2)]}, True, 2)
    assert shown[1] == '[{iov_base="hi", iov_len=2}]'
    assert shown[3] == "[{iov_base=NULL, iov_len=2}]"
