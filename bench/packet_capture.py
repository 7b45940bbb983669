"""Packet capture on a veth flood: tracerd's packet session vs tcpdump, side by side.

Usage (root): PYTHONPATH=service python bench/packet_capture.py [--seconds S]
    [--repeat N] [--capture-cpu C] [--sender-cpu C] [--refine K] [--write-peer]

Two network namespaces joined by a veth pair (tests/netns.py; nothing leaves the machine).
A paced C sender in namespace b sends 18-byte UDP datagrams to namespace a at a given
rate (sendmmsg, 32 a call); the capture runs in namespace a on the veth with the filter
`udp port 9` and a 4 MiB ring for both tools. CPUs are pinned with taskset: the capture
(tcpdump, or tracerd's daemon, whose workers inherit it) on --capture-cpu (0), the
sender on --sender-cpu (1), so a capture's CPU use does not slow the sender directly.
The tools take turns at each offered rate, which grows by --factor (1.41) from
--start-rate (40,000/s) until a tool drops packets (kernel drops from PACKET_STATISTICS:
tcpdump's "dropped by kernel", tracerd's `kernel_drops`); --refine (2) bisection steps
follow between its last rate without and its first with drops. A tool's figure is the
highest captured rate with no drop ("packets/s before drops"); each of --repeat (3)
repetitions prints the ratio tracerd / tcpdump -n, then the median. A flood lasts
--seconds (5): the session's backlog (the worker's raw memory, 64 MiB) absorbs what
storing cannot keep up with for a while; longer floods (10, 20) measure the sustained
rate. Peers: `tcpdump -n` printing its lines to /dev/null (decodes every packet, as
tracerd does) and with --write-peer `tcpdump -w /dev/null` (no decoding). Then (unless
--no-fidelity) the corpus traffic captured by a session with no filter, its summary
lines compared with `tcpdump -n -t -r` of its own pcap export (bench/packet_fidelity.py
does this on the wider corpus and against tcpdump's own capture).
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median

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


@dataclass(frozen=True)
class Pinning:
    """CPUs for the capture (tcpdump, or tracerd's daemon with its workers) and the sender
    (taskset -c; empty: not pinned)."""

    capture: str
    sender: str

    @staticmethod
    def prefix(cpus: str) -> list[str]:
        return ["taskset", "-c", cpus] if cpus else []


def send(pair: VethPair, exe: str, rate: float, seconds: float, pin: Pinning) -> tuple[int, float]:
    argv = [*pin.prefix(pin.sender), exe, pair.ip_a, str(rate), str(seconds)]
    out = pair.exec(pair.ns_b, argv).stdout.split()
    return int(out[0]), float(out[1])


Run = Callable[[float, float], tuple[int, int, float]]
"""(offered rate, seconds) -> (captured, dropped, seconds the sender took)"""


def run_tcpdump(
    pair: VethPair, exe: str, pin: Pinning, rate: float, seconds: float, write: bool
) -> tuple[int, int, float]:
    """(captured, dropped, seconds) of one tcpdump run at `rate`."""
    out = ["-w", "/dev/null"] if write else []
    proc = pair.popen(
        pair.ns_a,
        [
            *pin.prefix(pin.capture),
            *["tcpdump", "-i", pair.veth_a, "-n", "-p", "-B", str(BUFFER_KB), *out, FILTER],
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    _sent, took = send(pair, exe, rate, seconds, pin)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=600)
    captured = int(re.search(r"(\d+) packets? captured", err).group(1))  # type: ignore[union-attr]
    dropped = int(re.search(r"(\d+) packets? dropped by kernel", err).group(1))  # type: ignore[union-attr]
    return captured, dropped, took


def run_tracerd(
    daemon: Daemon, pair: VethPair, exe: str, pin: Pinning, rate: float, seconds: float
) -> tuple[int, int, float]:
    session = daemon.create(
        "packet", {"interface": pair.veth_a, "filter": FILTER, "buffer_size_kb": BUFFER_KB}
    )
    time.sleep(0.3)
    _sent, took = send(pair, exe, rate, seconds, pin)
    time.sleep(0.3)
    daemon.api.post(f"/v1/sessions/{session['id']}/stop", params={"wait": "true"})
    final = daemon.wait_final(session["id"])
    info = final["info"]
    daemon.api.delete(f"/v1/sessions/{session['id']}")
    peak = int(info.get("backlog_peak_bytes", 0))
    print(f"    (tracerd's backlog peaked at {peak / 2**20:.1f} MiB)", flush=True)
    return int(info["packets"]), int(info["kernel_drops"]), took


def sweep(
    runs: dict[str, Run], seconds: float, rates: list[float], refine: int
) -> dict[str, float]:
    """The highest captured rate with no drop, per tool. The tools take turns at each
    offered rate (so a change in the machine's other load hits them alike) while the rate
    grows along `rates`; a tool stops climbing at its first rate with drops, then `refine`
    bisection steps run between its last rate without drops and that one."""
    best = dict.fromkeys(runs, 0.0)
    low = dict.fromkeys(runs, 0.0)
    high = dict.fromkeys(runs, 0.0)

    def once(name: str, rate: float) -> bool:
        captured, dropped, took = runs[name](rate, seconds)
        got = captured / took
        print(
            f"  {name:<8} offered {rate:>9,.0f}/s: captured {captured:>9,} "
            f"({got:>9,.0f}/s) dropped {dropped:>8,}",
            flush=True,
        )
        if not dropped:
            best[name] = max(best[name], got)
        return not dropped

    for rate in rates:
        climbing = [name for name in runs if not high[name]]
        if not climbing:
            break
        for name in climbing:
            if once(name, rate):
                low[name] = rate
            else:
                high[name] = rate
    for _ in range(refine):
        for name in runs:
            if high[name]:
                mid = (low[name] + high[name]) / 2
                if once(name, mid):
                    low[name] = mid
                else:
                    high[name] = mid
    return best


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
    parser.add_argument("--seconds", type=float, default=5.0, help="flood length per rate")
    parser.add_argument("--max-rate", type=float, default=2_000_000)
    parser.add_argument("--start-rate", type=float, default=40_000)
    parser.add_argument("--factor", type=float, default=1.41, help="rate step")
    parser.add_argument("--refine", type=int, default=2, help="bisection steps after a drop")
    parser.add_argument("--rates", help="these offered rates instead (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (ratio each)")
    parser.add_argument("--capture-cpu", default="0", help="taskset -c for both captures")
    parser.add_argument("--sender-cpu", default="1", help="taskset -c for the sender")
    parser.add_argument("--write-peer", action="store_true", help="tcpdump -w /dev/null too")
    parser.add_argument("--no-fidelity", action="store_true")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")] if args.rates else []
    rate = args.start_rate
    while not args.rates and rate <= args.max_rate:
        rates.append(rate)
        rate *= args.factor
    pin = Pinning(args.capture_cpu, args.sender_cpu)
    workdir = Path(tempfile.mkdtemp(prefix="pkb"))
    try:
        exe = build_c(SENDER_C, "udp_sender", workdir)
        with (
            VethPair() as pair,
            Daemon(prefix=[*pin.prefix(pin.capture), *pair.nsenter(pair.ns_a)]) as daemon,
        ):
            print(
                f"veth flood {FILTER!r}, {BUFFER_KB} KiB ring, {args.seconds:g} s per rate, "
                f"capture on CPU {pin.capture or 'any'}, sender on CPU {pin.sender or 'any'}"
            )
            peers: dict[str, Run] = {
                "tcpdump -n": lambda r, s: run_tcpdump(pair, exe, pin, r, s, write=False)
            }
            if args.write_peer:
                peers["tcpdump -w"] = lambda r, s: run_tcpdump(pair, exe, pin, r, s, write=True)
            ratios: dict[str, list[float]] = {peer: [] for peer in peers}
            runs: dict[str, Run] = {
                "tracerd": lambda r, s: run_tracerd(daemon, pair, exe, pin, r, s),
                **peers,
            }
            for rep in range(1, args.repeat + 1):
                best = sweep(runs, args.seconds, rates, args.refine)
                for peer in peers:
                    ratio = best["tracerd"] / best[peer] if best[peer] else float("nan")
                    ratios[peer].append(ratio)
                    print(
                        f"repetition {rep}: tracerd {best['tracerd']:,.0f}/s, {peer} "
                        f"{best[peer]:,.0f}/s before drops: ratio {ratio:.2f}x",
                        flush=True,
                    )
            for peer, values in ratios.items():
                listed = ", ".join(f"{v:.2f}" for v in values)
                print(
                    f"ratio tracerd / {peer} before drops: {listed}; median {median(values):.2f}x"
                )
            if not args.no_fidelity:
                same, total = fidelity(daemon, pair, workdir)
                percent = 100 * same / max(total, 1)
                print(
                    f"fidelity: {same}/{total} summary lines identical to tcpdump -n "
                    f"({percent:.1f}%)"
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
