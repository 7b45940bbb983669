"""Packet capture on a veth flood: tracerd's packet session vs tcpdump, side by side.

Usage (root): PYTHONPATH=service python bench/packet_capture.py [--seconds S] [--max-rate R]

Two network namespaces joined by a veth pair (tests/netns.py; nothing leaves the machine).
A paced C sender in namespace b sends 18-byte UDP datagrams to namespace a at a given
rate (sendmmsg, 32 a call); the capture runs in namespace a on the veth with the filter
`udp port 9` and a 4 MiB ring for both tools. The rate grows by --factor (1.41) from
--start-rate (20,000/s) until the capture drops packets (kernel drops from
PACKET_STATISTICS: tcpdump's "dropped by kernel", tracerd's `kernel_drops`); printed per
tool: the highest rate with no drop ("packets/s before drops") and the delivered rate at
the first rate with drops, then the ratios. A flood of --seconds (2) measures bursts: the
session's backlog (the worker's raw memory, 64 MiB) absorbs what storing cannot keep up
with; a long flood (--seconds 20) measures the sustained rate. Peers: `tcpdump -n`
printing its lines to /dev/null (decodes every packet, as tracerd does) and `tcpdump -w
/dev/null` (no decoding). On a 2-vCPU machine the sender shares the CPUs with the capture:
a capture that uses more CPU slows the sender too (the offered rate is not always sent).
Then fidelity: the corpus traffic (ARP, ICMP and
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
#define _GNU_SOURCE
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
    connect(s, (struct sockaddr *)&a, sizeof a);
    char buf[18]; memset(buf, 'f', sizeof buf);
    struct iovec iov = {buf, sizeof buf};
    struct mmsghdr msgs[32];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < 32; i++) { msgs[i].msg_hdr.msg_iov = &iov; msgs[i].msg_hdr.msg_iovlen = 1; }
    double start = now(); long sent = 0;
    while (now() - start < seconds) {
        int n = sendmmsg(s, msgs, 32, 0);
        if (n > 0) sent += n;
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


def sweep(name: str, run: object, seconds: float, rates: list[float]) -> tuple[float, float]:
    """(highest rate with no drop, delivered rate at the first rate with drops)."""
    best, delivered = 0.0, 0.0
    for rate in rates:
        captured, dropped, took = run(rate, seconds)  # type: ignore[operator]
        print(
            f"  {name:<22} offered {rate:>9,.0f}/s: captured {captured:>9,} dropped {dropped:>8,}"
        )
        if dropped:
            delivered = captured / took
            break
        best = max(best, captured / took)
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
    parser.add_argument("--start-rate", type=float, default=20_000)
    parser.add_argument("--factor", type=float, default=1.41, help="rate step")
    parser.add_argument("--rates", help="these offered rates instead (comma-separated)")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")] if args.rates else []
    rate = args.start_rate
    while not args.rates and rate <= args.max_rate:
        rates.append(rate)
        rate *= args.factor
    workdir = Path(tempfile.mkdtemp(prefix="pkb"))
    exe = build_c(SENDER_C, "udp_sender", workdir)
    with VethPair() as pair, Daemon(prefix=pair.nsenter(pair.ns_a)) as daemon:
        print(f"veth flood {FILTER!r}, {BUFFER_KB} KiB ring, {args.seconds:.0f} s per rate")
        results = {
            "tracerd": sweep(
                "tracerd packet session",
                lambda r, s: run_tracerd(daemon, pair, exe, r, s),
                args.seconds,
                rates,
            ),
            "tcpdump -n": sweep(
                "tcpdump -n >/dev/null",
                lambda r, s: run_tcpdump(pair, exe, r, s, write=False),
                args.seconds,
                rates,
            ),
            "tcpdump -w": sweep(
                "tcpdump -w /dev/null",
                lambda r, s: run_tcpdump(pair, exe, r, s, write=True),
                args.seconds,
                rates,
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
