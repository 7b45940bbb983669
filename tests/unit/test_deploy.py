"""The systemd unit verifies cleanly and keeps the kernel interfaces reachable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parents[2] / "deploy/systemd/tracerd.service"
FORBIDDEN = (
    "ProtectKernelTunables=yes",
    "ProtectHome=",
    "PrivateTmp=yes",
    "NoNewPrivileges=yes",
    "SystemCallFilter=",
)


def test_unit_avoids_directives_that_break_tracing() -> None:
    text = "\n".join(line for line in UNIT.read_text().splitlines() if not line.startswith("#"))
    for directive in FORBIDDEN:
        assert directive not in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    tracerd = Path(sys.executable).with_name("tracerd")
    unit = tmp_path / "tracerd.service"
    unit.write_text(UNIT.read_text().replace("/opt/tracerd/.venv/bin/tracerd", str(tracerd)))
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "tracerd.service" not in proc.stderr, proc.stderr
