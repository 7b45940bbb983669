"""HTTP client of the CLI: the unix socket by default (admin), or --url with --token."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import httpx

from ..config import DEFAULT_SOCKET

TIMEOUT_S = 120.0


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.detail = status, code, message, detail


class Client:
    def __init__(
        self, url: str | None = None, token: str | None = None, socket: str | None = None
    ) -> None:
        self.url = url or os.environ.get("TRACERD_URL")
        self.token = token or os.environ.get("TRACERD_TOKEN")
        self.socket = socket or os.environ.get("TRACERD_SOCKET") or DEFAULT_SOCKET
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if self.url:
            self.http = httpx.Client(base_url=self.url, headers=headers, timeout=TIMEOUT_S)
        else:
            transport = httpx.HTTPTransport(uds=self.socket)
            self.http = httpx.Client(
                base_url="http://tracerd", transport=transport, headers=headers, timeout=TIMEOUT_S
            )

    @property
    def ws_base(self) -> str:
        if self.url:
            return self.url.replace("http://", "ws://").replace("https://", "wss://")
        return "ws://tracerd"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            where = self.url or f"unix socket {self.socket}"
            raise ApiError(0, "unreachable", f"cannot reach the daemon at {where}: {exc}") from exc
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
            except (ValueError, KeyError, TypeError):
                err = {"code": "http", "message": resp.text}
            raise ApiError(
                resp.status_code, err.get("code", "?"), err.get("message", ""), err.get("detail")
            )
        if resp.status_code == 204 or not resp.content:
            return None
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.text

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def stream_bytes(self, path: str, params: dict[str, Any]) -> Iterator[bytes]:
        with self.http.stream("GET", path, params=params) as resp:
            if resp.status_code >= 400:
                resp.read()
                err = resp.json().get("error", {})
                raise ApiError(resp.status_code, err.get("code", "?"), err.get("message", ""))
            yield from resp.iter_bytes()


def fail(exc: ApiError) -> None:
    sys.stderr.write(f"tracerd: {exc.message}")
    if exc.code not in ("unreachable", "http") and exc.status:
        sys.stderr.write(f" [{exc.status} {exc.code}]")
    sys.stderr.write("\n")
    raise SystemExit(1)
