"""The Web Connector protocol: one method per SOAP operation, all state in Postgres.

Knows QBWC semantics (tickets, progress, NoOp, nvu/none) and the queue; knows nothing of SOAP
envelopes (service.py) or of what a job does (sync/). Applying answers lives in `answers.py`.
The common path of every stateful call is one statement (statements.py); rarer paths (expiry,
errors) take a short transaction. Any worker can serve any call of any session.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import time

import psycopg2.errors
from sqlalchemy import Connection, Engine, text

from qbwc_server import __version__, logs, metrics, queue
from qbwc_server.config import Settings
from qbwc_server.db import ConstraintViolation, Row, SingleStatements
from qbwc_server.logsafe import LOG_LIMIT, STORED_LIMIT, safe
from qbwc_server.models import SessionState
from qbwc_server.qbxml.core import (
    MIN_VERSION,
    QbxmlError,
    QbxmlVersion,
    negotiate_version,
    parse_xml,
    response_messages,
    wrap_request,
)
from qbwc_server.qbxml.errors import describe_hresult
from qbwc_server.qbxml.host import HostInfo
from qbwc_server.qbxml.preferences import CompanyPreferences
from qbwc_server.queue import retention
from qbwc_server.sync import registry, schedule
from qbwc_server.webconnector import raw_reads
from qbwc_server.webconnector import statements as sql
from qbwc_server.webconnector.answers import NOOP, NOOP_WINDOW_SECONDS, Answers, touch
from qbwc_server.webconnector.auth import PasswordVerifier, hash_generated
from qbwc_server.webconnector.lifecycle import ITERATOR_GRACE_SECONDS, OUTLIVED, end_session, note_ended
from qbwc_server.webconnector.login import Gate
from qbwc_server.webconnector.requests import Requests
from qbwc_server.webconnector.seen import SeenStamps

log = logging.getLogger(__name__)

#: authenticate()[1] values the Web Connector understands.
NOT_VALID_USER = "nvu"
NO_WORK = "none"

#: How long authenticate uses the plain look-up once its function turned out missing.
PLAIN_LOOKUP_SECONDS = 60

BAD_TICKET = (
    "This Web Connector session is unknown or has expired. Nothing was lost: the Web Connector"
    " starts a new session on its next run."
)
TAKEN_OVER = (
    "A newer Web Connector session of this company started, so this one was over: what it had sent"
    " without an answer was taken back (reads are asked again, writes checked before anything is resent)."
)
#: Sent once a live window passed with nothing to do: the session can only end with progress 100
#: in answer to a request, and this one is read-only and the cheapest QuickBooks answers.
CLOSING_REQUEST = '<HostQueryRq requestID="closing"/>'


class WebConnectorSessions:
    """Answers the Web Connector's calls. One instance per process; it holds no session state
    (only a hint that saves a round trip: raw_reads.py)."""

    def __init__(self, engine: Engine, settings: Settings, verifier: PasswordVerifier | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.verifier = verifier or PasswordVerifier(settings.fast_verifier_seconds)
        url = engine.url.render_as_string(hide_password=False)
        size, pooled = settings.db_pool_size, settings.db_pooled
        self.single = SingleStatements(url, max_connections=size, pooled=pooled)
        # Opening and closing a session, and the outcome of a read, need not wait for the disk:
        # if a database crash lost one, the next call finds the older state and at worst asks
        # QuickBooks again. Leasing a job, and any write's outcome, always wait (self.single): a
        # lease lost after the request went out would let it go out again as if never sent.
        self.bookkeeping = SingleStatements(url, max_connections=size, durable=False, pooled=pooled)
        self.idle = settings.session_idle_seconds
        self.keep_finished = retention.keep_for(settings.job_retention_days)
        self.gate = Gate(self.single, self.verifier, settings)
        self.seen = SeenStamps(self.bookkeeping)
        self.requests = Requests(engine, self.single)
        self.answers = Answers(engine, self.single, self.bookkeeping, lifetime=settings.session_max_seconds)
        self.raw_reads = raw_reads.SentRawReads()  # a hint, not state: see raw_reads.py
        self._plain_lookup_until = 0.0  # monotonic time until which the function is not tried

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

    def authenticate(
        self, username: str | None, password: str | None, source: str | None = None
    ) -> list[str]:
        """[ticket, ""|company file] to start; ["", "nvu"] for bad credentials; ["", "none", wait].

        `source` is the client's address; without it, the one the WSGI layer noted (client.py).
        """
        attempt = self.gate.attempt(username, source)
        ticket = secrets.token_hex(16)  # 128 bits: the ticket is the session's only credential
        digest = hash_generated(password or "")  # a generated password's verifier, checked in SQL
        row = self._look_up({**attempt, "ticket": ticket, "digest": digest})
        logs.bind(tenant=None if row is None else row["id"])  # None too for an unknown username
        if row is not None and ticket in (row["started"], row["open_ticket"]):  # started in the look-up
            return self._started(row["id"], ticket, row["company_file"])
        if row is None or not self.gate.admit(row, attempt, password or ""):
            metrics.login_refused()
            return ["", NOT_VALID_USER]
        tenant_id = row["id"]
        runnable = row["runnable"]
        if row["open_ticket"] is not None or row["pulls_due"]:
            with self.engine.begin() as conn:
                if row["open_ticket"] is not None:
                    # The Web Connector runs one session at a time for an application: a new
                    # authenticate with the right password means the old session is over.
                    end_session(conn, row["open_ticket"], SessionState.EXPIRED, TAKEN_OVER)
                if row["pulls_due"]:
                    schedule.enqueue_due_pulls(conn, tenant_id, self.keep_finished)
                runnable = queue.count_runnable(conn, tenant_id)
        if runnable == 0:
            if row["seen_now"]:
                self.bookkeeping.one(sql.AUTH_SEEN, {"tenant_id": tenant_id})
            elif row["seen_due"]:
                self.seen.note(tenant_id)
            wait = self.settings.idle_postpone_seconds
            next_due = row["next_due"]
            return ["", NO_WORK, str(max(1, wait if next_due is None else min(next_due, wait)))]
        company_file = row["company_file"]
        try:
            self.bookkeeping.one(
                sql.AUTH_START, {"ticket": ticket, "tenant_id": tenant_id, "company_file": company_file}
            )
        except ConstraintViolation:  # a concurrent authenticate of the same tenant won the race
            return ["", NO_WORK, "30"]
        return self._started(tenant_id, ticket, company_file)

    def _look_up(self, params: dict[str, object]) -> Row | None:
        """authenticate's statement: the function (one row read for an idle tenant) where it is
        installed, else the plain look-up, until a minute later, when the function is tried again."""
        if time.monotonic() >= self._plain_lookup_until:
            try:
                return self.bookkeeping.one(sql.AUTH_CALL, params)
            except psycopg2.errors.UndefinedFunction:
                self._plain_lookup_until = time.monotonic() + PLAIN_LOOKUP_SECONDS
                log.warning(
                    "authenticate's function %s is not in the database (its migrations ran with an"
                    " older release): idle polls cost more until `qbwc-server db upgrade` runs",
                    sql.AUTHENTICATE.server_name,
                )
        return self.bookkeeping.one(sql.AUTH_LOOKUP, params)

    def _started(self, tenant_id: int, ticket: str, company_file: str | None) -> list[str]:
        logs.bind(ticket=ticket)
        metrics.session_started(tenant_id)
        log.info("session started", extra={"event": "session.started"})
        return [ticket, company_file or ""]

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
        """The next message (one job's request, or a batch of one kind), or "" (then getLastError
        says why, or NoOp to wait)."""
        logs.bind(ticket=ticket)
        host, preferences = _read_host(hcp_response, country)
        supported = list(host.supported_versions) or ([QbxmlVersion(major, minor or 0)] if major else [])
        version = negotiate_version(supported)
        claim = {
            "ticket": ticket or "",
            "idle": self.idle,
            "from_hcp": bool(hcp_response and hcp_response.strip()),
            "company_file": company_file,
            "preferences": preferences,
            "version": str(version) if version else None,
            "product": host.product,
            "host_version": host.version,
            "country": host.country or country or None,
            "lifetime": self.settings.session_max_seconds,
            "grace": ITERATOR_GRACE_SECONDS,
        }
        outcome = self.requests.next_message(claim)
        if outcome.session is None:
            self._expire_if_idle(ticket)
            return ""
        tenant_id, version_text = outcome.session
        logs.bind(tenant=tenant_id)
        if version_text is None:
            return self._refuse_old_quickbooks(ticket or "", tenant_id, supported)
        if outcome.message is None:
            return self._nothing_to_send(ticket or "", tenant_id, QbxmlVersion.parse(version_text))
        if outcome.raw_read:
            self.raw_reads.sent(ticket or "")
        return outcome.message

    def _refuse_old_quickbooks(self, ticket: str, tenant_id: int, supported: list[QbxmlVersion]) -> str:
        best = max(supported, default=None)
        error = (
            f"QuickBooks supports qbXML {best or 'versions we could not read'}; qbwc-server needs"
            f" {QbxmlVersion(*MIN_VERSION)} or newer. Update QuickBooks Desktop to a supported release."
        )
        with self.engine.begin() as conn:
            touch(conn, ticket, error=error)
            self._record_tenant_problem(conn, tenant_id, error)
        return ""

    def _nothing_to_send(self, ticket: str, tenant_id: int, version: QbxmlVersion | None) -> str:
        """Nothing to lease now. Wait (NoOp: the Web Connector asks again in ~5 s) for work due in
        seconds or while the tenant's live window lasts; once it has passed, end normally
        (the closing request, answered with 100). Past its lifetime with work still due, the
        session ends here and the next run carries on."""
        lifetime = self.settings.session_max_seconds
        params = {"ticket": ticket, "within": NOOP_WINDOW_SECONDS, "lifetime": lifetime}
        with self.engine.begin() as conn:
            rows = sql.LIVE_WINDOW.on(conn, params)
            if not rows:
                return ""
            row = rows[0]
            windowed = row["window_seconds"] > 0
            if row["past_lifetime"] and (row["soon"] or not windowed):
                # Between pages, nothing outstanding: end it; the Web Connector's next run starts anew.
                end_session(conn, ticket, SessionState.EXPIRED, OUTLIVED)
                return ""
            if not row["past_lifetime"] and (row["soon"] or (windowed and row["in_window"])):
                touch(conn, ticket, error=NOOP)
                return ""
            # Nothing left (the window passed, or the last job was deferred at build time, e.g. a
            # payment waiting for its invoice): "" would end the session as an error in the Web
            # Connector, so the read-only closing request goes and its answer returns 100.
            sql.CLOSING_SENT.on(conn, {"ticket": ticket})
        return wrap_request(CLOSING_REQUEST, version or QbxmlVersion(*MIN_VERSION))

    # -- receiveResponseXML ------------------------------------------------------------------

    def receive_response_xml(
        self, ticket: str | None, response: str | None, hresult: str | None, message: str | None
    ) -> int:
        """Apply the answer to the jobs of the last message; percent done, or -1 when the session
        cannot go on (a bad ticket, nothing outstanding, QuickBooks itself failing)."""
        logs.bind(ticket=ticket)
        folded = None  # the common raw query's answer applied in one statement (raw_reads.py)
        if self.raw_reads.answered(ticket or "") and response and not (hresult and hresult.strip()):
            folded = raw_reads.finish(
                self.bookkeeping,
                ticket or "",
                response,
                idle=self.idle,
                lifetime=self.settings.session_max_seconds,
            )
            if folded is not None and folded[1] is not None:
                return folded[1]
        lookup = {"ticket": ticket or "", "idle": self.idle}
        rows = folded[0] if folded is not None else self.single.all(sql.RECEIVE_LOOKUP, lookup)
        if not rows:
            self._expire_if_idle(ticket)
            return -1
        tenant_id = rows[0]["session_tenant_id"]
        logs.bind(tenant=tenant_id)
        jobs = [queue.ClaimedJob.from_row(row) for row in rows if row["id"] is not None]
        if not jobs and rows[0]["session_progress"] >= 100:
            # The answer to the closing request (a live window that passed): the session is done.
            answered = self.bookkeeping.one(
                sql.CLOSING_ANSWERED, {"ticket": ticket or "", "lifetime": self.settings.session_max_seconds}
            )
            return int(answered["progress"]) if answered else 100
        if not jobs:
            with self.engine.begin() as conn:
                touch(conn, ticket or "", error="No request was outstanding for this response.")
            return -1
        if hresult and hresult.strip():
            # QuickBooks' text goes into what admins read: bounded, on one line (logsafe).
            said = safe(message, LOG_LIMIT)
            return self.answers.hresult(ticket or "", tenant_id, jobs, safe(hresult.strip(), 40), said)
        return self.answers.apply(ticket or "", tenant_id, jobs, response or "")

    # -- errors and closing ------------------------------------------------------------------

    def get_last_error(self, ticket: str | None) -> str:
        logs.bind(ticket=ticket)
        row = self.single.one(sql.SESSION_STATE, {"ticket": ticket or ""})
        if row is None:
            return BAD_TICKET
        return str(row["last_error"] or ("" if row["state"] == "open" else BAD_TICKET))

    def connection_error(self, ticket: str | None, hresult: str | None, message: str | None) -> str:
        """QuickBooks could not be reached: tell the admin how to fix it, give the work back, stop."""
        logs.bind(ticket=ticket)
        error = describe_hresult(safe((hresult or "").strip(), 40), safe(message, LOG_LIMIT))
        with self.engine.begin() as conn:
            tenant_id = conn.execute(
                text("SELECT tenant_id FROM qbwc_sessions WHERE ticket = :t AND state = 'open'"),
                {"t": ticket or ""},
            ).scalar_one_or_none()
            if tenant_id is not None:
                logs.bind(tenant=tenant_id)
                end_session(conn, ticket or "", SessionState.FAILED, error)
                self._record_tenant_problem(conn, tenant_id, error)
                log.warning("connectionError: %s", safe(error), extra={"event": "session.connection_error"})
        return "done"

    def close_connection(self, ticket: str | None) -> str:
        """End the session; the one-line summary the Web Connector shows the user (kept on the
        session for `status`)."""
        logs.bind(ticket=ticket)
        self.raw_reads.forget(ticket or "")  # a query sent but never answered
        params = {"ticket": ticket or "", "nouns": registry.nouns_json()}
        row = self.bookkeeping.one(sql.CLOSE, params)
        if row is not None:
            logs.bind(tenant=row["tenant_id"])
            note_ended(SessionState.CLOSED, row["tenant_id"])
        if row is not None and not row["leased"]:
            return str(row["summary"])
        if row is not None:  # closed with requests unanswered (rare): take them back first
            with self.engine.begin() as conn:
                queue.release_leases(conn, ticket or "")
                return str(sql.SESSION_SUMMARY.on(conn, {**params, "keep": True})[0]["summary"])
        ended = self.single.one(sql.SESSION_SUMMARY, {**params, "keep": False})
        if ended is None:
            return "Session not found: " + BAD_TICKET
        return str(ended["summary"])

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
                end_session(conn, ticket or "", SessionState.EXPIRED, BAD_TICKET)

    @staticmethod
    def _record_tenant_problem(conn: Connection, tenant_id: int, error: str) -> None:
        conn.execute(
            text("UPDATE tenants SET connection_error = :e, connection_error_at = now() WHERE id = :id"),
            {"e": safe(error, STORED_LIMIT), "id": tenant_id},
        )


def _read_host(hcp_response: str | None, country: str | None) -> tuple[HostInfo, str | None]:
    """QuickBooks' self-description from the HCP response (first sendRequestXML only), and the
    company's edition and preferences as JSON for `tenants.company_preferences` (None when
    nothing could be read: the stored ones are kept). Parsed once for both."""
    if hcp_response and hcp_response.strip():
        read = _parse_hcp(hcp_response)
        if isinstance(read, str):
            log.warning("sendRequestXML: unreadable HCP response (%s); using qbXMLMajorVers", read)
        else:
            return read
    return HostInfo(product=None, version=None, country=country, supported_versions=()), None


@functools.lru_cache(maxsize=256)
def _parse_hcp(hcp_response: str) -> tuple[HostInfo, str | None] | str:
    """The HCP response read (or why it could not be). A company's Web Connector sends the same
    text every session, so a worker parses it once, not on every session's first call."""
    try:
        messages = response_messages(parse_xml(hcp_response))
    except QbxmlError as exc:
        return safe(exc)
    preferences = CompanyPreferences.from_messages(messages)
    stored = None if preferences == CompanyPreferences() else json.dumps(preferences.to_json())
    return HostInfo.from_messages(messages), stored
