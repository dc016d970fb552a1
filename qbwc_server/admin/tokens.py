"""API bearer tokens (API.md "Auth") and status page links: issue, revoke, and authenticate them.

Only a token's SHA-256 digest is stored: the token itself is shown once, by the command that
issued it. Tokens are 256 random bits, so a plain digest is as strong as a slow hash would be,
and checking one costs one indexed look-up instead of an argon2 round per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from qbwc_server.admin.tenants import get_tenant
from qbwc_server.models import TokenKind

#: What each kind of token starts with: a leaked one is recognisable (secret scanners, logs),
#: and a tenant token pasted where an admin one belongs is told apart at a glance.
PREFIXES = {TokenKind.TENANT: "qbwt_", TokenKind.ADMIN: "qbwa_", TokenKind.STATUS_LINK: "qbws_"}
#: The kinds the JSON API takes: a status link opens only its tenant's read-only page.
API_KINDS = (TokenKind.TENANT, TokenKind.ADMIN)
#: Longest header value taken as a token; anything longer is refused without hashing it.
MAX_TOKEN_LENGTH = 200


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid token speaks for: a tenant (its id and name) or an admin (both None)."""

    token_id: int
    kind: TokenKind
    tenant_id: int | None
    tenant_name: str | None

    @property
    def admin(self) -> bool:
        return self.kind == TokenKind.ADMIN


def digest(token: str) -> bytes:
    """The SHA-256 digest stored for `token`."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@contextmanager
def _connection(conn_or_engine: Connection | Engine) -> Iterator[Connection]:
    """The caller's connection as it is, or a transaction of our own on its engine."""
    if isinstance(conn_or_engine, Connection):
        yield conn_or_engine
        return
    with conn_or_engine.begin() as conn:
        yield conn


def _issue(conn: Connection, kind: TokenKind, tenant_id: int | None) -> str:
    token = PREFIXES[kind] + secrets.token_urlsafe(32)
    conn.execute(
        text("INSERT INTO api_tokens (tenant_id, kind, token_sha256) VALUES (:tenant_id, :kind, :digest)"),
        {"tenant_id": tenant_id, "kind": kind.value, "digest": digest(token)},
    )
    return token


def issue_tenant_token(conn_or_engine: Connection | Engine, tenant_name: str) -> str:
    """A new token for the tenant (TenantNotFound if there is none); earlier ones stay valid."""
    with _connection(conn_or_engine) as conn:
        return _issue(conn, TokenKind.TENANT, get_tenant(conn, tenant_name).id)


def revoke_tenant_tokens(conn_or_engine: Connection | Engine, tenant_name: str) -> int:
    """Revoke every live token of the tenant (TenantNotFound if there is none); returns how many."""
    return _revoke_of_tenant(conn_or_engine, tenant_name, TokenKind.TENANT)


def _revoke_of_tenant(conn_or_engine: Connection | Engine, tenant_name: str, kind: TokenKind) -> int:
    with _connection(conn_or_engine) as conn:
        tenant_id = get_tenant(conn, tenant_name).id
        return conn.execute(
            text("""
                UPDATE api_tokens SET revoked_at = now()
                WHERE tenant_id = :tenant_id AND kind = :kind AND revoked_at IS NULL
            """),
            {"tenant_id": tenant_id, "kind": kind.value},
        ).rowcount


def issue_admin_token(conn_or_engine: Connection | Engine) -> str:
    """A new admin token; earlier ones stay valid."""
    with _connection(conn_or_engine) as conn:
        return _issue(conn, TokenKind.ADMIN, None)


def revoke_admin_tokens(conn_or_engine: Connection | Engine) -> int:
    """Revoke every live admin token; returns how many."""
    with _connection(conn_or_engine) as conn:
        return conn.execute(
            text("UPDATE api_tokens SET revoked_at = now() WHERE kind = 'admin' AND revoked_at IS NULL")
        ).rowcount


def issue_status_link(conn_or_engine: Connection | Engine, tenant_name: str) -> str:
    """A new read-only status page link token for the tenant (TenantNotFound if there is none);
    earlier links stay valid. `status_link_url` makes the URL to hand out."""
    with _connection(conn_or_engine) as conn:
        return _issue(conn, TokenKind.STATUS_LINK, get_tenant(conn, tenant_name).id)


def revoke_status_links(conn_or_engine: Connection | Engine, tenant_name: str) -> int:
    """Revoke every live status link of the tenant (TenantNotFound if there is none); returns how many."""
    return _revoke_of_tenant(conn_or_engine, tenant_name, TokenKind.STATUS_LINK)


def status_link_url(public_url: str, token: str) -> str:
    """The page a status link opens: `/status/t/<token>` on the scheme and host of the public URL
    (QBWC_PUBLIC_URL names the SOAP endpoint; the page is served beside it)."""
    parts = urllib.parse.urlsplit(public_url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/status/t/{token}", "", ""))


def authenticate_token(
    conn_or_engine: Connection | Engine, token: str, kinds: Sequence[TokenKind] = API_KINDS
) -> TokenIdentity | None:
    """Whom `token` speaks for, or None when it is malformed, unknown, revoked or not of `kinds`.

    The look-up is by the digest's unique index, so nothing about the token's content decides
    how long a string comparison takes; the digests are compared once more in constant time so
    that stays true whatever the index does.
    """
    prefixes = tuple(PREFIXES[kind] for kind in kinds)
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.startswith(prefixes):
        return None
    wanted = digest(token)
    with _connection(conn_or_engine) as conn:
        row = conn.execute(
            text("""
                SELECT k.id, k.kind, k.tenant_id, t.name AS tenant_name, k.token_sha256
                FROM api_tokens k LEFT JOIN tenants t ON t.id = k.tenant_id
                WHERE k.token_sha256 = :digest AND k.revoked_at IS NULL
            """),
            {"digest": wanted},
        ).first()
    if row is None or not hmac.compare_digest(bytes(row.token_sha256), wanted) or row.kind not in kinds:
        return None
    return TokenIdentity(row.id, TokenKind(row.kind), row.tenant_id, row.tenant_name)
