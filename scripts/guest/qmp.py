#!/usr/bin/env python3
"""Ask a running guest's QEMU, over its QMP socket, what its CPUs are doing: the host side
of the guest tier's watchdog (run.sh), which needs no help from the guest's kernel or
userspace (both may be stuck).

    qmp.py SOCKET sample [--samples N] [--symbols FILE]
        pauses the guest N times (default 8, 0.25 s apart) and prints, per vCPU, where it
        was (RIP, with its kernel symbol from FILE: the guest's kallsyms) and how often
    qmp.py SOCKET sysrq KEY...
        presses Alt+SysRq+KEY on the guest's PS/2 keyboard (the guest prints to its
        console: 9 = log level, w = blocked tasks, l = all CPUs' backtraces)

Plain standard library: the host's /usr/bin/python3 runs it, no venv needed.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

_RIP_RE = re.compile(r"RIP=([0-9a-f]{16})")
_CPL_RE = re.compile(r"CPL=(\d)")
_CPU_RE = re.compile(r"^CPU#", re.MULTILINE)


class Qmp:
    def __init__(self, path: str, timeout_s: float = 10.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout_s)
        self.sock.connect(path)
        self.file = self.sock.makefile("rwb")
        self._reply()  # the greeting
        self.execute("qmp_capabilities")

    def _reply(self) -> dict[str, Any]:
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("QMP closed the connection")
            msg: dict[str, Any] = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, command: str, **arguments: Any) -> Any:
        request: dict[str, Any] = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.file.write(json.dumps(request).encode() + b"\n")
        self.file.flush()
        reply = self._reply()
        if "error" in reply:
            raise RuntimeError(f"{command}: {reply['error'].get('desc', reply['error'])}")
        return reply.get("return")

    def hmp(self, command_line: str) -> str:
        return str(self.execute("human-monitor-command", **{"command-line": command_line}))


class Symbols:
    """Text symbols of a kallsyms or System.map file, to name an address."""

    def __init__(self, path: Path | None) -> None:
        table: list[tuple[int, str]] = []
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    table.append((int(parts[0], 16), parts[2]))
        table.sort()
        self.addrs = [addr for addr, _ in table]
        self.names = [name for _, name in table]

    def name(self, addr: int) -> str:
        i = bisect.bisect_right(self.addrs, addr) - 1
        if i < 0 or addr - self.addrs[i] > 1 << 20:
            return "user space" if addr < 1 << 47 else "?"
        return f"{self.names[i]}+{addr - self.addrs[i]:#x}"


def sample(qmp: Qmp, samples: int, symbols: Symbols) -> None:
    seen: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for _ in range(samples):
        qmp.execute("stop")  # every vCPU leaves its translated code: exact registers
        try:
            text = qmp.hmp("info registers -a")
        finally:
            qmp.execute("cont")
        for block in _CPU_RE.split(text)[1:]:
            cpu_text, _, block = block.partition("\n")
            cpu = int(cpu_text)
            rip = _RIP_RE.search(block)
            cpl = _CPL_RE.search(block)
            if rip:
                where = symbols.name(int(rip[1], 16))
                if cpl and cpl[1] == "3":
                    where = "user space"
                seen[cpu][where] += 1
        time.sleep(0.25)
    for cpu in sorted(seen):
        spots = ", ".join(f"{n}x {where}" for where, n in seen[cpu].most_common(4))
        sys.stdout.write(f"vCPU {cpu}: {spots}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("socket")
    sub = parser.add_subparsers(dest="what", required=True)
    p_sample = sub.add_parser("sample")
    p_sample.add_argument("--samples", type=int, default=8)
    p_sample.add_argument("--symbols", type=Path)
    p_sysrq = sub.add_parser("sysrq")
    p_sysrq.add_argument("keys", nargs="+")
    args = parser.parse_args()
    try:
        qmp = Qmp(args.socket)
        if args.what == "sample":
            sample(qmp, args.samples, Symbols(args.symbols))
        else:
            for key in args.keys:
                qmp.hmp(f"sendkey alt-sysrq-{key}")
                time.sleep(1.0)
    except (OSError, RuntimeError, ValueError) as exc:
        sys.stderr.write(f"qmp: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
