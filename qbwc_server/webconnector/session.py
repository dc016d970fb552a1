"""The Web Connector protocol: one method per SOAP operation, all state in Postgres.

Knows QBWC semantics (tickets, progress, NoOp, nvu/none) and the queue; knows nothing of SOAP
envelopes (service.py) or of what a job does (sync/). Every stateful call is one short
transaction, so any worker can serve any call of any session.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, text

from qbwc_server import __version__, queue
from qbwc_server.config import Settings
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
from qbwc_server.sync.registry import handler_for, nouns_for
from qbwc_server.webconnector.auth import PasswordVerifier, lockout_seconds

log = logging.getLogger(__name__)

#: authenticate()[1] values the Web Connector understands.
NOT_VALID_USER = "nvu"
NO_WORK = "none"
#: getLastError value that makes the Web Connector wait a few seconds and ask again.
NOOP = "NoOp"
#: Work due within this many seconds keeps a session open (NoOp) rather than ending it.
NOOP_WINDOW_SECONDS = 10

BAD_TICKET = (
    "This Web Connector session is unknown or has expired. Nothing was lost: the Web Connector"
    " starts a new session on its next run."
)

_SESSION = text("""
    SELECT s.tenant_id, s.state, s.qbxml_version, s.current_job_id, s.jobs_done, s.jobs_failed,
           s.last_call_at > now() - make_interval(secs => :idle) AS alive
    FROM qbwc_sessions s WHERE s.ticket = :ticket
""")

_TOUCH_SESSION = text("""
    UPDATE qbwc_sessions SET last_call_at = now(), current_job_id = :job_id, last_error = :error,
        requests_sent = requests_sent + :sent, jobs_done = jobs_done + :done,
        jobs_failed = jobs_failed + :failed
    WHERE ticket = :ticket
