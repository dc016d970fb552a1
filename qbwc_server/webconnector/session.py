"""The Web Connector protocol: one method per SOAP operation, all state in Postgres.

Knows QBWC semantics (tickets, progress, NoOp, nvu/none) and the queue; knows nothing of SOAP
envelopes (service.py) or of what a job does (sync/). The common path of every stateful call is
one statement (statements.py); rarer paths (expiry, errors) take a short transaction. Any worker
can serve any call of any session.
"""

from __future__ import annotations

import logging
import secrets

from psycopg2.errors import UniqueViolation
from sqlalchemy import Connection, Engine, text

from qbwc_server import __version__, queue
from qbwc_server.config import Settings
from qbwc_server.db import SingleStatements
from qbwc_server.qbxml.core import (
    MIN_VERSION,
    QbxmlError,
    QbxmlVersion,
    negotiate_version,
    parse_xml,
    response_messages,
)
from qbwc_server.qbxml.errors import Outcome, describe_hresult, explain_hresult
from qbwc_server.qbxml.host import HostInfo
from qbwc_server.sync import schedule
from qbwc_server.sync.pull import PullHandler
from qbwc_server.sync.registry import handler_for
from qbwc_server.webconnector import statements as sql
from qbwc_server.webconnector.auth import PasswordVerifier, lockout_seconds
from qbwc_server.webconnector.summary import counts_from_json, summarize

log = logging.getLogger(__name__)

#: authenticate()[1] values the Web Connector understands.
NOT_VALID_USER = "nvu"
NO_WORK = "none"
#: getLastError value that makes the Web Connector wait a few seconds and ask again.
NOOP = "NoOp"
#: Work due within this many seconds keeps a session open (NoOp) rather than ending it.
NOOP_WINDOW_SECONDS = 10
#: An expired iterator restarts its pull at once this many times, then backs off like any retry.
RESTARTS_BEFORE_BACKOFF = 3

BAD_TICKET = (
    "This Web Connector session is unknown or has expired. Nothing was lost: the Web Connector"
    " starts a new session on its next run."
)
NOTHING_LEFT = "Nothing left to do in this session."


