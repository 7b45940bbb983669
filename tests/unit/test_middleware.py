"""The request middleware: a 500 is answered without an exception escaping to uvicorn
(which would close a keep-alive connection)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from tracerd.app import AuditAndMetrics


def test_an_exception_is_a_500_envelope_and_does_not_escape() -> None:
    async def broken(_scope: Any, _receive: Any, _send: Any) -> None:
        raise RuntimeError("boom")

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/x",
        "headers": [],
        "app": SimpleNamespace(state=SimpleNamespace()),
    }
    asyncio.run(AuditAndMetrics(broken)(scope, receive, send))  # no exception
    assert sent[0]["status"] == 500
    assert json.loads(sent[1]["body"])["error"]["code"] == "internal"
