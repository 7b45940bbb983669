"""An AF_PACKET socket with a classic BPF program attached and a TPACKET_V3 mmap ring.

Order of set-up (no unfiltered packet ever reaches the ring): the socket is created with
protocol 0 (nothing is delivered yet), the program is attached (SO_ATTACH_FILTER) and
locked (SO_LOCK_FILTER: not even root in this process can swap or detach it), the ring is
configured (PACKET_VERSION = TPACKET_V3, PACKET_RX_RING) and mapped, promiscuous mode is
joined as a socket membership (PACKET_ADD_MEMBERSHIP: the kernel drops it when the socket
closes, so a SIGKILL leaves the interface as it was), and only then is the socket bound to
the interface with ETH_P_ALL.

Reading: the kernel fills blocks of packets and hands a block over when it is full or its
retire timer (`RETIRE_MS`) fires. `take()` copies each block the kernel handed over
(status TP_STATUS_USER; the bytes it used) and gives it back at once: one poll(2) and one
copy per block at most, nothing per packet; `packets()` parses a copied block later.
`statistics()` reads PACKET_STATISTICS (packets seen, packets dropped for want of a free
block), which the kernel resets on each read. A VLAN tag the kernel took off a frame (its
tpacket3_hdr's hv1, TP_STATUS_VLAN_VALID) is put back in an Ethernet frame as libpcap
puts it back, so summaries and exports show the frame as tcpdump does.

Everything this holds is a file descriptor and its mapping: closing (or dying) releases it.
"""

from __future__ import annotations

import ctypes
import fcntl
import mmap
import os
import select
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from ...errors import BadRequest, PermissionDenied

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
PACKET_IGNORE_OUTGOING = 23
PACKET_MR_PROMISC = 1
TPACKET_V3 = 2
SO_ATTACH_FILTER = 26
SO_LOCK_FILTER = 44
ETH_P_ALL = 0x0003
TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
PACKET_OUTGOING = 4
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
SIOCGIFHWADDR = 0x8927
RETIRE_MS = 50
BLOCK_SIZE = 1 << 17
"""one block holds at least one 64 KiB (GSO) packet with its headers"""
FRAME_SIZE = 2048
BLOCK_HEADER = struct.Struct("=II I I I I Q")  # version, offset_to_priv, status, num, first...
PACKET_HEADER = struct.Struct("=IIIIIIHHxxxxIH")
"""tp_next_offset, tp_sec, tp_nsec, tp_snaplen, tp_len, tp_status, tp_mac, tp_net,
hv1.tp_vlan_tci, hv1.tp_vlan_tpid (the tag the kernel took off the frame)"""
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ETH_P_8021Q = 0x8100
VLAN_OFFSET = 12
"""where an Ethernet frame's tag goes back: after the two addresses, before the type"""
SOCKADDR_LL = struct.Struct("=HHiHBB8s")
"""family, protocol (big-endian), ifindex, hatype, pkttype, halen, addr"""
SOCKADDR_LL_OFFSET = 48  # TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
STATS = struct.Struct("=III")  # tp_packets, tp_drops, tp_freeze_q_cnt

SLL2_HEADER = struct.Struct(">HHIHBB8s")
"""DLT_LINUX_SLL2: protocol, reserved, ifindex, hatype, pkttype, halen, address"""

Packet = tuple[int, int, int, int, bytes]
"""(wall ns, wire length, ifindex, pkttype, bytes captured): a cooked socket's packets
start with an SLL2 header built from the socket address (counted in both lengths)"""


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    index: int
    """0 for `any`"""
    hatype: int


def host_interface(name: str) -> Interface:
    """The host interface `name` (`any`: all of them); BadRequest listing the host's."""
    if name == "any":
        return Interface("any", 0, 0)
    try:
        index = socket.if_nametoindex(name)
    except OSError:
        known = sorted(n for _, n in socket.if_nameindex())
        raise BadRequest(
            f"no interface {name!r} on this host (any, {', '.join(known)})",
            {"interface": name, "interfaces": ["any", *known]},
        ) from None
    return Interface(name, index, hardware_type(name))


