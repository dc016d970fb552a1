"""Every API failure as API.md's error body, with the status that goes with its code.

Falcon's own errors (unknown route, wrong method, a malformed header), our `ApiError`s, the
`QbwcError`s admin/ raises and anything unexpected all end here, so no client ever sees HTML or
a traceback; the unexpected ones leave their traceback in the server's log instead.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon
from pydantic import BaseModel, ValidationError

from qbwc_server.api.routing import ApiError
from qbwc_server.errors import QbwcError

log = logging.getLogger(__name__)

#: The HTTP status of each stable error code (the codes of API.md and of QbwcError subclasses).
STATUS_OF_CODE = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,
    "conflict": 409,
    "length_required": 411,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "validation_failed": 422,
    "internal_error": 500,
    "database_unavailable": 503,
}
_CODE_OF_STATUS = {status: code for code, status in STATUS_OF_CODE.items()}
#: The header every 401 carries (RFC 6750).
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="qbwc-server"'}


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    quickbooks_code: int | None = None
    fix: str | None = None


class ErrorBody(BaseModel):
    """API.md's error body; the OpenAPI document shows it for every failure status."""

    error: ErrorDetail


def from_qbwc_error(exc: QbwcError) -> ApiError:
    """An admin/ error as the API answers it: its stable code, its status, its message."""
    if isinstance(exc, ApiError):
        return exc
    status = STATUS_OF_CODE.get(exc.code, 400 if exc.code != "internal_error" else 500)
    return ApiError(status, exc.code, str(exc))


def location(loc: tuple[int | str, ...]) -> str:
    """pydantic's error location as a client writes it: ('lines', 0, 'quantity') -> lines[0].quantity."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def from_validation_error(exc: ValidationError) -> ApiError:
    """422 naming the first field pydantic refused and why (the others follow in the message)."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    field = location(first["loc"]) or None
    reasons = [f"{location(e['loc']) or 'the body'}: {_reason(e)}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return ApiError(422, "validation_failed", "; ".join(reasons) + more, field=field)


def _reason(error: Any) -> str:
    message = str(error["msg"])
    # pydantic's "Value error, <our words>" for a validator's ValueError: keep our words only.
    return message.removeprefix("Value error, ")


def answer(resp: falcon.Response, error: ApiError, headers: dict[str, str] | None = None) -> None:
    resp.status = error.status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(error.body())
    if headers:
        resp.set_headers(headers)


def handle_api_error(req: falcon.Request, resp: falcon.Response, ex: ApiError, params: Any) -> None:
    answer(resp, ex, CHALLENGE if ex.status == 401 else None)


def handle_qbwc_error(req: falcon.Request, resp: falcon.Response, ex: QbwcError, params: Any) -> None:
    error = from_qbwc_error(ex)
    if error.status >= 500:
        log.error("API %s %s: %s", req.method, req.path, ex, exc_info=ex)
    answer(resp, error)


def handle_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: Any) -> None:
    """Falcon's own errors (404 unknown route, 405 with Allow, a malformed header) in our body."""
    status = ex.status_code
    headers = dict(ex.headers or {})
    code = _CODE_OF_STATUS.get(status) or "_".join(str(ex.title or "error").lower().split())
    if isinstance(ex, falcon.HTTPRouteNotFound | falcon.HTTPNotFound):
        message = f"no route {req.path}; the routes are listed at /api/v1/openapi.json"
    elif isinstance(ex, falcon.HTTPMethodNotAllowed):
        message = f"{req.method} is not allowed on {req.path}; allowed: {headers.get('Allow', '')}"
    else:
        message = ". ".join(part for part in (ex.title, ex.description) if part)
    answer(resp, ApiError(status, code, message), headers)


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    """500 `internal_error`: the traceback goes to the log, never to the client."""
    log.error("API %s %s failed", req.method, req.path, exc_info=ex)
    answer(resp, ApiError(500, "internal_error", "the server failed to answer; the error is in its log"))


def install(app: falcon.App[falcon.Request, falcon.Response]) -> None:
    """Make `app` answer every failure with the error body (most specific handler wins)."""
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(QbwcError, handle_qbwc_error)
    app.add_error_handler(ApiError, handle_api_error)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
