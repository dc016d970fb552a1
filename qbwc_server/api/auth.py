"""Who may call which route (API.md "Auth"): the bearer token, and the tenant a call is scoped to.

A tenant token's calls are its tenant's; an admin token names the tenant in the path
(`/tenants/{tenant}/…`). Every refusal that could tell a caller which tenants exist is the same
404 as for a tenant that does not; a bad token is the same 401 whatever was wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from qbwc_server.admin.tokens import TokenIdentity, authenticate_token
from qbwc_server.api.routing import ApiError, Route


class Unauthorized(ApiError):
    """401: the same body whether the token was missing, malformed, unknown or revoked (the
    error handler adds `WWW-Authenticate`)."""

    def __init__(self) -> None:
        super().__init__(
            401,
            "unauthorized",
            "a valid API token is required: send the header Authorization: Bearer <token>",
        )


@dataclass(frozen=True)
class Scope:
    """The tenant a call acts for (None on admin-scope routes)."""

    tenant_id: int | None
    tenant_name: str | None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def identify(engine: Engine, authorization: str | None) -> TokenIdentity:
    """The token's identity, or Unauthorized."""
    token = bearer_token(authorization)
    identity = authenticate_token(engine, token) if token else None
    if identity is None:
        raise Unauthorized()
    return identity


def scope_of(engine: Engine, identity: TokenIdentity, route: Route, tenant_in_path: str | None) -> Scope:
    """The tenant `identity` acts for on `route`, reached with or without `/tenants/{tenant}`."""
    if route.scope == "admin":
        if not identity.admin:  # not a route for tenant tokens: as if it were not there
            raise ApiError(404, "not_found", "no such route for this token")
        return Scope(None, None)
    if tenant_in_path is None:
        if identity.admin:
            raise ApiError(
                400,
                "bad_request",
                f"an admin token calls tenant routes under /api/v1/tenants/{{tenant}}{route.path}",
            )
        return Scope(identity.tenant_id, identity.tenant_name)
    if not identity.admin:  # its own tenant's path serves it; any other is, to it, nothing
        if tenant_in_path != identity.tenant_name:
            raise ApiError(404, "not_found", "not found")
        return Scope(identity.tenant_id, identity.tenant_name)
    with engine.connect() as conn:
        tenant_id = conn.execute(
            text("SELECT id FROM tenants WHERE name = :name"), {"name": tenant_in_path}
        ).scalar()
    if tenant_id is None:
        raise ApiError(404, "not_found", f"no tenant named {tenant_in_path[:64]!r}")
    return Scope(int(tenant_id), tenant_in_path)
