"""UDP payloads tcpdump decodes by port (DNS, mDNS, NTP, syslog), IPv6 fragments, IPv4
options: lines equal `tcpdump -n -t -r` of the same frames, whole and cut by snap lengths;
other ports keep the generic line."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tracerd.engines.packet.decode import Decoder

TCPDUMP = shutil.which("tcpdump") or "/usr/bin/tcpdump"
A, B = bytes([10, 254, 1, 1]), bytes([10, 254, 1, 2])
A6 = bytes.fromhex("fd000254000100000000000000000001")
B6 = bytes.fromhex("fd000254000100000000000000000002")


def _eth(ethertype: int, payload: bytes) -> bytes:
    return bytes.fromhex("02aabbccdd0102aabbccdd02") + struct.pack(">H", ethertype) + payload


def _ip4(
    payload: bytes, src: bytes = B, dst: bytes = A, proto: int = 17, options: bytes = b""
) -> bytes:
    size = 20 + len(options) + len(payload)
    vhl = 0x40 | (20 + len(options)) // 4
    head = struct.pack(">BBHHHBBH4s4s", vhl, 0, size, 7, 0x4000, 64, proto, 0, src, dst)
    return _eth(0x0800, head + options + payload)


def _ip6(payload: bytes, nxt: int = 17) -> bytes:
    head = struct.pack(">IHBB16s16s", 0x60000000, len(payload), nxt, 64, B6, A6)
    return _eth(0x86DD, head + payload)


def _fragments() -> list[bytes]:
    """An ICMPv6 echo request of 9,108 bytes in two fragments."""
    echo = struct.pack(">BBHHH", 128, 0, 0, 9, 1) + b"p" * 9100
    first = struct.pack(">BBHI", 58, 0, 1, 0x1234) + echo[:8944]
    second = struct.pack(">BBHI", 58, 0, 8944, 0x1234) + echo[8944:]
    return [_ip6(first, 44), _ip6(second, 44)]


ECHO = struct.pack(">BBHHH", 8, 0, 0, 1, 1) + b"x" * 56
RECORD_ROUTE = b"\x07\x27\x04" + b"\0" * 37
TIMESTAMPS = b"\x44\x28\x05\x00" + b"\0" * 36


def _udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def _name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def _query(qid: int, name: str, qtype: int, flags: int = 0x0100, extra: bytes = b"") -> bytes:
    ar = 1 if extra else 0
    head = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, ar)
    return head + _name(name) + struct.pack(">HH", qtype, 1) + extra


def _answer(rtype: int, rdata: bytes) -> bytes:
    return b"\xc0\x0c" + struct.pack(">HHIH", rtype, 1, 300, len(rdata)) + rdata


def _response(qid: int, name: str, qtype: int, answers: list[bytes], flags: int = 0x8580) -> bytes:
    head = struct.pack(">HHHHHH", qid, flags, 1, len(answers), 0, 0)
    return head + _name(name) + struct.pack(">HH", qtype, 1) + b"".join(answers)


OPT = b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
FRAMES = [
    _ip4(_udp(45000, 53, _query(0x1234, "tracerd.example.org", 1))),
    _ip4(
        _udp(
            53,
            45000,
            _response(0x1234, "tracerd.example.org", 1, [_answer(1, bytes([192, 0, 2, 7]))]),
        ),
        A,
        B,
    ),
    _ip4(_udp(45000, 53, _query(0x2345, "tracerd.example.org", 28))),
    _ip4(_udp(53, 45000, _response(0x2345, "tracerd.example.org", 28, [])), A, B),
    _ip4(
        _udp(
            53,
            45000,
            _response(
                0x2346, "x.example.org", 28, [_answer(5, _name("y.example.org")), _answer(28, A6)]
            ),
        ),
        A,
        B,
    ),
    _ip4(_udp(53, 45000, _response(0x2347, "nx.example.org", 1, [], flags=0x8183)), A, B),
    _ip4(
        _udp(
            53,
            45000,
            _response(
                0x2348,
                "example.org",
                15,
                [_answer(15, b"\0\x0a" + _name("mx.example.org"))],
                flags=0x8100,
            ),
        ),
        A,
        B,
    ),
    _ip4(_udp(45000, 53, _query(0x3456, "example.org", 15, extra=OPT))),
    _ip4(_udp(45000, 53, _query(0x3457, "example.org", 16, flags=0))),
    _ip4(_udp(45000, 53, _query(0x3458, "1.2.0.192.in-addr.arpa", 12))),
    _ip4(_udp(45000, 53, b"\x01\x02\x03")),
    _ip6(_udp(45001, 53, _query(0x4567, "six.example.org", 28))),
    _ip4(_udp(45000, 5353, _query(0, "_http._tcp.local", 12, flags=0))),
    _ip4(_udp(45000, 123, b"\x23" + b"\0" * 47)),
    _ip4(_udp(123, 45000, b"\x24\x02" + b"\0" * 46), A, B),
    _ip4(_udp(45000, 514, b"x" * 20)),
    _ip4(_udp(45000, 514, b"<13>Dec  4 12:00:00 host tag: hello")),
    _ip4(_udp(45000, 514, b"<190>hello")),
    _ip4(_udp(45000, 40000, b"plain")),
    *_fragments(),
    _ip4(ECHO, proto=1, options=RECORD_ROUTE),
    _ip4(ECHO, proto=1, options=TIMESTAMPS),
]


def _tcpdump(frames: list[bytes], snaplen: int, path: Path) -> list[str]:
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
        for frame in frames:
            part = frame[:snaplen]
            f.write(struct.pack("<IIII", 1, 0, len(part), len(frame)) + part)
    proc = subprocess.run(
        [TCPDUMP, "-n", "-t", "-r", str(path)], capture_output=True, text=True, check=True
    )
    return proc.stdout.splitlines()


@pytest.mark.parametrize("snaplen", [262144, 46, 50, 54, 60, 64, 70, 80, 90, 100, 110])
def test_application_lines_equal_tcpdumps(snaplen: int, tmp_path: Path) -> None:
    decoder = Decoder()
    ours = [decoder.decode(frame[:snaplen], len(frame))["text"] for frame in FRAMES]
    assert ours == _tcpdump(FRAMES, snaplen, tmp_path / "apps.pcap")


def test_application_lines_are_not_cached() -> None:
    """Two DNS queries of one flow with different names: each its own line (the UDP flow
    cache keeps only payload-independent lines)."""
    decoder = Decoder()
    first = _ip4(_udp(45000, 53, _query(1, "a.example.org", 1)))
    second = _ip4(_udp(45000, 53, _query(1, "b.example.org", 1)))
    assert "a.example.org" in decoder.decode(first, len(first))["text"]
    assert "b.example.org" in decoder.decode(second, len(second))["text"]


def test_the_flow_cache_gives_the_decoders_fields() -> None:
    """A flood's packets (one flow, IP ids counting up): the cached fields equal what the
    general path decodes for each packet."""
    cached, general = Decoder(), Decoder(fast=False)
    for ip_id in range(5):
        head = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 46, ip_id, 0x4000, 64, 17, 0, B, A)
        frame = _eth(0x0800, head + _udp(40000, 9, b"f" * 18))
        assert cached.decode(frame, len(frame)) == general.decode(frame, len(frame))
