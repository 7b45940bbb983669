"""Tokens and roles: random 256-bit tokens with an id prefix, stored as SHA-256.

A token reads `trd_<id>_<secret>`; the id finds the row, the hash of the whole token is
compared in constant time. The unix socket (mode 0600, root only) is admin without a token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .errors import BadRequest, NotFound, Unauthenticated
from .storage.db import short_busy_timeout
from .storage.tables import TokenRow

log = logging.getLogger(__name__)

TOKEN_PREFIX = "trd"
LAST_USED_RESOLUTION = timedelta(minutes=1)
SECRET_BYTES = 32
ID_BYTES = 6


class Role(IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise BadRequest(f"unknown role {name!r}: viewer, operator or admin") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a token's id and role, or the unix socket."""

    id: str
    role: Role
    name: str = ""

    def allows(self, role: Role) -> bool:
        return self.role >= role


UNIX_PRINCIPAL = Principal("unix", Role.ADMIN, "unix socket")


def _aware(ts: datetime) -> datetime:
    """SQLite gives naive datetimes back (stored as UTC)."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: str
    name: str
    role: Role
    token: str
    created_at: datetime


class TokenStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._touches = ThreadPoolExecutor(
            1, thread_name_prefix="token-use", initializer=short_busy_timeout
        )
        """`last_used_at` writes: off the request (authentication runs on the event loop
        for requests without a body), so a locked database never holds a request"""

    def create(self, name: str, role: Role) -> IssuedToken:
        token_id = secrets.token_hex(ID_BYTES)
        token = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
        now = datetime.now(UTC)
        with self._sessions.begin() as db:
            db.add(
                TokenRow(
                    id=token_id, name=name, role=role.label, sha256=_digest(token), created_at=now
                )
            )
        return IssuedToken(token_id, name, role, token, now)

    def authenticate(self, token: str) -> Principal:
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise Unauthenticated("malformed token")
        with self._sessions() as db:
            row = db.get(TokenRow, parts[1])
            # compare even when the row is missing, so timing does not tell ids apart
            expected = row.sha256 if row is not None else "0" * 64
            ok = hmac.compare_digest(expected, _digest(token))
            if row is None or not ok or row.revoked_at is not None:
                raise Unauthenticated("invalid or revoked token")
            principal = Principal(row.id, Role.parse(row.role), row.name)
            last_used = row.last_used_at
        now = datetime.now(UTC)
        if last_used is None or now - _aware(last_used) > LAST_USED_RESOLUTION:
            self._touches.submit(self._touch, principal.id, now)
        return principal

    def _touch(self, token_id: str, now: datetime) -> None:
        """Record `last_used_at` (at most once a minute per token); a failed write (a full
        disk, a locked database) never fails the request."""
        try:
            with self._sessions.begin() as db:
                db.execute(update(TokenRow).where(TokenRow.id == token_id).values(last_used_at=now))
        except SQLAlchemyError as exc:
            log.warning("token %s: last_used_at not recorded: %s", token_id, exc)

    def list(self) -> list[TokenRow]:
        with self._sessions() as db:
            return list(db.scalars(select(TokenRow).order_by(TokenRow.created_at)))

    def revoke(self, token_id: str) -> TokenRow:
        with self._sessions.begin() as db:
            row = db.get(TokenRow, token_id)
            if row is None:
                raise NotFound(f"no token {token_id}")
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            return row
