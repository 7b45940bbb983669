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

from tracerd.engines.packet.decode import Decoder
from tracerd.reports.export.pcap import Pcap
from tracerd.reports.export.rows import Row

CAPTURE = Path(__file__).parents[3] / "data/packet/veth_traffic.pcap"
TCPDUMP = shutil.which("tcpdump") or "/usr/bin/tcpdump"


def tcpdump_lines(path: Path) -> list[str]:
    proc = subprocess.run(
        [TCPDUMP, "-n", "-t", "-r", str(path)], capture_output=True, text=True, check=True
    )
    return proc.stdout.splitlines()


def packets() -> list[tuple[int, bytes, int]]:
    with CAPTURE.open("rb") as f:
        return [(int(ts * 1e9), bytes(buf), len(buf)) for ts, buf in dpkt.pcap.Reader(f)]


def test_summaries_equal_tcpdumps() -> None:
    decoder = Decoder()
    ours = [decoder.decode(frame, wirelen)["text"] for _, frame, wirelen in packets()]
    assert ours == tcpdump_lines(CAPTURE)


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
    encoder = Pcap({"snaplen": 262144}, {"linktype": "EN10MB"}, 1000)
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
