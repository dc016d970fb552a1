"""How a Web Connector session ends, whoever ends it: closeConnection, connectionError, a new
authenticate taking over, an idle timeout, its lifetime, a password change.

Its row is closed and what it sent without an answer is taken back, by the queue's one rule
(`queue.release_leases`): a read is queued again, a write becomes unconfirmed.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, text

from qbwc_server import logs, metrics, queue
from qbwc_server.logsafe import STORED_LIMIT, safe
from qbwc_server.models import SessionState

log = logging.getLogger(__name__)

#: getLastError's text for a session that outlived QBWC_SESSION_MAX_SECONDS.
OUTLIVED = (
    "This Web Connector session reached its maximum length, so it ended here. Nothing was lost:"
    " the Web Connector's next run starts a new one and carries on."
)
#: How long past its lifetime a session may go on to finish a pull in the middle of its pages
#: (QuickBooks forgets an iterator with its session); then it ends even so.
ITERATOR_GRACE_SECONDS = 3600


def end_session(conn: Connection, ticket: str, state: SessionState, error: str | None) -> int:
    """End one session (if still open) and take back its unanswered jobs; returns how many."""
    tenant_id = conn.execute(
        text("""
            UPDATE qbwc_sessions SET state = :state, closed_at = now(), last_call_at = now(),
                last_error = coalesce(:error, last_error)
            WHERE ticket = :ticket AND state = 'open'
            RETURNING tenant_id
        """),
        {"state": state.value, "error": error and safe(error, STORED_LIMIT), "ticket": ticket},
    ).scalar_one_or_none()
    released = queue.release_leases(conn, ticket)
    if tenant_id is not None:
        note_ended(state, tenant_id, ticket=ticket, released=released)
    elif released:
        log.info("session %s… ended; %s unanswered job(s) taken back", ticket[:8], released)
    return released


def note_ended(state: SessionState, tenant_id: int, *, ticket: str | None = None, released: int = 0) -> None:
    """Count a session that just ended and say so in the log (its ticket's prefix only)."""
    metrics.session_ended(state.value, tenant_id)
    fields = {"event": "session.ended", "outcome": state.value, "tenant": tenant_id}
    if ticket:
        fields["session"] = ticket[: logs.TICKET_PREFIX]
    taken = f"; {released} unanswered job(s) taken back" if released else ""
    log.info("session ended (%s)%s", state.value, taken, extra=fields)


def end_tenant_sessions(conn: Connection, tenant_id: int, state: SessionState, error: str) -> int:
    """End every open session of a tenant (e.g. its password changed); returns jobs taken back."""
    tickets = conn.execute(
        text("SELECT ticket FROM qbwc_sessions WHERE tenant_id = :t AND state = 'open' FOR UPDATE"),
        {"t": tenant_id},
    ).scalars()
    return sum(end_session(conn, ticket, state, error) for ticket in list(tickets))