def hardware_type(name: str) -> int:
    """The interface's ARPHRD_* type (SIOCGIFHWADDR: right in any network namespace,
    where /sys may show another one's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            ifreq = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, struct.pack("16s16x", name.encode()))
        except OSError:
            return ARPHRD_ETHER
    return int(struct.unpack_from("=H", ifreq, 16)[0])


def loopback_indexes() -> frozenset[int]:
    """The loopback interfaces: their packets are seen going out and coming in, and the
    outgoing copy is skipped (as libpcap skips it)."""
    return frozenset(
        index for index, name in socket.if_nameindex() if hardware_type(name) == ARPHRD_LOOPBACK
    )


def _sock_fprog(
    insns: tuple[tuple[int, int, int, int], ...],
) -> tuple[bytes, ctypes.Array[ctypes.c_char]]:
    code = b"".join(struct.pack("=HBBI", *i) for i in insns)
    buf = ctypes.create_string_buffer(code, len(code))
    return struct.pack("=H6xQ", len(insns), ctypes.addressof(buf)), buf


def parse_block(block: bytes, *, cooked: bool, snaplen: int) -> list[Packet]:
    """The packets of one TPACKET_V3 block: a cooked socket's with the SLL2 header made
    from the socket address; a raw socket's with the VLAN tag the kernel stripped (into
    the packet header's hv1) put back after the two addresses, as libpcap does."""
    _v, _p, _s, count, offset, _len, _seq = BLOCK_HEADER.unpack_from(block)
    out: list[Packet] = []
    pos = offset
    unpack, unpack_ll = PACKET_HEADER.unpack_from, SOCKADDR_LL.unpack_from
    sll2 = SLL2_HEADER.pack
    for _ in range(count):
        nxt, sec, nsec, caplen, wirelen, status, mac, _net, tci, tpid = unpack(block, pos)
        _f, proto, ifindex, hatype, pkttype, halen, addr = unpack_ll(
            block, pos + SOCKADDR_LL_OFFSET
        )
        data = block[pos + mac : pos + mac + caplen]
        if cooked:
            head = sll2(socket.ntohs(proto), 0, ifindex, hatype, pkttype, halen, addr)
            data, wirelen = head + data, wirelen + SLL2_HEADER.size
        elif (tci or status & TP_STATUS_VLAN_VALID) and caplen >= VLAN_OFFSET:
            # the tag the kernel took off goes back in, as libpcap puts it back
            if not (tpid or status & TP_STATUS_VLAN_TPID_VALID):
                tpid = ETH_P_8021Q
            tag = struct.pack(">HH", tpid, tci & 0xFFFF)
            data = (data[:VLAN_OFFSET] + tag + data[VLAN_OFFSET:])[:snaplen]
            wirelen += len(tag)
        out.append((sec * 1_000_000_000 + nsec, wirelen, ifindex, pkttype, data))
        pos += nxt
    return out


_libc = ctypes.CDLL(None, use_errno=True)


class PacketRing:
    """One capture socket and its mapped ring; `close` releases both."""

    def __init__(
        self,
        interface: Interface,
        program: tuple[tuple[int, int, int, int], ...],
        *,
        cooked: bool,
        buffer_bytes: int,
        promiscuous: bool,
        ignore_outgoing: bool,
        snaplen: int = 262144,
    ) -> None:
        kind = socket.SOCK_DGRAM if cooked else socket.SOCK_RAW
        try:
            self.sock = socket.socket(socket.AF_PACKET, kind, 0)
        except PermissionError as e:
            raise PermissionDenied("AF_PACKET sockets need CAP_NET_RAW") from e
        self.interface = interface
        self.cooked = cooked
        self.snaplen = snaplen
        self.map: mmap.mmap | None = None
        try:
            fprog, _keep = _sock_fprog(program)
            self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
            self.sock.setsockopt(socket.SOL_SOCKET, SO_LOCK_FILTER, 1)
            if ignore_outgoing:
                self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            self.sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
            self.block_nr = max(2, buffer_bytes // BLOCK_SIZE)
            req = struct.pack(
                "=7I",
                BLOCK_SIZE,
                self.block_nr,
                FRAME_SIZE,
                self.block_nr * (BLOCK_SIZE // FRAME_SIZE),
                RETIRE_MS,
                0,
                0,
            )
            self.sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            self.map = mmap.mmap(self.sock.fileno(), BLOCK_SIZE * self.block_nr)
            if promiscuous and interface.index:
                mreq = struct.pack("=iHH8s", interface.index, PACKET_MR_PROMISC, 0, b"")
                self.sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            self._bind(interface.index)
        except BaseException:
            self.close()
            raise
        self._poll = select.poll()
        self._poll.register(self.sock.fileno(), select.POLLIN | select.POLLERR)
        self._next = 0

    def _bind(self, ifindex: int) -> None:
        addr = SOCKADDR_LL.pack(socket.AF_PACKET, socket.htons(ETH_P_ALL), ifindex, 0, 0, 0, b"")
        if _libc.bind(self.sock.fileno(), addr, len(addr)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"bind to {self.interface.name}: {os.strerror(err)}")

    def wait(self, timeout_ms: int) -> bool:
        """Wait for the next block; True if one is ready."""
        if self._ready():
            return True
        self._poll.poll(timeout_ms)
        return self._ready()

    def ready(self) -> bool:
        """A block is waiting to be taken."""
        return self._ready()

    def _ready(self) -> bool:
        assert self.map is not None
        return bool(BLOCK_HEADER.unpack_from(self.map, self._next * BLOCK_SIZE)[2] & TP_STATUS_USER)

    def take(self) -> Iterator[bytes]:
        """The blocks the kernel handed over, in order: each copied out (its used bytes, one
        memcpy) and given back to the kernel at once, to be parsed by `packets` later."""
        view = self.map
        assert view is not None
        while self._ready():
            base = self._next * BLOCK_SIZE
            used = BLOCK_HEADER.unpack_from(view, base)[5]
            block = view[base : base + min(max(used, BLOCK_HEADER.size), BLOCK_SIZE)]
            struct.pack_into("=I", view, base + 8, TP_STATUS_KERNEL)
            self._next = (self._next + 1) % self.block_nr
            yield block

    def packets(self, block: bytes) -> list[Packet]:
        """The packets of one block `take` copied out."""
        return parse_block(block, cooked=self.cooked, snaplen=self.snaplen)

    def statistics(self) -> tuple[int, int]:
        """(packets, drops) since the last call (the kernel resets them on read)."""
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, STATS.size)
        packets, drops, _freeze = STATS.unpack(raw)
        return packets, drops

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
            self.map = None
        self.sock.close()
