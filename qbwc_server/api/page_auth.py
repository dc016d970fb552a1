"""Who is looking at the status page, and the headers every page carries.

Two ways in: an admin logs in with an admin token (a page session: cookie `qbwc_status`, its
secret's digest in `page_sessions`), or a tenant's read-only link carries a `status_link` token
in its URL. Every POST needs a live login and its CSRF token, compared in constant time: the
SameSite=Strict cookie already keeps other sites' forms out, the token keeps out what slips past
it (an old browser, a sibling subdomain). A flash message rides in the redirect's query string,
signed with the login's CSRF token, so a link crafted elsewhere cannot put words on the page.
Knows HTTP; the sessions and tokens themselves are admin/'s.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import falcon
from sqlalchemy import Engine

from qbwc_server.admin import page_sessions
from qbwc_server.admin.page_sessions import PageSession
from qbwc_server.admin.tokens import TokenIdentity, authenticate_token
from qbwc_server.models import TokenKind
from qbwc_server.webconnector.client import from_trusted_proxy

COOKIE = "qbwc_status"
#: The cookie goes only to the page, never to the API or the Web Connector's endpoint.
COOKIE_PATH = "/status"
#: What every page response says: never cached (tenant data, a token in the URL), never framed
#: (clickjacking a Retry), no scripts but our own (there are none), and no Referer (a status
#: link's token is in its URL).
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class Forbidden(falcon.HTTPForbidden):
    """403 with a sentence for the person at the browser."""

    def __init__(self, message: str) -> None:
        super().__init__(title="Not allowed", description=message)


def is_https(req: falcon.Request, trusted_proxies: str) -> bool:
    """Whether the browser reached us over https: gunicorn sets the scheme from X-Forwarded-Proto
    for its trusted proxies (QBWC_FORWARDED_ALLOW_IPS); a server that does not (the demo's) is
    given the same rule here."""
    if req.env.get("wsgi.url_scheme") == "https":
        return True
    forwarded = (req.get_header("X-Forwarded-Proto") or "").split(",")[-1].strip().lower()
    return forwarded == "https" and from_trusted_proxy(req.env.get("REMOTE_ADDR"), trusted_proxies)


def current_session(engine: Engine, req: falcon.Request) -> PageSession | None:
    """The live login the request's cookie belongs to, if any (expired and revoked ones are none)."""
    values = req.get_cookie_values(COOKIE) or []
    with engine.connect() as conn:
        for secret in values[:3]:  # a stale cookie of another path may come first
            found = page_sessions.find_session(conn, secret)
            if found is not None:
                return found
    return None


def set_session_cookie(req: falcon.Request, resp: falcon.Response, secret: str, trusted: str) -> None:
    resp.set_cookie(
        COOKIE,
        secret,
        max_age=int(page_sessions.LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=is_https(req, trusted),
        http_only=True,
        same_site="Strict",
    )


def clear_session_cookie(resp: falcon.Response) -> None:
    """Tell the browser to drop the cookie (already worthless: its login row is gone)."""
    resp.unset_cookie(COOKIE, path=COOKIE_PATH, same_site="Strict")


def check_csrf(session: PageSession | None, form: dict[str, str]) -> PageSession:
    """The login, when the form carries its CSRF token; else Forbidden (403)."""
    if session is None:
        raise Forbidden("You are not logged in (or your login ended): log in again, then repeat.")
    sent = form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"), session.csrf_token.encode()):
        raise Forbidden(
            "This form is out of date or did not come from this page: reload the page and try again."
        )
    return session


def link_identity(engine: Engine, token: str) -> TokenIdentity | None:
    """The tenant a read-only status link opens (None when unknown or revoked)."""
    return authenticate_token(engine, token, kinds=(TokenKind.STATUS_LINK,))


def flash_signature(session: PageSession, message: str) -> str:
    key = session.csrf_token.encode()
    return hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]


def read_flash(session: PageSession, params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, message) of a flash this login signed; None when absent or forged."""
    message, kind, signature = (str(params.get(k, "")) for k in ("flash", "kind", "sig"))
    if not message or kind not in ("ok", "error"):
        return None
    if not hmac.compare_digest(signature.encode(), flash_signature(session, kind + ":" + message).encode()):
        return None
    return kind, message