""")


class WebConnectorSessions:
    """Answers the Web Connector's calls. One instance per process; it holds no session state."""

    def __init__(self, engine: Engine, settings: Settings, verifier: PasswordVerifier | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.verifier = verifier or PasswordVerifier(settings.fast_verifier_seconds)

    # -- stateless -------------------------------------------------------------------------

    def server_version(self) -> str:
        return f"qbwc-server {__version__}"

    def client_version(self, version: str | None) -> str:
        """Accept every Web Connector that speaks this protocol (2.x); warn on 1.x."""
        major = (version or "").split(".", 1)[0]
        if major.isdigit() and int(major) < 2:
            return f"W:Web Connector {version} is old; please install the current QuickBooks Web Connector."
        return ""

    # -- authenticate ----------------------------------------------------------------------

    def authenticate(self, username: str | None, password: str | None) -> list[str]:
        """[ticket, ""|company file] to start; ["", "nvu"] for bad credentials; ["", "none", wait]."""
        with self.engine.begin() as conn:
            tenant = conn.execute(
                text("""
                    SELECT id, password_kind, password_hash, company_file, failed_logins,
                           coalesce(locked_until > now(), false) AS locked
                    FROM tenants WHERE username = :username
                """),
                {"username": username or ""},
            ).first()
        if tenant is None:
            log.info("authenticate: unknown username %r", username)
            return ["", NOT_VALID_USER]
        if tenant.locked:
            log.warning("authenticate: %r is locked out after repeated bad passwords", username)
            return ["", NOT_VALID_USER]
        if not self.verifier.verify(tenant.password_kind, tenant.password_hash, password or ""):
            self._record_failed_login(tenant.id, tenant.failed_logins + 1)
            return ["", NOT_VALID_USER]
        return self._start_session(tenant.id, tenant.company_file, reset_failures=tenant.failed_logins > 0)

    def _record_failed_login(self, tenant_id: int, failures: int) -> None:
        lock = lockout_seconds(
            failures, self.settings.auth_failures_before_lockout, self.settings.auth_max_lockout_seconds
        )
        log.warning("authenticate: bad password for tenant %s (%s in a row)", tenant_id, failures)
        with self.engine.begin() as conn:
            conn.execute(
                text("""
                    UPDATE tenants SET failed_logins = :failures,
                        locked_until = CASE WHEN :lock > 0 THEN now() + make_interval(secs => :lock) END
                    WHERE id = :id
                """),
                {"failures": failures, "lock": lock, "id": tenant_id},
            )

    def _start_session(self, tenant_id: int, company_file: str | None, *, reset_failures: bool) -> list[str]:
        idle = self.settings.session_idle_seconds
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE tenants SET last_seen_at = now()"
                    + (", failed_logins = 0, locked_until = NULL" if reset_failures else "")
                    + " WHERE id = :id"
                ),
                {"id": tenant_id},
            )
            live = conn.execute(
                text("""
                    SELECT ticket, ceil(extract(epoch FROM
                               last_call_at + make_interval(secs => :idle) - now()))::int AS wait
                    FROM qbwc_sessions WHERE tenant_id = :tenant_id AND state = 'open' FOR UPDATE
                """),
                {"tenant_id": tenant_id, "idle": idle},
            ).first()
            if live is not None and live.wait > 0:
                # Another session of this company is still working; come back when it must be over.
                log.info("authenticate: tenant %s already has a live session", tenant_id)
                return ["", NO_WORK, str(live.wait)]
            if live is not None:
                self._end_session(conn, live.ticket, "expired", BAD_TICKET)
            if queue.count_runnable(conn, tenant_id) == 0:
                due = queue.seconds_until_next_due(conn, tenant_id)
                wait = (
                    self.settings.idle_postpone_seconds
                    if due is None
                    else min(due, self.settings.idle_postpone_seconds)
                )
                return ["", NO_WORK, str(max(wait, 1))]
            ticket = secrets.token_hex(16)  # 128 bits: the ticket is the session's only credential
            conn.execute(
                text(
                    "INSERT INTO qbwc_sessions (ticket, tenant_id, company_file) VALUES (:t, :tenant_id, :f)"
                ),
                {"t": ticket, "tenant_id": tenant_id, "f": company_file},
            )
        return [ticket, company_file or ""]

    # -- sendRequestXML --------------------------------------------------------------------

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
        with self.engine.begin() as conn:
            session = self._open_session(conn, ticket)
            if session is None:
                return ""
            version = QbxmlVersion.parse(session.qbxml_version or "")
            if version is None:
                version = self._negotiate(
                    conn, ticket or "", session.tenant_id, hcp_response, major, minor, country
                )
                if version is None:
                    return ""
            job = queue.claim_next_job(conn, session.tenant_id, ticket or "")
            if job is None:
                # Work was there at authenticate; if some comes due soon, wait for it, else stop.
                soon = queue.count_runnable(conn, session.tenant_id, within_seconds=NOOP_WINDOW_SECONDS)
                error = NOOP if soon else "Nothing left to do in this session."
                conn.execute(_TOUCH_SESSION, _touch(ticket, None, error))
                return ""
            handler = handler_for(job.kind)
            if handler is None:
                queue.fail_job(
                    conn, job.id, queue.FailureOutcome.NEEDS_ADMIN, f"unknown job kind {job.kind!r}"
                )
                conn.execute(_TOUCH_SESSION, _touch(ticket, None, NOOP, failed=1))
                return ""
            request = handler.build_request(job, version)
            conn.execute(_TOUCH_SESSION, _touch(ticket, job.id, None, sent=1))
        return request

    def _negotiate(
        self,
        conn: Connection,
        ticket: str,
        tenant_id: int,
        hcp_response: str | None,
        major: int | None,
        minor: int | None,
        country: str | None,
    ) -> QbxmlVersion | None:
        """Read the HCP response onto the tenant and fix the session's qbXML version."""
        host = HostInfo(product=None, version=None, country=country, supported_versions=())
        if hcp_response and hcp_response.strip():
            try:
                host = HostInfo.from_hcp_response(hcp_response)
            except QbxmlError as exc:
                log.warning("sendRequestXML: unreadable HCP response (%s); using qbXMLMajorVers", exc)
        supported = list(host.supported_versions)
        if not supported and major is not None:
            supported = [QbxmlVersion(major, minor or 0)]
        version = negotiate_version(supported)
        conn.execute(
            text("""
                UPDATE tenants SET host_product = coalesce(:product, host_product),
                    host_version = coalesce(:hversion, host_version),
                    host_country = coalesce(:country, host_country), qbxml_version = :version
                WHERE id = :id
            """),
            {
                "product": host.product,
                "hversion": host.version,
                "country": host.country or country or None,
                "version": str(version) if version else None,
                "id": tenant_id,
            },
        )
        if version is None:
            best = max(supported, default=None)
            error = (
                f"QuickBooks supports qbXML {best or 'versions we could not read'}; qbwc-server needs"
                f" {QbxmlVersion(*MIN_VERSION)} or newer. Update QuickBooks Desktop to a supported release."
            )
            conn.execute(_TOUCH_SESSION, _touch(ticket, None, error))
            self._record_tenant_problem(conn, tenant_id, error)
            return None
        conn.execute(
            text("UPDATE qbwc_sessions SET qbxml_version = :v WHERE ticket = :t"),
            {"v": str(version), "t": ticket},
        )
        return version

    # -- receiveResponseXML ----------------------------------------------------------------

    def receive_response_xml(
        self, ticket: str | None, response: str | None, hresult: str | None, message: str | None
    ) -> int:
        """Apply the response and finish its job in one transaction; percent done, or -1."""
        with self.engine.begin() as conn:
            session = self._open_session(conn, ticket)
            if session is None:
                return -1
            job_id = session.current_job_id
            if job_id is None:
                conn.execute(
                    _TOUCH_SESSION, _touch(ticket, None, "No request was outstanding for this response.")
                )
                return -1
            job = conn.execute(
                text(
                    "SELECT id, kind, entity_ref, request_body, attempts FROM jobs"
                    " WHERE id = :id AND status = 'sent'"
                ),
                {"id": job_id},
            ).first()
            if job is None:  # finished or reclaimed meanwhile (e.g. an admin cancelled it)
                conn.execute(_TOUCH_SESSION, _touch(ticket, None, None))
                return self._progress(conn, session.tenant_id, session.jobs_done)
            claimed = queue.ClaimedJob(*job)
            if hresult and hresult.strip():
                explanation = explain_hresult(hresult)
                error = describe_hresult(hresult, message or "")
                outcome = (
                    queue.FailureOutcome.RETRY
                    if explanation.outcome is Outcome.RETRY
                    else queue.FailureOutcome.NEEDS_ADMIN
                )
                queue.fail_job(conn, job_id, outcome, error)
                conn.execute(_TOUCH_SESSION, _touch(ticket, None, error, failed=1))
                return -1
            try:
                messages = response_messages(parse_xml(response or ""))
            except QbxmlError as exc:
                error = f"QuickBooks' response could not be read ({exc}); the request will be sent again."
                queue.fail_job(conn, job_id, queue.FailureOutcome.RETRY, error)
                conn.execute(_TOUCH_SESSION, _touch(ticket, None, error, failed=1))
                return -1
            handler = handler_for(claimed.kind)
            assert handler is not None  # it built the request
            applied = handler.apply_response(conn, claimed, messages, response or "")
            if applied.failure is None:
                queue.complete_job(
                    conn,
                    job_id,
                    response_xml=response if claimed.kind == "qbxml.raw" else None,
                    status_code=applied.status_code,
                    message=applied.message,
                )
                conn.execute(_TOUCH_SESSION, _touch(ticket, None, None, done=1))
                return self._progress(conn, session.tenant_id, session.jobs_done + 1)
            queue.fail_job(
                conn, job_id, applied.failure, applied.message or "failed", status_code=applied.status_code
            )
            conn.execute(_TOUCH_SESSION, _touch(ticket, None, None, failed=1))
            return self._progress(conn, session.tenant_id, session.jobs_done)

    @staticmethod
    def _progress(conn: Connection, tenant_id: int, done: int) -> int:
        """Truthful percent: jobs finished this session against those still to run; 100 = finished.

        Jobs due within a few seconds count as remaining: sendRequestXML answers NoOp and the
        Web Connector comes back for them, instead of ending the session.
        """
        remaining = queue.count_runnable(conn, tenant_id, within_seconds=NOOP_WINDOW_SECONDS)
        if remaining == 0:
            return 100
        return min(99, (100 * done) // (done + remaining))

    # -- errors and closing ----------------------------------------------------------------

    def get_last_error(self, ticket: str | None) -> str:
        with self.engine.begin() as conn:
            row = conn.execute(
                text("SELECT last_error, state FROM qbwc_sessions WHERE ticket = :t"), {"t": ticket or ""}
            ).first()
        if row is None:
            return BAD_TICKET
        return row.last_error or ("" if row.state == "open" else BAD_TICKET)

    def connection_error(self, ticket: str | None, hresult: str | None, message: str | None) -> str:
        """QuickBooks could not be reached: tell the admin how to fix it, give the work back, stop."""
        error = describe_hresult(hresult or "", message or "")
        with self.engine.begin() as conn:
            row = conn.execute(
                text("SELECT tenant_id FROM qbwc_sessions WHERE ticket = :t AND state = 'open'"),
                {"t": ticket or ""},
            ).first()
            if row is not None:
                self._end_session(conn, ticket or "", "failed", error)
                self._record_tenant_problem(conn, row.tenant_id, error)
                log.warning("connectionError for tenant %s: %s", row.tenant_id, error)
        return "done"

    def close_connection(self, ticket: str | None) -> str:
        """End the session; the one-line summary the Web Connector shows the user."""
        with self.engine.begin() as conn:
            row = conn.execute(
                text("SELECT tenant_id, state, summary FROM qbwc_sessions WHERE ticket = :t FOR UPDATE"),
                {"t": ticket or ""},
            ).first()
            if row is None:
                return "Session not found: " + BAD_TICKET
            if row.state != "open":
                return row.summary or "Session already ended."
            counts = conn.execute(
                text("""
                    SELECT kind, status, count(*) FROM jobs WHERE lease_ticket = :t AND status <> 'sent'
                    GROUP BY kind, status ORDER BY kind
                """),
                {"t": ticket},
            ).all()
            summary = summarize(counts)
            self._end_session(conn, ticket or "", "closed", None, summary=summary)
            if not any(status in ("failed", "dead", "blocked") for _, status, _ in counts):
                conn.execute(
                    text(
                        "UPDATE tenants SET connection_error = NULL, connection_error_at = NULL"
                        " WHERE id = :id AND connection_error IS NOT NULL"
                    ),
                    {"id": row.tenant_id},
                )
        return summary

    # -- helpers ---------------------------------------------------------------------------

    def _open_session(self, conn: Connection, ticket: str | None):  # type: ignore[no-untyped-def]
        """The session row if `ticket` names a live session; an idle one is expired on the spot."""
        row = conn.execute(
            _SESSION, {"ticket": ticket or "", "idle": self.settings.session_idle_seconds}
        ).first()
        if row is None or row.state != "open":
            return None
        if not row.alive:
            self._end_session(conn, ticket or "", "expired", BAD_TICKET)
            return None
        return row

    @staticmethod
    def _end_session(
        conn: Connection, ticket: str, state: str, error: str | None, *, summary: str | None = None
    ) -> None:
        conn.execute(
            text("""
                UPDATE qbwc_sessions SET state = :state, closed_at = now(), last_call_at = now(),
                    last_error = coalesce(:error, last_error), summary = :summary, current_job_id = NULL
                WHERE ticket = :t
            """),
            {"state": state, "error": error, "summary": summary, "t": ticket},
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


def _touch(
    ticket: str | None,
    job_id: int | None,
    error: str | None,
    *,
    sent: int = 0,
    done: int = 0,
    failed: int = 0,
) -> dict[str, object]:
    return {"ticket": ticket, "job_id": job_id, "error": error, "sent": sent, "done": done, "failed": failed}


def summarize(counts: Iterable[tuple[str, str, int]]) -> str:
    """'Done: 2 raw qbXML requests; 1 needs attention (see `qbwc-server status`).' from (kind, status, n)."""
    done: list[str] = []
    attention = 0
    retrying = 0
    for kind, status, n in counts:
        if status == "done":
            singular, plural = nouns_for(kind)
            done.append(f"{n} {singular if n == 1 else plural}")
        elif status in ("failed", "dead", "blocked"):
            attention += n
        else:
            retrying += n
    parts = [("Done: " + ", ".join(done)) if done else "Nothing was completed"]
    if attention:
        parts.append(
            f"{attention} {'needs' if attention == 1 else 'need'} attention (see qbwc-server status)"
        )
    if retrying:
        parts.append(f"{retrying} will be retried")
    return "; ".join(parts) + "."
