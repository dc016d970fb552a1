"""The status page at /status: each tenant's health in words, with Retry, Link and Sync now.

Server-rendered HTML (Falcon + the templates of page_render.py), no JavaScript. An admin logs in
with an admin token; a tenant's read-only link (`/status/t/<token>`) shows that tenant's page
without a form, and anything it POSTs is refused. Every action is a POST to the tenant's page
carrying the login's CSRF token, answered with a redirect back to it (Post/Redirect/Get) and a
flash message. The page is a thin face over admin/: health, jobs, records, pulls, tokens.

Routes (a tenant's name is one percent-encoded path segment; `{name:path}` also takes a name
made before names were restricted, '/' and all):
    GET  /status                      every tenant, its state and headline (admin)
    GET  /status/login, POST          the login form; POST checks the token, sets the cookie
    POST /status/logout               ends the login
    GET  /status/tenants/{name}       one tenant (admin); POST: action=retry|link|sync
    GET  /status/t/{token}            one tenant, read-only (a status link); POST: 403
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any

import falcon
from sqlalchemy import Engine

from qbwc_server.admin import customer_choices, jobs, page_sessions, pulls, records, tenants
from qbwc_server.admin.health import tenant_health, tenants_health
from qbwc_server.admin.record_reads import RecordError
from qbwc_server.admin.tokens import authenticate_token
from qbwc_server.api import page_auth
from qbwc_server.api.page_auth import Forbidden
from qbwc_server.api.page_render import Renderer
from qbwc_server.config import Settings
from qbwc_server.models import JobStatus, TokenKind
from qbwc_server.queue import QueueError
from qbwc_server.webconnector.body import BodyError, read_body

log = logging.getLogger(__name__)

PREFIX = "/status"
#: Queue statuses in the order the page lists them.
QUEUE_ORDER = ("queued", "sent", "unconfirmed", "blocked", "failed", "dead", "done")
#: Most waiting customers listed with a Link form (each carries up to MAX_CHOICES options, so
#: the page stays well under a megabyte); more appear as these are linked.
WAITS_SHOWN = 25
#: A form is a few fields; anything larger is not ours.
MAX_FORM_BYTES = 16 * 1024
_HTML = "text/html; charset=utf-8"


def _no_tenant(name: str) -> falcon.HTTPNotFound:
    return falcon.HTTPNotFound(title="Not found", description=f"No company named {name[:80]!r}.")


def tenant_url(name: str) -> str:
    return f"{PREFIX}/tenants/{urllib.parse.quote(name, safe='')}"


class _Page:
    """What every resource shares: the engine, the settings it needs, the templates."""

    def __init__(self, engine: Engine, settings: Settings, renderer: Renderer) -> None:
        self.engine = engine
        self.trusted = settings.gunicorn.forwarded_allow_ips
        self.body_timeout = settings.gunicorn.body_timeout
        self.renderer = renderer

    def html(self, resp: falcon.Response, template: str, status: int = 200, **context: Any) -> None:
        resp.status = status
        resp.content_type = _HTML
        resp.text = self.renderer.render(template, **context)

    def form(self, req: falcon.Request) -> dict[str, str]:
        """The POSTed form's fields (the last value of each)."""
        try:
            raw = b"".join(read_body(req.env, MAX_FORM_BYTES, self.body_timeout))
        except BodyError as exc:
            raise falcon.HTTPError(exc.status, title="Bad request", description=str(exc)) from None
        fields = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[-1] for key, values in fields.items()}

    def admin(self, req: falcon.Request) -> page_sessions.PageSession:
        """The login of a GET; without one, off to the login form."""
        session = page_auth.current_session(self.engine, req)
        if session is None:
            raise falcon.HTTPSeeOther(f"{PREFIX}/login")
        return session

    def tenant_page(
        self,
        resp: falcon.Response,
        name: str,
        *,
        session: page_sessions.PageSession | None,
        params: Mapping[str, Any],
    ) -> None:
        """A tenant's page; read-only without a login (a status link)."""
        q = str(params.get("q", ""))[:100] if session is not None else ""
        with self.engine.connect() as conn:
            try:
                health = tenant_health(conn, name)
            except tenants.TenantNotFound:
                raise _no_tenant(name) from None
            waits = health.needs_mapping[:WAITS_SHOWN]
            choices = None
            if session is not None and waits:
                tenant_id = tenants.get_tenant(conn, health.tenant).id
                names = sorted({w.name for w in waits})
                choices = customer_choices.link_choices(conn, tenant_id, prefix=q, names=names)
        self.html(
            resp,
            "tenant.html",
            h=health,
            waits=waits,
            choices=choices,
            q=q,
            read_only=session is None,
            tenant_url=tenant_url(health.tenant),
            queue_order=QUEUE_ORDER,
            csrf_token=session.csrf_token if session else None,
            flash=page_auth.read_flash(session, params) if session else None,
            home_url=PREFIX if session else None,
        )


