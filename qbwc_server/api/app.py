"""The JSON API at /api/v1: the declared routes (api/<subject>.py `ROUTES`) served by Falcon.

Everything HTTP lives here and in auth.py/errors.py: the token, the tenant a call is scoped to,
path parameters, the JSON body and its validation. Handlers get a `Call` and never see Falcon.

Path parameters are checked against API.md's id pattern before a handler runs. One that does
not match is `404 not_found` (no record can have it), except on PUT, where the id is what the
client asks to create: there it is `422 validation_failed` with `field: "id"`.

Falcon's router refuses two names for one path segment: an admin-scope route under /tenants/
names its parameter `{tenant}`, like the tenant routes served below it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import re
from collections.abc import Sequence
from typing import Any

import falcon
from pydantic import ValidationError
from sqlalchemy import Engine

from qbwc_server.api import auth, customers, errors, health, jobs, lists, operations, orders, payments
from qbwc_server.api.bodies import validation_error
from qbwc_server.api.openapi import ID_REGEX, build_openapi
from qbwc_server.api.routing import ApiError, Call, Route
from qbwc_server.config import Settings
from qbwc_server.webconnector.body import BodyError, BodyTooLarge, read_body

API_ROOT = "/api/v1"
ID_PATTERN = re.compile(ID_REGEX)
#: The modules whose `ROUTES` the API serves.
ROUTE_MODULES = (health, jobs, operations, customers, orders, payments, lists)
_JSON_TYPES = re.compile(r"application/(?:[\w.+-]+\+)?json", re.IGNORECASE)


def declared_routes() -> tuple[Route, ...]:
    """Every route the route modules declare."""
    return tuple(route for module in ROUTE_MODULES for route in module.ROUTES)


def served_paths(routes: Sequence[Route]) -> list[tuple[str, Route]]:
    """Each route at each path it is served at: a tenant route both as a tenant token calls it
    and under `/tenants/{tenant}` for an admin token; an admin route once."""
    served: list[tuple[str, Route]] = []
    for route in routes:
        served.append((API_ROOT + route.path, route))
        if route.scope == "tenant":
            served.append((f"{API_ROOT}/tenants/{{tenant}}{route.path}", route))
    return served


def _jsonable(value: object) -> object:
    """What json.dumps cannot write itself, as API.md writes it."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    raise TypeError(f"{type(value).__name__} is not JSON-able")


class _Server:
    """Serves one declared route per call: token, scope, parameters, body, then the handler."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.max_body = settings.api_max_body_kb * 1024
        self.body_timeout = settings.gunicorn.body_timeout

    def serve(self, route: Route, req: falcon.Request, resp: falcon.Response, **params: str) -> None:
        identity = auth.identify(self.engine, req.get_header("Authorization"))
        # An admin-scope route's own `{tenant}` (e.g. /tenants/{tenant}) is the handler's parameter.
        in_path = params.pop("tenant", None) if route.scope == "tenant" else None
        scope = auth.scope_of(self.engine, identity, route, in_path)
        for name, value in params.items():
            if not ID_PATTERN.fullmatch(value):
                if route.method == "PUT":
                    raise ApiError(
                        422,
                        "validation_failed",
                        f"{name} must be 1 to 64 of A-Z a-z 0-9 . _ : -, the first a letter or digit",
                        field=name,
                    )
                raise ApiError(404, "not_found", f"no record {value[:80]!r}")
        call = Call(
            engine=self.engine,
            tenant_id=scope.tenant_id,
            tenant_name=scope.tenant_name,
            path=params,
            query={k: v[-1] if isinstance(v, list) else v for k, v in req.params.items()},
            body=self._body(req, route),
            settings=self.settings,
        )
        reply = route.handler(call)
        resp.status = reply.status
        for name, value in reply.headers.items():
            resp.set_header(name, value)
        if reply.content_type is not None:  # a file (GET /qwc): its text as it is
            resp.content_type = reply.content_type
            resp.text = str(reply.body)
        elif reply.status != 204:  # No Content has no body, not even `null`
            resp.content_type = falcon.MEDIA_JSON
            resp.text = json.dumps(reply.body, default=_jsonable)

    def _body(self, req: falcon.Request, route: Route) -> Any:
        """The body validated against the route's model (an absent body is `{}`); None when the
        route takes none (whatever was sent is not read)."""
        if route.body is None:
            return None
        media_type = (req.content_type or "").split(";", 1)[0].strip()
        if _body_sent(req.env) and not _JSON_TYPES.fullmatch(media_type):
            raise ApiError(
                415,
                "unsupported_media_type",
                f"the body must be JSON (Content-Type: application/json), not {media_type[:60] or 'untyped'}",
            )
        try:
            chunks = read_body(req.env, self.max_body, self.body_timeout)
        except BodyTooLarge:
            raise ApiError(
                413,
                "payload_too_large",
                f"the body is larger than the API's limit of {self.max_body // 1024} kB"
                " (QBWC_API_MAX_BODY_KB)",
            ) from None
        except BodyError as exc:
            raise ApiError(int(exc.status[:3]), exc.code, str(exc)) from None
        raw = b"".join(chunks)
        try:
            data = json.loads(raw, parse_constant=_refuse_constant) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise ApiError(400, "bad_request", f"the body is not valid JSON: {str(exc)[:200]}") from None
        try:
            return route.body.model_validate(data)
        except ValidationError as exc:
            raise validation_error(exc) from None


def _body_sent(environ: dict[str, Any]) -> bool:
    """Whether the request has a body (a Content-Length above 0, or chunked)."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return True
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    return bool(length) and length.strip("0") != ""


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


class _Resource:
    """One path template's routes, as Falcon's `on_<method>` responders."""

    def __init__(self, server: _Server, routes: Sequence[Route]) -> None:
        for route in routes:
            setattr(self, f"on_{route.method.lower()}", functools.partial(server.serve, route))


class _OpenApi:
    """The document, built once; served without a token (it holds no tenant's data)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.body = json.dumps(document).encode()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.body


def build_api(
    engine: Engine, settings: Settings, routes: Sequence[Route] | None = None
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI app of /api/v1 for `routes` (the declared ones unless given: tests add their own)."""
    routes = declared_routes() if routes is None else tuple(routes)
    app = falcon.App(media_type=falcon.MEDIA_JSON)
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)
    server = _Server(engine, settings)
    by_template: dict[str, list[Route]] = {}
    for template, route in served_paths(routes):
        declared = by_template.setdefault(template, [])
        if any(other.method == route.method for other in declared):
            raise ValueError(f"{route.method} {template} is declared twice")
        declared.append(route)
    for template, declared in by_template.items():
        app.add_route(template, _Resource(server, declared))
    app.add_route(f"{API_ROOT}/openapi.json", _OpenApi(build_openapi(served_paths(routes), API_ROOT)))
    return app