class WebConnectorSessions:
    """Answers the Web Connector's calls. One instance per process; it holds no session state."""

    def __init__(self, engine: Engine, settings: Settings, verifier: PasswordVerifier | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.verifier = verifier or PasswordVerifier(settings.fast_verifier_seconds)
        url = engine.url.render_as_string(hide_password=False)
        self.single = SingleStatements(url, max_connections=settings.db_pool_size)
        # Opening and closing a session need not wait for the disk: if a database crash lost
        # either, the Web Connector's next call finds the older state and nothing else is lost
        # (no job changes hands in them). Leasing a job always waits (self.single): a lease lost
        # after the request went out would let it go out again as if never sent.
        self.bookkeeping = SingleStatements(url, max_connections=settings.db_pool_size, durable=False)
        self.idle = settings.session_idle_seconds

    # -- stateless ---------------------------------------------------------------------------

    def server_version(self) -> str:
        return f"qbwc-server {__version__}"

    def client_version(self, version: str | None) -> str:
        """Accept every Web Connector that speaks this protocol (2.x); warn on 1.x."""
        major = (version or "").split(".", 1)[0]
        if major.isdigit() and int(major) < 2:
            return f"W:Web Connector {version} is old; please install the current QuickBooks Web Connector."
        return ""

    # -- authenticate ------------------------------------------------------------------------

    def authenticate(self, username: str | None, password: str | None) -> list[str]:
        """[ticket, ""|company file] to start; ["", "nvu"] for bad credentials; ["", "none", wait]."""
        row = self.single.one(sql.AUTH_LOOKUP, {"username": username or "", "idle": self.idle})
        if row is None:
            log.info("authenticate: unknown username %r", username)
            return ["", NOT_VALID_USER]
        (
            tenant_id,
            kind,
            stored,
            company_file,
            failures,
            locked,
            open_ticket,
            open_wait,
            runnable,
            next_due,
            pulls_due,
        ) = row
        if locked:
            log.warning("authenticate: %r is locked out after repeated bad passwords", username)
            return ["", NOT_VALID_USER]
        if not self.verifier.verify(kind, stored, password or ""):
            self._record_failed_login(tenant_id, failures + 1)
            return ["", NOT_VALID_USER]
        if open_ticket is not None and open_wait > 0:
            # Another session of this company is still working; come back when it must be over.
            log.info("authenticate: tenant %s already has a live session", tenant_id)
            self.bookkeeping.one(sql.AUTH_SEEN, {"tenant_id": tenant_id})
            return ["", NO_WORK, str(open_wait)]
        if open_ticket is not None or pulls_due:
            with self.engine.begin() as conn:
                if open_ticket is not None:
                    self._end_session(conn, open_ticket, "expired", BAD_TICKET)
                if pulls_due:
                    schedule.enqueue_due_pulls(conn, tenant_id)
                runnable = queue.count_runnable(conn, tenant_id)
        if runnable == 0:
            self.bookkeeping.one(sql.AUTH_SEEN, {"tenant_id": tenant_id})
            wait = self.settings.idle_postpone_seconds
            return ["", NO_WORK, str(max(1, wait if next_due is None else min(next_due, wait)))]
        ticket = secrets.token_hex(16)  # 128 bits: the ticket is the session's only credential
        try:
            self.bookkeeping.one(
                sql.AUTH_START, {"ticket": ticket, "tenant_id": tenant_id, "company_file": company_file}
            )
        except UniqueViolation:  # a concurrent authenticate of the same tenant won the race
            return ["", NO_WORK, "30"]
        return [ticket, company_file or ""]

    def _record_failed_login(self, tenant_id: int, failures: int) -> None:
        lock = lockout_seconds(
            failures, self.settings.auth_failures_before_lockout, self.settings.auth_max_lockout_seconds
        )
        log.warning("authenticate: bad password for tenant %s (%s in a row)", tenant_id, failures)
        self.single.one(sql.AUTH_FAILED, {"lock": lock, "tenant_id": tenant_id})

    # -- sendRequestXML ----------------------------------------------------------------------

    def send_request_xml(
        self,
        ticket: str | None,
        hcp_response: str | None,
        company_file: str | None,
        country: str | None,
        major: int | None,
        minor: int | None,
    ) -> str:
        """The next job's qbXML request, or "" (then getLastError says why, or NoOp to wait)."""
        host = _read_host(hcp_response, country)
        supported = list(host.supported_versions) or ([QbxmlVersion(major, minor or 0)] if major else [])
        version = negotiate_version(supported)
        row = self.single.one(
            sql.SEND_CLAIM,
            {
                "ticket": ticket or "",
                "idle": self.idle,
                "from_hcp": bool(hcp_response and hcp_response.strip()),
                "version": str(version) if version else None,
                "product": host.product,
                "host_version": host.version,
                "country": host.country or country or None,
            },
        )
        if row is None:
            self._expire_if_idle(ticket)
            return ""
        tenant_id, version_text, job_id, kind, entity_ref, body, attempts, params = row
        if version_text is None:
            return self._refuse_old_quickbooks(ticket or "", tenant_id, supported)
        if job_id is None:
            return self._nothing_to_send(ticket or "", tenant_id)
        job = queue.ClaimedJob(job_id, kind, entity_ref, body, attempts, params)
        handler = handler_for(kind)
        if handler is None:
            with self.engine.begin() as conn:
                queue.fail_job(conn, job_id, queue.FailureOutcome.NEEDS_ADMIN, f"unknown job kind {kind!r}")
                self._touch(conn, ticket or "", error=NOOP, failed=1)
            return ""
        return handler.build_request(job, QbxmlVersion.parse(version_text) or QbxmlVersion(*MIN_VERSION))

    def _refuse_old_quickbooks(self, ticket: str, tenant_id: int, supported: list[QbxmlVersion]) -> str:
        best = max(supported, default=None)
        error = (
            f"QuickBooks supports qbXML {best or 'versions we could not read'}; qbwc-server needs"
            f" {QbxmlVersion(*MIN_VERSION)} or newer. Update QuickBooks Desktop to a supported release."
        )
        with self.engine.begin() as conn:
            self._touch(conn, ticket, error=error)
            self._record_tenant_problem(conn, tenant_id, error)
        return ""

    def _nothing_to_send(self, ticket: str, tenant_id: int) -> str:
        """Work was there at authenticate; if some comes due in seconds, wait for it (NoOp), else stop."""
        with self.engine.begin() as conn:
            soon = queue.count_runnable(conn, tenant_id, within_seconds=NOOP_WINDOW_SECONDS)
            self._touch(conn, ticket, error=NOOP if soon else NOTHING_LEFT)
        return ""

    # -- receiveResponseXML ------------------------------------------------------------------

    def receive_response_xml(
        self, ticket: str | None, response: str | None, hresult: str | None, message: str | None
    ) -> int:
        """Apply the response and finish its job in one transaction; percent done, or -1."""
        row = self.single.one(sql.RECEIVE_LOOKUP, {"ticket": ticket or "", "idle": self.idle})
        if row is None:
            self._expire_if_idle(ticket)
            return -1
        tenant_id, _sent, job_id, kind, entity_ref, body, attempts, params, current_job_id = row
        ticket = ticket or ""
        if current_job_id is None:
            with self.engine.begin() as conn:
                self._touch(conn, ticket, error="No request was outstanding for this response.")
            return -1
        if job_id is None:  # finished or reclaimed meanwhile (e.g. an admin cancelled it)
            with self.engine.begin() as conn:
                return self._progress(conn, ticket, tenant_id)
        job = queue.ClaimedJob(job_id, kind, entity_ref, body, attempts, params)
        if hresult and hresult.strip():
            return self._fail(
                ticket, job, _hresult_outcome(hresult), describe_hresult(hresult, message or "")
            )
        handler = handler_for(kind)
        assert handler is not None  # it built the request
        if isinstance(handler, PullHandler):  # streamed: never holds the whole response as a tree
            return self._receive_pull(ticket, tenant_id, job, handler, response or "")
        try:
            messages = response_messages(parse_xml(response or ""))
        except QbxmlError as exc:
            error = f"QuickBooks' response could not be read ({exc}); the request will be sent again."
            return self._fail(ticket, job, queue.FailureOutcome.RETRY, error)
        applied = handler.read_response(job, messages)
        finish = {
            "job_id": job_id,
            "response_xml": response if handler.keeps_response else None,
            "status_code": applied.status_code,
            "message": applied.message,
            "ticket": ticket,
            "tenant_id": tenant_id,
            "within": NOOP_WINDOW_SECONDS,
        }
        # A read-only request's outcome need not wait for the WAL flush: if a database crash lost
        # it, the job is still leased, goes back to the queue and is simply asked again. Anything
        # that wrote to QuickBooks waits, so its outcome is never forgotten (exactly once).
        read_only = handler.is_read_only(job)
        if applied.failure is None and not handler.writes_mirror:
            pool = self.bookkeeping if read_only else self.single
            finished = pool.one(sql.FINISH, finish)  # nothing else to land: one statement
            return int(finished[1]) if finished else 100
        with self.engine.begin() as conn:
            if read_only:
                conn.execute(text("SET LOCAL synchronous_commit = off"))
            if applied.failure is not None:
                queue.fail_job(
                    conn,
                    job_id,
                    applied.failure,
                    applied.message or "failed",
                    status_code=applied.status_code,
                )
                return self._progress(conn, ticket, tenant_id, failed=1)
            handler.apply_response(conn, job, messages)
            ((_, percent),) = sql.FINISH.on(conn, finish)
            return int(percent)

    def _receive_pull(
        self,
        ticket: str,
        tenant_id: int,
        job: queue.ClaimedJob,
        handler: PullHandler,
        response: str,
    ) -> int:
        """Apply one page of a pull; finish it, or queue its next page (or its restart) at once."""
        try:
            with self.engine.begin() as conn:
                # Read-only: if a crash loses this commit, the leased job is simply asked again.
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                result = handler.receive(conn, tenant_id, job, response)
                if result.failure is not None or (result.restart and job.attempts >= RESTARTS_BEFORE_BACKOFF):
                    failure = result.failure or queue.FailureOutcome.RETRY
                    code = result.status.code if result.status else None
                    queue.fail_job(conn, job.id, failure, result.message or "failed", status_code=code)
                    log.warning("pull job %s failed (%s): %s", job.id, failure.value, result.message)
                    return self._progress(conn, ticket, tenant_id, failed=1)
                if not result.finished:
                    queue.continue_job(
                        conn,
                        job.id,
                        result.params,
                        remaining=result.remaining or None,
                        records=result.changed,
                        fresh=not result.restart,
                    )
                    return self._progress(conn, ticket, tenant_id)
                queue.note_records(conn, job.id, result.params, result.changed)
                finish = {
                    "job_id": job.id,
                    "response_xml": None,
                    "status_code": result.status.code if result.status else None,
                    "message": None,
                    "ticket": ticket,
                    "tenant_id": tenant_id,
                    "within": NOOP_WINDOW_SECONDS,
                }
                ((_, percent),) = sql.FINISH.on(conn, finish)
                return int(percent)
        except QbxmlError as exc:
            error = f"QuickBooks' response could not be read ({exc}); the request will be sent again."
            return self._fail(ticket, job, queue.FailureOutcome.RETRY, error)

    def _fail(self, ticket: str, job: queue.ClaimedJob, outcome: queue.FailureOutcome, error: str) -> int:
        """QuickBooks could not run the request, or its answer was unusable: -1, and getLastError says why."""
        with self.engine.begin() as conn:
            queue.fail_job(conn, job.id, outcome, error)
            self._touch(conn, ticket, error=error, failed=1)
        log.warning("job %s failed (%s): %s", job.id, outcome.value, error)
        return -1

    @staticmethod
    def _progress(conn: Connection, ticket: str, tenant_id: int, *, failed: int = 0) -> int:
        """Note the call on the session and answer with the progress so far."""
        params = {"ticket": ticket, "failed": failed, "tenant_id": tenant_id, "within": NOOP_WINDOW_SECONDS}
        row = sql.TOUCH_AND_COUNT.on(conn, params)
        return int(row[0][0]) if row else 100

    # -- errors and closing ------------------------------------------------------------------

    def get_last_error(self, ticket: str | None) -> str:
        row = self.single.one(sql.SESSION_STATE, {"ticket": ticket or ""})
        if row is None:
            return BAD_TICKET
        state, last_error, _ = row
        return last_error or ("" if state == "open" else BAD_TICKET)

    def connection_error(self, ticket: str | None, hresult: str | None, message: str | None) -> str:
        """QuickBooks could not be reached: tell the admin how to fix it, give the work back, stop."""
        error = describe_hresult(hresult or "", message or "")
        with self.engine.begin() as conn:
            tenant_id = conn.execute(
                text("SELECT tenant_id FROM qbwc_sessions WHERE ticket = :t AND state = 'open'"),
                {"t": ticket or ""},
            ).scalar_one_or_none()
            if tenant_id is not None:
                self._end_session(conn, ticket or "", "failed", error)
                self._record_tenant_problem(conn, tenant_id, error)
                log.warning("connectionError for tenant %s: %s", tenant_id, error)
        return "done"

    def close_connection(self, ticket: str | None) -> str:
        """End the session; the one-line summary the Web Connector shows the user."""
        row = self.bookkeeping.one(sql.CLOSE, {"ticket": ticket or ""})
        if row is None:  # unknown, or already ended: say again what it did
            ended = self.single.one(sql.SESSION_STATE, {"ticket": ticket or ""})
            if ended is None:
                return "Session not found: " + BAD_TICKET
            return summarize(counts_from_json(ended[2]))
        return summarize(counts_from_json(row[1]))

    # -- helpers -----------------------------------------------------------------------------

    def _expire_if_idle(self, ticket: str | None) -> None:
        """A call on an open session that went quiet too long: end it now and give back its work."""
        with self.engine.begin() as conn:
            stale = conn.execute(
                text("""
                    SELECT 1 FROM qbwc_sessions WHERE ticket = :t AND state = 'open'
                      AND last_call_at <= now() - make_interval(secs => :idle) FOR UPDATE
                """),
                {"t": ticket or "", "idle": self.idle},
            ).first()
            if stale is not None:
                self._end_session(conn, ticket or "", "expired", BAD_TICKET)

    @staticmethod
    def _touch(conn: Connection, ticket: str, *, error: str | None, failed: int = 0) -> None:
        conn.execute(
            text("""
                UPDATE qbwc_sessions SET last_call_at = now(), current_job_id = NULL, last_error = :error,
                       jobs_failed = jobs_failed + :failed
                WHERE ticket = :ticket
            """),
            {"ticket": ticket, "error": error, "failed": failed},
        )

    @staticmethod
    def _end_session(conn: Connection, ticket: str, state: str, error: str | None) -> None:
        conn.execute(
            text("""
                UPDATE qbwc_sessions SET state = :state, closed_at = now(), last_call_at = now(),
                    last_error = coalesce(:error, last_error), current_job_id = NULL
                WHERE ticket = :t
            """),
            {"state": state, "error": error, "t": ticket},
        )
        released = queue.release_leases(conn, ticket)
        if released:
            log.info("session %s… ended (%s); %s job(s) back in the queue", ticket[:8], state, released)

    @staticmethod
    def _record_tenant_problem(conn: Connection, tenant_id: int, error: str) -> None:
        conn.execute(
            text("UPDATE tenants SET connection_error = :e, connection_error_at = now() WHERE id = :id"),
            {"e": error, "id": tenant_id},
        )


def _read_host(hcp_response: str | None, country: str | None) -> HostInfo:
    """QuickBooks' self-description from the HCP response (first sendRequestXML only)."""
    if hcp_response and hcp_response.strip():
        try:
            return HostInfo.from_hcp_response(hcp_response)
        except QbxmlError as exc:
            log.warning("sendRequestXML: unreadable HCP response (%s); using qbXMLMajorVers", exc)
    return HostInfo(product=None, version=None, country=country, supported_versions=())


def _hresult_outcome(hresult: str) -> queue.FailureOutcome:
    transient = explain_hresult(hresult).outcome is Outcome.RETRY
    return queue.FailureOutcome.RETRY if transient else queue.FailureOutcome.NEEDS_ADMIN
