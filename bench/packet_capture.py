"""Packet capture on a veth flood: tracerd's packet session vs tcpdump, side by side.

Usage (root): PYTHONPATH=service python bench/packet_capture.py [--seconds S] [--max-rate R]

Two network namespaces joined by a veth pair (tests/netns.py; nothing leaves the machine).
A paced C sender in namespace b sends 18-byte UDP datagrams to namespace a at a given
rate; the capture runs in namespace a on the veth with the filter `udp port 9` and a 4 MiB
ring for both tools. The rate doubles from 5,000 packets/s until the capture drops
packets (kernel drops from PACKET_STATISTICS: tcpdump's "dropped by kernel", tracerd's
`kernel_drops`); printed per tool: the highest rate with no drop ("packets/s before
drops") and the delivered rate at the first rate with drops, then the ratios. Peers:
`tcpdump -n` printing its lines to /dev/null (decodes every packet, as tracerd does) and
`tcpdump -w /dev/null` (no decoding). Then fidelity: the corpus traffic (ARP, ICMP and
ICMPv6 echo, NDP, a TCP connection, UDP v4/v6, port unreachables) captured by a session
with no filter; its summary lines compared with `tcpdump -n -t -r` of the session's own
pcap export (same packets), printed as the percentage identical.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import REPO, Daemon, build_c

sys.path.insert(0, str(REPO))
from tests.netns import VethPair

SENDER_C = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
static double now(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
    double rate = atof(argv[2]), seconds = atof(argv[3]);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, argv[1], &a.sin_addr);
    char buf[18]; memset(buf, 'f', sizeof buf);
    double start = now(); long sent = 0;
    while (now() - start < seconds) {
        for (int i = 0; i < 32; i++, sent++)
            sendto(s, buf, sizeof buf, 0, (struct sockaddr *)&a, sizeof a);
        while (rate > 0 && sent > rate * (now() - start)) {
            struct timespec ts = {0, 50000}; nanosleep(&ts, NULL);
        }
    }
    printf("%ld %.3f\n", sent, now() - start);
    return 0;
}
"""
FILTER = "udp port 9"
BUFFER_KB = 4096


def send(pair: VethPair, exe: str, rate: float, seconds: float) -> tuple[int, float]:
    out = pair.exec(pair.ns_b, [exe, pair.ip_a, str(rate), str(seconds)]).stdout.split()
    return int(out[0]), float(out[1])


def run_tcpdump(
    pair: VethPair, exe: str, rate: float, seconds: float, write: bool
) -> tuple[int, int, float]:
    """(captured, dropped, seconds) of one tcpdump run at `rate`."""
    out = ["-w", "/dev/null"] if write else []
    proc = pair.popen(
        pair.ns_a,
        ["tcpdump", "-i", pair.veth_a, "-n", "-p", "-B", str(BUFFER_KB), *out, FILTER],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    _sent, took = send(pair, exe, rate, seconds)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    captured = int(re.search(r"(\d+) packets? captured", err).group(1))  # type: ignore[union-attr]
    dropped = int(re.search(r"(\d+) packets? dropped by kernel", err).group(1))  # type: ignore[union-attr]
    return captured, dropped, took


def run_tracerd(
    daemon: Daemon, pair: VethPair, exe: str, rate: float, seconds: float
) -> tuple[int, int, float]:
    session = daemon.create(
        "packet", {"interface": pair.veth_a, "filter": FILTER, "buffer_size_kb": BUFFER_KB}
    )
    time.sleep(0.3)
    _sent, took = send(pair, exe, rate, seconds)
    time.sleep(0.3)
    daemon.api.post(f"/v1/sessions/{session['id']}/stop", params={"wait": "true"})
    final = daemon.wait_final(session["id"])
    info = final["info"]
    daemon.api.delete(f"/v1/sessions/{session['id']}")
    return int(info["packets"]), int(info["kernel_drops"]), took


def sweep(name: str, run: object, seconds: float, max_rate: float) -> tuple[float, float]:
    """(highest rate with no drop, delivered rate at the first rate with drops)."""
    best, delivered, rate = 0.0, 0.0, 5000.0
    while rate <= max_rate:
        captured, dropped, took = run(rate, seconds)  # type: ignore[operator]
        print(
            f"  {name:<22} offered {rate:>9,.0f}/s: captured {captured:>9,} dropped {dropped:>8,}"
        )
        if dropped:
            delivered = captured / took
            break
        best = max(best, captured / took)
        rate *= 2
    return best, delivered


def fidelity(daemon: Daemon, pair: VethPair, workdir: Path) -> tuple[int, int]:
    session = daemon.create("packet", {"interface": pair.veth_a})
    time.sleep(0.3)
    pair.traffic()
    time.sleep(0.3)
    daemon.api.post(f"/v1/sessions/{session['id']}/stop", params={"wait": "true"})
    daemon.wait_final(session["id"])
    ours = [e["fields"]["text"] for e in daemon.events(session["id"], name="packet")]
    pcap = workdir / "corpus.pcap"
    resp = daemon.api.get(f"/v1/sessions/{session['id']}/export", params={"format": "pcap"})
    pcap.write_bytes(resp.content)
    peer = subprocess.run(
        ["tcpdump", "-n", "-t", "-r", str(pcap)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    same = sum(1 for a, b in zip(ours, peer, strict=False) if a == b)
    for a, b in zip(ours, peer, strict=False):
        if a != b:
            print(f"  differs: tracerd {a!r}\n           tcpdump {b!r}")
    return same, max(len(ours), len(peer))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--max-rate", type=float, default=2_000_000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pkb"))
    exe = build_c(SENDER_C, "udp_sender", workdir)
    with VethPair() as pair, Daemon(prefix=pair.nsenter(pair.ns_a)) as daemon:
        print(f"veth flood {FILTER!r}, {BUFFER_KB} KiB ring, {args.seconds:.0f} s per rate")
        results = {
            "tracerd": sweep(
                "tracerd packet session",
                lambda r, s: run_tracerd(daemon, pair, exe, r, s),
                args.seconds,
                args.max_rate,
            ),
            "tcpdump -n": sweep(
                "tcpdump -n >/dev/null",
                lambda r, s: run_tcpdump(pair, exe, r, s, write=False),
                args.seconds,
                args.max_rate,
            ),
            "tcpdump -w": sweep(
                "tcpdump -w /dev/null",
                lambda r, s: run_tcpdump(pair, exe, r, s, write=True),
                args.seconds,
                args.max_rate,
            ),
        }
        for name, (best, delivered) in results.items():
            limit = (
                f"delivered under drops {delivered:>10,.0f}/s"
                if delivered
                else ("never dropped: the sender's own limit (a lower bound)")
            )
            print(f"{name:<12} packets/s before drops {best:>10,.0f}   {limit}")
        ours = results["tracerd"]
        for peer in ("tcpdump -n", "tcpdump -w"):
            theirs = results[peer]
            ratio = ours[0] / theirs[0] if theirs[0] else float("nan")
            print(
                f"ratio tracerd / {peer}: {ratio:.2f}x before drops, "
                f"{ours[1] / theirs[1] if theirs[1] else float('nan'):.2f}x delivered under drops"
            )
        same, total = fidelity(daemon, pair, workdir)
        percent = 100 * same / max(total, 1)
        print(f"fidelity: {same}/{total} summary lines identical to tcpdump -n ({percent:.1f}%)")


if __name__ == "__main__":
    main()
