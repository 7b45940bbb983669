"""Summary lines of a stored capture (veth traffic: ARP, ICMP/ICMPv6 echo, NDP, MLD, a TCP
connection with data, UDP and port unreachables) equal `tcpdump -n -t -r` of the file."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
from pathlib import Path

import dpkt
import pytest

from tracerd.engines.packet.decode import Decoder, link_line
from tracerd.reports.export.pcap import Pcap
from tracerd.reports.export.rows import Row
from tracerd.specs import PacketSpec

CAPTURE = Path(__file__).parents[3] / "data/packet/veth_traffic.pcap"
MORE = CAPTURE.with_name("more_traffic.pcap")
TCPDUMP = shutil.which("tcpdump") or "/usr/bin/tcpdump"


def tcpdump_lines(path: Path) -> list[str]:
    proc = subprocess.run(
        [TCPDUMP, "-n", "-t", "-r", str(path)], capture_output=True, text=True, check=True
    )
    return proc.stdout.splitlines()


def packets(path: Path = CAPTURE) -> list[tuple[int, bytes, int]]:
    with path.open("rb") as f:
        return [(int(ts * 10**9), bytes(buf), len(buf)) for ts, buf in dpkt.pcap.Reader(f)]


def test_summaries_equal_tcpdumps() -> None:
    decoder = Decoder()
    ours = [decoder.decode(frame, wirelen)["text"] for _, frame, wirelen in packets()]
    assert ours == tcpdump_lines(CAPTURE)


def test_wider_corpus_summaries_equal_tcpdumps() -> None:
    """bench/packet_fidelity.py's capture (its --save): DNS, NTP, syslog, TCP over IPv6,
    ICMP errors, IPv4 options, jumbo frames, IPv6 fragments, tagged frames."""
    decoder = Decoder()
    ours = [decoder.decode(frame, wirelen)["text"] for _, frame, wirelen in packets(MORE)]
    assert len(ours) >= 80
    assert ours == tcpdump_lines(MORE)


def test_fields_of_a_tcp_syn() -> None:
    decoder = Decoder()
    syn = next(
        f for f in (decoder.decode(frame, n) for _, frame, n in packets()) if f.get("flags") == "S"
    )
    assert syn["proto"] == "ipv4"
    assert syn["ip_proto"] == 6
    assert syn["dport"] == 40000
    assert syn["payload_len"] == 0
    assert syn["eth_src"].count(":") == 5


def test_pcap_export_reads_back(tmp_path: Path) -> None:
    rows = []
    for seq, (ts, frame, wirelen) in enumerate(packets()):
        fields = {"len": wirelen, "data": base64.b64encode(frame).decode()}
        rows.append(
            Row(seq, ts - 1000, None, None, None, None, "packet", _json(fields), None, None, None)
        )
    encoder = Pcap(PacketSpec(snaplen=262144), {"linktype": "EN10MB"}, 1000)
    out = tmp_path / "x.pcap"
    out.write_bytes(encoder.header() + encoder.encode(rows) + encoder.footer())
    assert tcpdump_lines(out) == tcpdump_lines(CAPTURE)


def _json(fields: dict[str, object]) -> str:
    import orjson

    return orjson.dumps(fields).decode()


@pytest.mark.parametrize("snaplen", [40, 54, 60, 66, 74, 80, 96, 120])
def test_truncated_summaries_equal_tcpdumps(snaplen: int, tmp_path: Path) -> None:
    """Packets cut by the snap length: tcpdump's `[|tcp]`, `[|ip6]`, `[|icmp6]`... after
    what it could print."""
    cut = tmp_path / "cut.pcap"
    with cut.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, snaplen, 1))
        for ts, frame, wirelen in packets():
            part = frame[:snaplen]
            f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(part), wirelen) + part)
    decoder = Decoder()
    ours = [decoder.decode(frame[:snaplen], wirelen)["text"] for _, frame, wirelen in packets()]
    assert ours == tcpdump_lines(cut)


@pytest.mark.parametrize("snaplen", [34, 41, 42, 54, 60, 66, 74, 262144])
def test_the_fast_path_decodes_as_the_general_one(snaplen: int) -> None:
    """IPv4 UDP/TCP read with struct alone: the same fields and text as through dpkt."""
    fast, general = Decoder(), Decoder(fast=False)
    frames = [(frame[:snaplen], wirelen) for _, frame, wirelen in packets()]
    frames += [(_with_ip_total_length(frame, 0), n) for frame, n in frames[:8]]  # TSO-style
    fast_fields = [fast.decode(frame, n) for frame, n in frames]
    assert fast_fields == [general.decode(frame, n) for frame, n in frames]
    assert sum(f.get("ip_proto") in (6, 17) for f in fast_fields) >= 10


def _with_ip_total_length(frame: bytes, length: int) -> bytes:
    if frame[12:14] != b"\x08\x00" or len(frame) < 18:
        return frame
    return frame[:16] + struct.pack(">H", length) + frame[18:]


def _frames_with_tags() -> list[bytes]:
    """802.1Q / 802.1ad tagged frames (as libpcap hands them over, tag reinserted), an
    unknown ethertype bare and tagged, a tagged IPv6 header cut short."""
    macs = b"\x04" * 6 + b"\x02" * 6
    udp = dpkt.udp.UDP(sport=40000, dport=9, ulen=26, data=b"f" * 18)
    ip = dpkt.ip.IP(src=b"\x0a\0\0\x02", dst=b"\x0a\0\0\x01", p=17, ttl=64, id=7, data=udp)
    ip.len = len(bytes(ip))
    arp = dpkt.arp.ARP(
        op=1, sha=b"\x02" * 6, spa=b"\x0a\0\0\x02", tha=b"\0" * 6, tpa=b"\x0a\0\0\x01"
    )
    return [
        macs + struct.pack(">HHH", 0x8100, 100, 0x0800) + bytes(ip),
        macs + struct.pack(">HHH", 0x8100, 3 << 13 | 0x1000 | 5, 0x0806) + bytes(arp),
        macs + struct.pack(">HHHHH", 0x88A8, 10, 0x8100, 20, 0x0800) + bytes(ip),
        macs + b"\x88\xb5" + b"z" * 46,
        macs + struct.pack(">HHH", 0x8100, 100, 0x88B5) + b"z" * 46,
        macs + struct.pack(">HHH", 0x8100, 7, 0x86DD) + b"\x60" + b"\0" * 10,
    ]


def test_tagged_frames_and_link_level_lines_equal_tcpdumps(tmp_path: Path) -> None:
    """Default lines hide the tags as tcpdump does; `link_line` is `tcpdump -e`'s line."""
    path = tmp_path / "tagged.pcap"
    with path.open("wb") as f:
        writer = dpkt.pcap.Writer(f)
        for frame in _frames_with_tags():
            writer.writepkt(frame, ts=1.0)
        corpus = [(frame, wirelen) for _, frame, wirelen in packets()]
        for frame, _wirelen in corpus:
            writer.writepkt(frame, ts=2.0)
    frames = [(frame, len(frame)) for frame in _frames_with_tags()] + corpus
    decoder = Decoder()
    fields = [decoder.decode(frame, wirelen) for frame, wirelen in frames]
    assert fields[0]["vlan"] == [{"id": 100, "pcp": 0, "ethertype": 0x0800}]
    assert fields[1]["vlan"] == [{"id": 5, "pcp": 3, "ethertype": 0x0806, "dei": 1}]

    def peer(*flags: str) -> list[str]:
        out = subprocess.run(
            [TCPDUMP, "-n", "-t", *flags, "-r", str(path)], capture_output=True, text=True
        ).stdout
        return [line for line in out.splitlines() if not line.startswith("\t")]  # hex dumps

    assert [f["text"] for f in fields] == peer()
    assert [link_line(f) for f in fields] == peer("-e")
