"""PacketEngine: `kind: "packet"` sessions — tcpdump's capture, run in the session's worker.

Mechanism: `prepare` compiles the filter with libpcap (cbpf.py: the program tcpdump would
attach, shown in `info.program` as -d/-dd/-ddd print it), opens an AF_PACKET socket with
that program attached and locked and a TPACKET_V3 ring (ring.py), promiscuous membership
if asked, bound to the interface (session.py holds it); `start` runs the capture
(reader.py): a ring thread copies each block out as the kernel hands it over into a backlog
bounded by the worker's
`raw_memory_bytes`, a decode thread turns the blocks into one `packet` event per packet
(decode.py: struct for IPv4 UDP/TCP, dpkt for the rest; `text` as tcpdump -n prints it,
`data` the captured bytes in base64 for the pcap/pcapng exports); kernel drops become
`lost` records in place. `stop` lets the open block retire, drains, decodes the backlog,
reports the kernel's totals (info `kernel_packets`/`kernel_drops`, `backlog_peak_bytes`;
loss total `kernel`) and closes the socket.

Link types: Ethernet and loopback interfaces are captured raw (EN10MB, as tcpdump). `any`
and other interfaces are captured cooked (SOCK_DGRAM) and shown as LINUX_SLL2 (tcpdump's
`any` link type): the program compiled for SLL2 is rewritten for the kernel (SLL2 fields
as ancillary loads); a program that cannot be rewritten (`len`, link-address tests) is
run in user space by libpcap's interpreter instead, said in `info.filter_runs_in`.

Nothing stays behind: the socket, its ring and the promiscuous membership belong to the
worker's file descriptor, which the kernel closes on stop, a worker SIGKILL or a daemon
SIGKILL (the worker has PDEATHSIG). The `packet_socket` ledger row is written before the
socket exists and crossed off after it is closed; reconcile has nothing to remove for it
once the worker is gone.

Requirements: root (CAP_NET_RAW), libpcap0.8. Overhead: the kernel runs the filter per
frame (as for tcpdump); taking a block costs one copy; decoding costs the worker 4-20 µs
per kept packet (struct for IPv4 UDP/TCP, dpkt otherwise) and storing it the daemon about
12 µs, which is the sustained limit; the backlog absorbs floods above it until it is full
(bench/packet_capture.py).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...errors import KernelRejected, PermissionDenied
from ...specs import PacketSpec
from ...types import LossSource
from ..base import Engine, EngineContext, EngineHandle, EventSink, Ledger, tune_gc, wall_offset_ns
from .cbpf import (
    DLT_EN10MB,
    DLT_LINUX_SLL2,
    compile_filter,
    cooked_kernel_program,
    linktype_name,
)
from .decode import Decoder
from .reader import Capture
from .ring import (
    ARPHRD_ETHER,
    ARPHRD_LOOPBACK,
    BLOCK_SIZE,
    RETIRE_MS,
    PacketRing,
    host_interface,
    loopback_indexes,
)
from .session import PacketState

ACCEPT_ALL = ((0x06, 0, 0, 0xFFFFFFFF),)
RING_SWITCH_INTERVAL_S = 0.0005


class PacketEngine:
    """The `packet` engine of one session's worker."""

    kind: ClassVar[str] = "packet"

    def __init__(self, ctx: EngineContext) -> None:
        self._ctx = ctx

    def prepare(self, spec: PacketSpec, ledger: Ledger) -> EngineHandle[PacketState]:
        interface = host_interface(spec.interface)
        cooked = interface.index == 0 or interface.hatype not in (ARPHRD_ETHER, ARPHRD_LOOPBACK)
        linktype = DLT_LINUX_SLL2 if cooked else DLT_EN10MB
        program = compile_filter(spec.filter, linktype, spec.snaplen)
        kernel = cooked_kernel_program(program) if cooked else program.insns
        key = ledger.record(
            "packet_socket",
            self._ctx.resource_name,
            {"interface": interface.name, "promiscuous": spec.promiscuous},
        )
        try:
            ring = PacketRing(
                interface,
                kernel if kernel is not None else ACCEPT_ALL,
                cooked=cooked,
                buffer_bytes=spec.buffer_size_kb << 10,
                promiscuous=spec.promiscuous,
                ignore_outgoing=spec.direction == "in",
                snaplen=spec.snaplen,
            )
        except PermissionDenied:
            ledger.cross_off(key)
            raise
        except OSError as e:
            ledger.cross_off(key)
            raise KernelRejected(f"packet socket on {interface.name}: {e.strerror or e}") from e
        state = PacketState(spec, program, ring, ledger, key, user_filter=kernel is None)
        info = {
            "interface": interface.name,
            "linktype": linktype_name(linktype),
            "snaplen": spec.snaplen,
            "filter": spec.filter,
            "program": program.forms(),
            "filter_runs_in": "user space" if kernel is None else "kernel",
            "ring": {"block_size": BLOCK_SIZE, "blocks": ring.block_nr},
            "promiscuous": spec.promiscuous,
            "direction": spec.direction,
        }
        return EngineHandle(
            clock="mono",
            wall_offset_ns=wall_offset_ns(time.CLOCK_MONOTONIC),
            info=info,
            resources=[
                {"type": "packet_socket", "name": f"{interface.name} fd {ring.sock.fileno()}"}
            ],
            state=state,
        )

    def start(self, handle: EngineHandle[PacketState], sink: EventSink) -> None:
        state = handle.state
        ifnames = {}
        if state.ring.cooked:
            import socket

            ifnames = dict(socket.if_nameindex())
        state.capture = Capture(
            state.ring,
            Decoder(state.program.linktype, ifnames),
            sink,
            self._ctx.limits,
            wall_offset_ns=handle.wall_offset_ns,
            user_filter=state.program.matcher() if state.user_filter else None,
            direction=state.spec.direction,
            loopbacks=loopback_indexes(),
        )
        tune_gc()
        # the ring thread must get the GIL soon after the kernel hands a block over (the
        # decode thread would keep it for CPython's 5 ms switch interval each time)
        sys.setswitchinterval(RING_SWITCH_INTERVAL_S)
        state.capture.start()
        sink.info(handle.info)

    def stop(self, handle: EngineHandle[PacketState]) -> None:
        state = handle.state
        if state.closed:
            return
        state.closed = True
        try:
            capture = state.capture
            if capture is not None:
                capture.stop(RETIRE_MS / 1000 + 0.03)
                totals = {
                    "kernel_packets": capture.kernel_packets,
                    "kernel_drops": capture.kernel_drops,
                    "packets": capture.received,
                    "backlog_peak_bytes": capture.peak_backlog_bytes,
                }
                handle.info.update(totals)
                capture.sink.info(totals)
                capture.sink.lost_total(LossSource.KERNEL.value, capture.kernel_drops)
        finally:
            state.ring.close()
            state.ledger.cross_off(state.key)

    def exclude(self, handle: EngineHandle[PacketState], pids: Sequence[int]) -> None:
        """Nothing to do: this kind never sees the daemon's or the workers' threads."""

    def marker(self, handle: EngineHandle[PacketState], text: str) -> bool:
        return False

    def read_maps(self, handle: EngineHandle[PacketState]) -> Mapping[str, Any]:
        return {}


_CHECKED: type[Engine[PacketSpec, PacketState]] = PacketEngine
"""mypy checks the class against the engine contract with this kind's spec and state"""
