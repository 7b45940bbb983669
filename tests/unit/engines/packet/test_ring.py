"""ring.py's block parsing on blocks laid out as the kernel lays out TPACKET_V3 blocks:
packets in order, the SLL2 header of a cooked socket, a stripped VLAN tag put back."""

from __future__ import annotations

import struct

from tracerd.engines.packet.ring import (
    BLOCK_HEADER,
    PACKET_HEADER,
    SOCKADDR_LL,
    SOCKADDR_LL_OFFSET,
    TP_STATUS_VLAN_TPID_VALID,
    TP_STATUS_VLAN_VALID,
    parse_block,
)

MACS = b"\x04" * 6 + b"\x02" * 6
FRAME = MACS + b"\x08\x00" + bytes(range(46))
MAC_OFFSET = 80  # past the header and the socket address, as the kernel aligns it


def block(packets: list[tuple[bytes, int, int, int]]) -> bytes:
    """(frame, status, tci, tpid) per packet, at 16-byte aligned offsets."""
    body = b""
    first = 48
    for i, (frame, status, tci, tpid) in enumerate(packets):
        size = MAC_OFFSET + len(frame)
        size += -size % 16
        nxt = size if i < len(packets) - 1 else 0
        head = PACKET_HEADER.pack(
            nxt, 7, 500 + i, len(frame), len(frame) + 4, status, MAC_OFFSET, 0, tci, tpid
        )
        sll = SOCKADDR_LL.pack(17, 0x0008, 3, 1, 0, 6, b"\x02" * 6 + b"\0\0")
        record = head.ljust(SOCKADDR_LL_OFFSET, b"\0") + sll
        body += (record.ljust(MAC_OFFSET, b"\0") + frame).ljust(size, b"\0")
    header = BLOCK_HEADER.pack(3, 0, 1, len(packets), first, first + len(body), 1)
    return header.ljust(first, b"\0") + body


def test_packets_in_order_with_their_lengths_and_times() -> None:
    got = parse_block(
        block([(FRAME, 1, 0, 0), (FRAME[:40], 1, 0, 0)]), cooked=False, snaplen=262144
    )
    assert got == [
        (7_000_000_500, len(FRAME) + 4, 3, 0, FRAME),
        (7_000_000_501, 44, 3, 0, FRAME[:40]),
    ]


def test_a_stripped_vlan_tag_goes_back_after_the_addresses() -> None:
    tagged = block(
        [
            (FRAME, 1 | TP_STATUS_VLAN_VALID, 0x2064, 0),  # no TPID: 802.1Q
            (FRAME, 1 | TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID, 10, 0x88A8),
            (FRAME, 1, 0, 0),  # untagged
        ]
    )
    first, second, third = parse_block(tagged, cooked=False, snaplen=262144)
    assert first[4] == MACS + struct.pack(">HH", 0x8100, 0x2064) + FRAME[12:]
    assert first[1] == len(FRAME) + 4 + 4
    assert second[4][12:16] == struct.pack(">HH", 0x88A8, 10)
    assert third[4] == FRAME
    cut = parse_block(tagged, cooked=False, snaplen=30)[0]
    assert cut[4] == (MACS + struct.pack(">HH", 0x8100, 0x2064) + FRAME[12:])[:30]


def test_a_cooked_packet_starts_with_its_sll2_header() -> None:
    (packet,) = parse_block(block([(FRAME[14:], 1, 0, 0)]), cooked=True, snaplen=262144)
    assert packet[4][:20] == struct.pack(">HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, b"\x02" * 6)
    assert packet[4][20:] == FRAME[14:]
    assert packet[1] == len(FRAME[14:]) + 4 + 20
