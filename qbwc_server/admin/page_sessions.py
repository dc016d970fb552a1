"""Logins to the status page: start one with an admin token, find it again by its cookie, end it.

The cookie holds a random secret; the table keeps only its SHA-256 (like api_tokens), so a copy
of the database opens no page. A session lives while its admin token does: revoking the token
sets `revoked_at` (the row stays, so the foreign key's cascade does not fire), hence every
look-up joins the token and checks it. Knows no HTTP: api/page_auth.py sets and reads cookies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, text

#: How long a login lasts; the admin logs in again after it.
LIFETIME = dt.timedelta(hours=12)
#: Longest cookie value taken as a secret; anything longer is refused without hashing it.
MAX_SECRET_LENGTH = 100


@dataclass(frozen=True)
class PageSession:
    """A live login: the CSRF token its forms carry, and the admin token it came from."""

    id: int
    token_id: int
    csrf_token: str
    expires_at: dt.datetime


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def start_session(conn: Connection, token_id: int) -> tuple[str, PageSession]:
    """A new login for admin token `token_id`: the secret for the cookie (shown only now) and the
    session. Logins that expired are deleted on the way: nothing else would."""
    conn.execute(text("DELETE FROM page_sessions WHERE expires_at < now()"))
    secret = secrets.token_urlsafe(32)
    row = conn.execute(
        text("""
            INSERT INTO page_sessions (secret_sha256, token_id, csrf_token, expires_at)
            VALUES (:digest, :token_id, :csrf, now() + :lifetime)
            RETURNING id, token_id, csrf_token, expires_at
        """),
        {
            "digest": _digest(secret),
            "token_id": token_id,
            "csrf": secrets.token_urlsafe(32),
            "lifetime": LIFETIME,
        },
    ).one()
    return secret, PageSession(*row)


def find_session(conn: Connection, secret: str | None) -> PageSession | None:
    """The live login whose cookie holds `secret`: not expired, its admin token not revoked."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    row = conn.execute(
        text("""
            SELECT s.id, s.token_id, s.csrf_token, s.expires_at
            FROM page_sessions s JOIN api_tokens k ON k.id = s.token_id
            WHERE s.secret_sha256 = :digest AND s.expires_at > now()
              AND k.revoked_at IS NULL AND k.kind = 'admin'
        """),
        {"digest": _digest(secret)},
    ).first()
    return PageSession(*row) if row is not None else None


def end_session(conn: Connection, session_id: int) -> None:
    """Log out: the cookie's secret opens nothing any more."""
    conn.execute(text("DELETE FROM page_sessions WHERE id = :id"), {"id": session_id})
