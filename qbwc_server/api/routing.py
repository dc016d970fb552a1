"""Routes as data: what each API module declares, and what its handlers receive and return.

Handlers know nothing of Falcon or HTTP: they take a `Call` (the tenant it is scoped to, path and
query parameters, the body already validated against the route's model) and return an
`ApiReply`, or raise `ApiError`. `app.py` turns the declarations into Falcon resources and the
OpenAPI document, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Engine

from qbwc_server.config import Settings
from qbwc_server.errors import QbwcError


@dataclass(frozen=True)
class Call:
    """One API request, as a handler sees it."""

    engine: Engine
    #: The tenant the route is scoped to (a tenant token's own, or `{tenant}` for an admin token);
    #: None only on admin-scope routes.
    tenant_id: int | None
    tenant_name: str | None
    #: Path parameters by name (`{id}` -> "id"), already checked against their patterns.
    path: Mapping[str, str] = field(default_factory=dict)
    #: Query parameters (the last value of each).
    query: Mapping[str, str] = field(default_factory=dict)
    #: The body, validated against `Route.body` (None when the route takes none).
    body: BaseModel | None = None
    #: The deployment's settings (e.g. QBWC_PUBLIC_URL for GET /qwc).
    settings: Settings | None = None


@dataclass(frozen=True)
class ApiReply:
    status: int
    #: JSON-able (dicts, lists, str, numbers, None); with `content_type`, the text sent as it is.
    body: Any
    #: A body that is not JSON (GET /qwc's XML file): its media type. None: JSON.
    content_type: str | None = None
    #: Extra response headers (e.g. Content-Disposition for a download).
    headers: Mapping[str, str] = field(default_factory=dict)


class ApiError(QbwcError):
    """An error answered as API.md's error body: `{"error": {code, message, field, quickbooks_code, fix}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        quickbooks_code: int | None = None,
        fix: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        #: The stable word of API.md's error body (the class's own `code` is the generic one).
        self.error_code = code
        self.message = message
        self.field = field
        self.quickbooks_code = quickbooks_code
        self.fix = fix

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.error_code,
                "message": self.message,
                "field": self.field,
                "quickbooks_code": self.quickbooks_code,
                "fix": self.fix,
            }
        }


@dataclass(frozen=True)
class Route:
    """One operation: `method` on `path`, relative to the scope's root.

    A tenant-scope path (`/customers/{id}`) is served at `/api/v1/customers/{id}` for a tenant
    token and at `/api/v1/tenants/{tenant}/customers/{id}` for an admin token; an admin-scope path
    (`/tenants`) only at `/api/v1/tenants` for an admin token.
    """

    method: Literal["GET", "PUT", "POST", "DELETE"]
    path: str
    handler: Callable[[Call], ApiReply]
    summary: str
    #: The body's model (validated before the handler runs; a failure is 422 naming the field).
    body: type[BaseModel] | None = None
    #: The success body's model, for the OpenAPI document.
    response: type[BaseModel] | None = None
    #: Success status codes this route answers, for the OpenAPI document.
    statuses: tuple[int, ...] = (200,)
    #: Documented query parameters: name -> description.
    query: Mapping[str, str] = field(default_factory=dict)
    scope: Literal["tenant", "admin"] = "tenant"
    #: The success body's media type when it is not JSON (the body is then a string), for OpenAPI.
    media_type: str | None = None
    #: Documented success response headers: name -> description.
    response_headers: Mapping[str, str] = field(default_factory=dict)