class _Index(_Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = self.admin(req)
        with self.engine.connect() as conn:
            rows = tenants_health(conn)  # one statement for every tenant
        self.html(resp, "index.html", rows=rows, csrf_token=session.csrf_token)


class _Login(_Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if page_auth.current_session(self.engine, req) is not None:
            raise falcon.HTTPSeeOther(PREFIX)
        self.html(resp, "login.html", error=None, home_url=f"{PREFIX}/login")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        # No CSRF token yet (there is no login to hold one): forging this POST would need an
        # admin token of this server, which already opens everything.
        token = self.form(req).get("token", "").strip()
        with self.engine.begin() as conn:
            identity = authenticate_token(conn, token, kinds=(TokenKind.ADMIN,)) if token else None
            if identity is not None:
                secret, _ = page_sessions.start_session(conn, identity.token_id)
        if identity is None:  # the same words whatever was wrong: no hint
            self.html(
                resp, "login.html", 401, error="That is not a valid admin token.", home_url=f"{PREFIX}/login"
            )
            return
        page_auth.set_session_cookie(req, resp, secret, self.trusted)
        raise falcon.HTTPSeeOther(PREFIX)


class _Logout(_Page):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = page_auth.check_csrf(page_auth.current_session(self.engine, req), self.form(req))
        with self.engine.begin() as conn:
            page_sessions.end_session(conn, session.id)
        page_auth.clear_session_cookie(resp)
        raise falcon.HTTPSeeOther(f"{PREFIX}/login")


class _Tenant(_Page):
    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        self.tenant_page(resp, name, session=self.admin(req), params=req.params)

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        form = self.form(req)
        session = page_auth.check_csrf(page_auth.current_session(self.engine, req), form)
        action = form.get("action", "")
        act = {"retry": self._retry, "link": self._link, "sync": self._sync}.get(action)
        if act is None:
            raise falcon.HTTPBadRequest(title="Bad request", description=f"Unknown action {action[:40]!r}.")
        with self.engine.begin() as conn:
            try:
                tenant = tenants.get_tenant(conn, name)
            except tenants.TenantNotFound:
                raise _no_tenant(name) from None
            try:
                with conn.begin_nested():  # a refused action leaves nothing half done
                    kind, message, anchor = act(conn, tenant, form)
            except (QueueError, RecordError, jobs.JobNotFound) as exc:
                kind, message, anchor = "error", str(exc), "#" + {"link": "mapping"}.get(action, "failures")
        signed = page_auth.flash_signature(session, f"{kind}:{message}")
        query = urllib.parse.urlencode({"flash": message, "kind": kind, "sig": signed})
        raise falcon.HTTPSeeOther(f"{tenant_url(tenant.name)}?{query}{anchor}")

    def _retry(self, conn: Any, tenant: tenants.TenantInfo, form: dict[str, str]) -> tuple[str, str, str]:
        raw = form.get("job_id", "")
        job = jobs.get_job(conn, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
        if job is None or job.tenant != tenant.name:
            raise jobs.JobNotFound(f"{tenant.name} has no job {raw[:20]!r}.")
        resend = form.get("resend") == "yes"
        if job.status == JobStatus.UNCONFIRMED and not resend:
            return (
                "error",
                f"Job {job.id} was sent and QuickBooks' answer was lost, so QuickBooks may already have it:"
                " look in QuickBooks first, then tick the Resend box to send it again.",
                "#failures",
            )
        jobs.retry_job(conn, job.id, resend=resend)
        queued = f"Job {job.id} ({job.kind}) is queued again: it goes at the Web Connector's next poll."
        return "ok", queued, "#failures"

    def _link(self, conn: Any, tenant: tenants.TenantInfo, form: dict[str, str]) -> tuple[str, str, str]:
        customer_id, list_id = form.get("customer_id", ""), form.get("qb_list_id", "")
        if not list_id:
            return "error", "Pick the QuickBooks customer to link to first.", "#mapping"
        written = records.link_customer(conn, tenant.id, customer_id, list_id)
        name = written.record.get("name") or customer_id
        return (
            "ok",
            f"Customer {name} ({customer_id}) is linked to QuickBooks customer {list_id}: it and whatever"
            " waited on it go at the Web Connector's next poll.",
            "#mapping",
        )

    def _sync(self, conn: Any, tenant: tenants.TenantInfo, form: dict[str, str]) -> tuple[str, str, str]:
        done = pulls.sync_now(conn, tenant.id)
        words = [
            f"Sync now: {len(done.due)} pulls are due and {done.queued_jobs} jobs wait for the Web"
            " Connector's next poll."
        ]
        if done.stuck:
            words.append(f"Failed last time, retry them first: {', '.join(done.stuck)}.")
        if done.off:
            words.append(f"Turned off: {', '.join(done.off)}.")
        return "ok", " ".join(words), ""


class _StatusLink(_Page):
    """A tenant's read-only page, opened by its status link's token."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        identity = page_auth.link_identity(self.engine, token)
        if identity is None or identity.tenant_name is None:
            raise falcon.HTTPNotFound(
                title="Not found", description="This status link is not valid: it may have been revoked."
            )
        self.tenant_page(resp, identity.tenant_name, session=None, params={})

    def on_post(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        raise Forbidden("A status link is read-only: log in as an admin to change anything.")


class _SecurityHeaders:
    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        resp.set_headers(page_auth.SECURITY_HEADERS)


def build_status_page(engine: Engine, settings: Settings) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI app of /status (app.py sends it every path under the prefix)."""
    renderer = Renderer()
    app = falcon.App(media_type=_HTML, middleware=[_SecurityHeaders()])
    app.req_options.strip_url_path_trailing_slash = True
    app.resp_options.secure_cookies_by_default = False  # set per request: page_auth.is_https

    def html_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError, params: Any) -> None:
        resp.status = exc.status
        resp.content_type = _HTML
        resp.set_headers(exc.headers or {})
        resp.text = renderer.render(
            "message.html",
            title=exc.title or "Error",
            message=exc.description or "",
            show_login=exc.status_code in (401, 403),
        )

    def server_error(req: falcon.Request, resp: falcon.Response, exc: Exception, params: Any) -> None:
        # Falcon picks the most specific handler: raised redirects (HTTPStatus) keep their own.
        log.exception("status page: %s", type(exc).__name__)  # never the path: it may hold a link token
        failed = falcon.HTTPInternalServerError(description="Something went wrong; see the server's log.")
        html_error(req, resp, failed, params)

    app.add_error_handler(Exception, server_error)
    app.add_error_handler(falcon.HTTPError, html_error)
    page = (engine, settings, renderer)
    app.add_route(PREFIX, _Index(*page))
    app.add_route(f"{PREFIX}/login", _Login(*page))
    app.add_route(f"{PREFIX}/logout", _Logout(*page))
    app.add_route(PREFIX + "/tenants/{name:path}", _Tenant(*page))
    app.add_route(PREFIX + "/t/{token}", _StatusLink(*page))
    return app
