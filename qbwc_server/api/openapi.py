"""`/api/v1/openapi.json`, generated from the routes as served and their pydantic models.

Never hand-kept: what `app.py` serves is exactly what is listed here, each path with its
methods, parameters, body schema, success schema and the error bodies it may answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from qbwc_server import __version__
from qbwc_server.api.errors import ErrorBody
from qbwc_server.api.routing import Route

SCHEMAS = "#/components/schemas/{model}"
#: API.md's ids: 1 to 64 of A-Z a-z 0-9 . _ : -, the first a letter or digit (every path
#: parameter is held to it; app.py checks it, this document states it).
ID_REGEX = r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
_FIELD = re.compile(r"{(\w+)}")

#: What each path parameter is, for the document.
PARAMETERS = {
    "tenant": "The tenant's name (admin tokens only).",
    "id": "The record's id: 1 to 64 of A-Z a-z 0-9 . _ : - , the first a letter or digit"
    " (for jobs, the service's job id).",
    "entity": "What to refresh: customers, items, inventory, orders, invoices, payments, lists or all.",
}
_FAILURES = {
    "400": "Bad request: malformed JSON, a query parameter refused (`field` names it), or an admin token"
    " on a tenant route without /tenants/{tenant}.",
    "401": "Missing, unknown or revoked token.",
    "404": "No such record, route or tenant (or another tenant's).",
    "409": "Conflict: the record or job is not in a state for this.",
    "413": "Body larger than QBWC_API_MAX_BODY_KB.",
    "415": "Body not JSON (Content-Type must be application/json).",
    "422": "Validation failed: `field` names the field, `message` the reason.",
    "500": "Internal error (the details are in the server's log).",
}


def build_openapi(served: Sequence[tuple[str, Route]], base: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `served` (path template as served, its route); `base` is the
    prefix the templates start with, kept in them so every path reads as a client calls it."""
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        (ErrorBody, "serialization")
    ]
    for _, route in served:
        if route.body is not None:
            models.append((route.body, "validation"))
        if route.response is not None:
            models.append((route.response, "serialization"))
    refs, defs = models_json_schema(list(dict.fromkeys(models)), ref_template=SCHEMAS)
    error_ref = refs[(ErrorBody, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for template, route in served:
        operation = _operation(template, route, base, refs, error_ref)
        paths.setdefault(template, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qbwc-server API",
            "version": __version__,
            "description": "The commerce side's JSON API. Bearer tokens: `qbwc-server tenant token NAME`"
            " (a tenant's routes) or `qbwc-server admin-token` (every tenant's, under /tenants/{tenant}).",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _operation(
    template: str, route: Route, base: str, refs: dict[Any, Any], error_ref: dict[str, Any]
) -> dict[str, Any]:
    admin_path = route.scope == "admin" or "{tenant}" in template
    operation: dict[str, Any] = {
        "operationId": _operation_id(route, admin_path),
        "summary": route.summary,
        "tags": ["admin" if route.scope == "admin" else route.path.strip("/").split("/")[0]],
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": f"^{ID_REGEX}$"},
                "description": PARAMETERS.get(name, name),
            }
            for name in _FIELD.findall(template)
        ]
        + [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": text,
            }
            for name, text in route.query.items()
        ],
        "responses": {},
    }
    if admin_path:
        operation["description"] = f"Admin token only (the tenant's own token calls {base}{route.path})."
    if route.body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    success: dict[str, Any] = (
        {"content": {"application/json": {"schema": refs[(route.response, "serialization")]}}}
        if (route.response is not None)
        else {}
    )
    if route.media_type is not None:  # a file, not JSON
        success = {"content": {route.media_type: {"schema": {"type": "string"}}}}
    if route.response_headers:
        success["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in route.response_headers.items()
        }
    for status in route.statuses:
        operation["responses"][str(status)] = {"description": "Success", **success}
    failures = ["401", "404", "500"]
    if route.scope == "tenant" and not admin_path:
        failures.append("400")
    if route.query:
        failures.append("400")
    if route.body is not None:
        failures += ["400", "413", "415", "422"]
    if route.method in ("PUT", "POST", "DELETE"):
        failures.append("409")
    error = {"content": {"application/json": {"schema": error_ref}}}
    for failure in sorted(set(failures)):
        operation["responses"][failure] = {"description": _FAILURES[failure], **error}
    return operation


def _operation_id(route: Route, admin_path: bool) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", _FIELD.sub(r"by_\1", route.path)) if w]
    suffix = "_for_tenant" if admin_path and route.scope == "tenant" else ""
    return "_".join([route.method.lower(), *words]) + suffix
