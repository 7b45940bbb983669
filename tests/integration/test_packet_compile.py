"""GET /v1/packet/compile: the three tcpdump forms, without capturing; libpcap's errors."""

from __future__ import annotations

import subprocess

import pytest

from .conftest import InProcess

pytestmark = pytest.mark.root


def test_compile_returns_tcpdump_forms(daemon: InProcess) -> None:
    viewer = daemon.token("viewer")
    resp = daemon.call(
        "GET", "/v1/packet/compile", viewer, params={"filter": "arp", "linktype": "EN10MB"}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    for key, flag in (("d", "-d"), ("dd", "-dd"), ("ddd", "-ddd")):
        peer = subprocess.run(
            ["tcpdump", flag, "-y", "EN10MB", "arp"], capture_output=True, text=True, check=True
        )
        assert body[key] == peer.stdout
    assert body["d"].splitlines()[0] == "(000) ldh      [12]"
    assert body["instructions"] == 4


def test_compile_errors_are_400(daemon: InProcess) -> None:
    resp = daemon.call("GET", "/v1/packet/compile", params={"filter": "tcp port"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "compile_error"
    assert "syntax error" in resp.json()["error"]["message"]
    resp = daemon.call("GET", "/v1/packet/compile", params={"filter": "ip", "linktype": "NOPE"})
    assert resp.status_code == 400


def test_operators_capture_viewers_do_not(daemon: InProcess) -> None:
    spec = {"interface": "lo", "filter": "icmp and host 127.0.0.254", "promiscuous": True}
    resp = daemon.create("packet", spec, start=True)
    assert resp.status_code == 201  # admin
    viewer = daemon.token("viewer")
    refused = daemon.call("POST", "/v1/sessions", viewer, json={"kind": "packet", "spec": spec})
    assert refused.status_code == 403
    operator = daemon.token("operator")
    created = daemon.call("POST", "/v1/sessions", operator, json={"kind": "packet", "spec": spec})
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["info"]["linktype"] == "EN10MB"
    assert session["info"]["program"]["d"].startswith("(000) ldh      [12]\n")
    assert [r["type"] for r in session["resources"]].count("packet_socket") == 1
    for sid in (resp.json()["id"], session["id"]):
        stopped = daemon.call("POST", f"/v1/sessions/{sid}/stop", params={"wait": "true"})
        assert stopped.status_code == 200
