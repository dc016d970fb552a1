"""The SQL behind the Web Connector's calls: one prepared statement per call on the hot path.

Data-modifying CTEs make each statement atomic on its own, so a call costs one round trip and
one commit, and preparing skips the parse and plan that would otherwise dominate. Job state
transitions come from queue.py (`runnable_condition`, `claim_ctes`), never written twice.
Parameters carry explicit casts: PREPARE must know every parameter's type. `retry_safe` marks
the statements asked again on a fresh connection when theirs died under them (db.SingleStatements):
the read-only ones, and those whose repeat changes nothing; never one that leases or opens.
"""

from __future__ import annotations

from qbwc_server.db import Prepared
from qbwc_server.models import IfUnanswered, JobKind
from qbwc_server.queue import (
    JOB_COLUMNS,
    LOOKING_UP,
    claim_ctes,
    complete_cte,
    round_trips_left,
    runnable_condition,
)
from qbwc_server.sync.push_settings import live_window_sql

# authenticate's statements live in authenticate_sql.py; their names stay importable from here.
from qbwc_server.webconnector.authenticate_sql import AUTH_CALL as AUTH_CALL
from qbwc_server.webconnector.authenticate_sql import AUTH_COLUMNS as AUTH_COLUMNS
from qbwc_server.webconnector.authenticate_sql import AUTH_LOOKUP as AUTH_LOOKUP
from qbwc_server.webconnector.authenticate_sql import AUTH_SEEN as AUTH_SEEN
from qbwc_server.webconnector.authenticate_sql import AUTH_START as AUTH_START
from qbwc_server.webconnector.authenticate_sql import AUTHENTICATE as AUTHENTICATE
from qbwc_server.webconnector.authenticate_sql import FUNCTIONS as FUNCTIONS
from qbwc_server.webconnector.summary import summary_ctes

#: A session whose QuickBooks is too old gets no job. One past its lifetime gets only the next
#: page of a pull in the middle of its pages (QuickBooks forgets an iterator with its session),
#: and past its grace not even that (a pull that never ends must not keep a session alive).
_MAY_CLAIM = """(SELECT version FROM s) IS NOT NULL
    AND (NOT (SELECT past_lifetime FROM s)
         OR (j.iterator_id IS NOT NULL AND NOT (SELECT past_grace FROM s)))"""


def _send_claim(name: str, batch_sizes: str | None) -> Prepared:
    # Nothing new is leased while the ticket still holds the last message's jobs (`held`).
    guard = f"{_MAY_CLAIM} AND NOT EXISTS (SELECT FROM held)"
    claim = claim_ctes("(SELECT tenant_id FROM s)", "%(ticket)s::text", batch_sizes, guard)
    columns = ", ".join(JOB_COLUMNS)
    return Prepared(
        name,
        f"""
    WITH s AS (
        SELECT ticket, tenant_id,
               CASE WHEN %(from_hcp)s::boolean THEN %(version)s::text
                    ELSE coalesce(qbxml_version, %(version)s::text) END AS version,
               started_at <= now() - make_interval(secs => %(lifetime)s::int) AS past_lifetime,
               started_at <= now() - make_interval(secs => %(lifetime)s::int + %(grace)s::int) AS past_grace
        FROM qbwc_sessions
        WHERE ticket = %(ticket)s::text AND state = 'open'
          AND last_call_at > now() - make_interval(secs => %(idle)s::int)
    ),
    -- Jobs leased to this ticket and still unanswered: the Web Connector asks for the next message
    -- only after receiveResponseXML, so this call is the last one asked again (its answer was lost,
    -- and the client resent the POST). That message never reached QuickBooks: it goes again as it
    -- was (same jobs, rebuilt from the same rows), never as well as new work, never as a new lease.
    held AS (
        SELECT {", ".join(f"j.{c}" for c in JOB_COLUMNS)}, {LOOKING_UP} AS unconfirmed
        FROM jobs j JOIN s ON j.tenant_id = s.tenant_id AND j.lease_ticket = s.ticket
        WHERE j.status = 'sent'
        FOR UPDATE OF j  -- a lease taken back meanwhile (a takeover) is re-read, and not sent
    ),
    {claim},
    touched AS (
        UPDATE qbwc_sessions SET last_call_at = now(), qbxml_version = s.version, last_error = NULL,
               requests_sent = requests_sent + (SELECT count(*) FROM claimed),
               -- the file QuickBooks has open (strCompanyFileName), for `status`
               company_file = CASE WHEN %(from_hcp)s::boolean
                   THEN coalesce(left(nullif(%(company_file)s::text, ''), 500), qbwc_sessions.company_file)
                   ELSE qbwc_sessions.company_file END
        FROM s WHERE qbwc_sessions.ticket = s.ticket
    ),
    -- The first call of a session brings QuickBooks' own description (HCP response): written
    -- when it changed, not every session (the same one each time: a row version and WAL for nothing).
    described AS (
        SELECT t.id, coalesce(%(product)s::text, t.host_product) AS product,
               coalesce(%(host_version)s::text, t.host_version) AS version,
               coalesce(%(country)s::text, t.host_country) AS country, s.version AS qbxml_version,
               coalesce(%(preferences)s::jsonb, t.company_preferences) AS preferences
        FROM s JOIN tenants t ON t.id = s.tenant_id
        WHERE %(from_hcp)s::boolean
    ),
    host AS (
        UPDATE tenants SET host_product = d.product, host_version = d.version, host_country = d.country,
               qbxml_version = d.qbxml_version, company_preferences = d.preferences
        FROM described d
        WHERE tenants.id = d.id
          AND (tenants.host_product, tenants.host_version, tenants.host_country, tenants.qbxml_version,
               tenants.company_preferences)
              IS DISTINCT FROM (d.product, d.version, d.country, d.qbxml_version, d.preferences)
    )
    SELECT s.tenant_id AS session_tenant_id, s.version, s.past_lifetime,
           {", ".join(f"c.{c}" for c in JOB_COLUMNS)}, c.unconfirmed, c.resent
    FROM s LEFT JOIN (SELECT {columns}, unconfirmed, false AS resent FROM claimed
                      UNION ALL SELECT {columns}, unconfirmed, true FROM held) c ON true
    ORDER BY c.id
    """,
    )


#: sendRequestXML: check the ticket, fix the qbXML version, lease the next job, note the call.
#: No row for a bad or idle ticket; one row with a NULL job id when nothing is runnable, else a
#: row per job leased. A call asked again after its answer was lost gets the same jobs back
#: (`resent`), leasing nothing. Never repeated after a lost connection: it may have leased a job already.
SEND_CLAIM = _send_claim("qbwc_send_claim", None)
#: The same, when some job kinds batch: a row per job of the batch (one kind).
SEND_CLAIM_BATCH = _send_claim("qbwc_send_claim_batch", "%(batch_sizes)s::jsonb")

#: receiveResponseXML: the live session and the jobs its last message carried (leased to it and
#: still sent). Read-only. No row for a bad or idle ticket; a NULL job id when none is outstanding.
_RECEIVE_LOOKUP = f"""
    SELECT s.tenant_id AS session_tenant_id, s.progress AS session_progress,
           {", ".join(f"j.{c}" for c in JOB_COLUMNS)}, {LOOKING_UP} AS unconfirmed
    FROM qbwc_sessions s
    LEFT JOIN jobs j ON j.lease_ticket = s.ticket AND j.status = 'sent'
    WHERE s.ticket = %(ticket)s::text AND s.state = 'open'
      AND s.last_call_at > now() - make_interval(secs => %(idle)s::int)
"""
RECEIVE_LOOKUP = Prepared("qbwc_receive_lookup", f"{_RECEIVE_LOOKUP} ORDER BY j.id", retry_safe=True)


def _left(tenant: str) -> str:
    """Round trips still to make for `tenant` (SQL; jobs due within `within` seconds), and the
    tenant's live window (seconds the session stays open after its last work)."""
    return f"""
    left_ AS (
        SELECT {round_trips_left("j")} AS n FROM jobs j
        WHERE {runnable_condition("j", tenant, "%(within)s::int")}
    ),
    win AS (
        SELECT {live_window_sql("t.settings")} AS seconds FROM tenants t WHERE t.id = {tenant}
    )
"""


_LEFT = _left("%(tenant_id)s::bigint")

#: Truthful progress for receiveResponseXML: round trips made against those still to make,
#: 100 when none are left. Never lower than what the session last showed: a pull's first page
#: may reveal more pages than were expected, and a progress bar must not go backwards. With a
#: live window (and the session within its lifetime) nothing left is 99, not 100: the Web
#: Connector asks again, and pushes made meanwhile go out on this session (NoOp until then).
_PROGRESS = """
    CASE WHEN left_.n = 0 AND (win.seconds = 0
              OR qbwc_sessions.started_at <= now() - make_interval(secs => %(lifetime)s::int)) THEN 100
         ELSE least(99, greatest(
             qbwc_sessions.progress,
             (100 * qbwc_sessions.requests_sent) / nullif(qbwc_sessions.requests_sent + left_.n, 0)))
    END
"""

#: sendRequestXML with nothing to lease (not the hot path): what should keep the session open?
#: Work due within `within` seconds, or the tenant's live window after the session's last work
#: (the last job it sent or settled; its start when none). NoOp polls refresh last_call_at
#: (idle expiry) but are not work: the window is measured from the jobs, never from the calls.
LIVE_WINDOW = Prepared(
    "qbwc_live_window",
    f"""
    SELECT s.requests_sent, {live_window_sql("t.settings")} AS window_seconds,
           s.started_at <= now() - make_interval(secs => %(lifetime)s::int) AS past_lifetime,
           EXISTS (SELECT 1 FROM jobs j
                   WHERE {runnable_condition("j", "s.tenant_id", "%(within)s::int")}) AS soon,
           greatest(s.started_at, (SELECT max(greatest(j.sent_at, j.finished_at)) FROM jobs j
                                   WHERE j.lease_ticket = s.ticket))
               > now() - make_interval(secs => {live_window_sql("t.settings")}) AS in_window
    FROM qbwc_sessions s JOIN tenants t ON t.id = s.tenant_id
    WHERE s.ticket = %(ticket)s::text AND s.state = 'open'
    FOR UPDATE OF s
    """,
)

#: The live window passed with nothing to do: the closing request goes out (a HostQuery, read
#: only), and the full bar (progress 100) marks that its answer ends the session.
CLOSING_SENT = Prepared(
    "qbwc_closing_sent",
    """
    UPDATE qbwc_sessions SET last_call_at = now(), last_error = NULL, progress = 100
    WHERE ticket = %(ticket)s::text AND state = 'open'
    """,
)

#: The closing request answered: 100 (closeConnection next), unless a push arrived meanwhile
#: and the session is within its lifetime: 99, and the next sendRequestXML sends it.
CLOSING_ANSWERED = Prepared(
    "qbwc_closing_answered",
    f"""
    UPDATE qbwc_sessions s SET last_call_at = now(),
           progress = CASE WHEN EXISTS (SELECT 1 FROM jobs j
                                        WHERE {runnable_condition("j", "s.tenant_id", "0")})
                            AND s.started_at > now() - make_interval(secs => %(lifetime)s::int)
                      THEN 99 ELSE 100 END
    WHERE s.ticket = %(ticket)s::text AND s.state = 'open'
    RETURNING s.progress
    """,
)


#: After a message's jobs were settled some other way than FINISH: note the call (and a message
#: for getLastError, or NULL), and answer with the progress.
TOUCH_AND_COUNT = Prepared(
    "qbwc_touch_and_count",
    f"""
    WITH {_LEFT}
    UPDATE qbwc_sessions SET last_call_at = now(), last_error = %(error)s::text,
           jobs_failed = jobs_failed + %(failed)s::int, progress = {_PROGRESS}
    FROM left_, win
    WHERE ticket = %(ticket)s::text
    RETURNING qbwc_sessions.progress
    """,
)

#: A job done on this session: finish it, note it, and count what is left to run — one statement.
FINISH = Prepared(
    "qbwc_finish",
    f"""
    WITH {complete_cte("done")}, {_LEFT},
    touched AS (
        UPDATE qbwc_sessions SET last_call_at = now(), last_error = NULL,
               jobs_done = jobs_done + (SELECT count(*) FROM done), progress = {_PROGRESS}
        FROM left_, win
        WHERE ticket = %(ticket)s::text
        RETURNING qbwc_sessions.progress
    )
    SELECT (SELECT count(*) FROM done) AS done, coalesce((SELECT progress FROM touched), 100) AS progress
    """,
    retry_safe=True,  # a repeat finds the job no longer sent: it finishes and counts nothing twice
)

#: receiveResponseXML in one statement when the message was one raw query, the common small
#: job: its outcome needs nothing but the answer, so the caller works it out first (the
#: parameters of FINISH) and this look-up finishes the job as it finds it — if it is the
#: message's only job, a raw query, not a look-up, and still leased to this ticket. The rows are
#: RECEIVE_LOOKUP's, with `finished` (1 or 0) and the progress when finished; when not (the
#: message was something else after all), the caller goes on from the rows as after
#: RECEIVE_LOOKUP. A read's outcome: not durable (a crash leaves it leased, and it is asked again).
#: Never repeated after a lost connection: a repeat would find nothing outstanding.
RECEIVE_RAW_READ = Prepared(
    "qbwc_receive_raw_read",
    f"""
    WITH look AS MATERIALIZED ({_RECEIVE_LOOKUP}),
    only_raw_read AS (
        SELECT id FROM look
        WHERE kind = '{JobKind.RAW_QBXML.value}' AND if_unanswered = '{IfUnanswered.RESEND.value}'
          AND NOT unconfirmed AND (SELECT count(*) FROM look) = 1
    ),
    {complete_cte("done", "(SELECT id FROM only_raw_read)", "%(ticket)s::text")},
    {_left("(SELECT session_tenant_id FROM look LIMIT 1)")},
    touched AS (
        UPDATE qbwc_sessions SET last_call_at = now(), last_error = NULL,
               jobs_done = jobs_done + 1, progress = {_PROGRESS}
        FROM left_, win
        WHERE ticket = %(ticket)s::text AND EXISTS (SELECT FROM done)
        RETURNING qbwc_sessions.progress
    )
    SELECT look.*, (SELECT count(*) FROM done) AS finished,
           coalesce((SELECT progress FROM touched), 100) AS progress
    FROM look ORDER BY look.id
    """,
)

#: closeConnection: end the session, keep its closing message (summary.py) on it, clear a
#: connection problem once QuickBooks opened again (this session negotiated a qbXML version: it
#: got QuickBooks' own answer), and answer the message. No row for an unknown or already-ended
#: ticket. `leased` counts jobs still sent without an answer: the caller takes them back
#: (queue.release_leases; rare) and writes the message again. Never repeated after a lost
#: connection: a repeat would find the session closed and skip taking them back.
CLOSE = Prepared(
    "qbwc_close",
    f"""
    WITH {summary_ctes("%(ticket)s::text")},
    s AS (
        UPDATE qbwc_sessions
        SET state = 'closed', closed_at = now(), last_call_at = now(), summary = (SELECT line FROM summary)
        WHERE ticket = %(ticket)s::text AND state = 'open'
        RETURNING tenant_id, qbxml_version
    ),
    cleared AS (
        UPDATE tenants SET connection_error = NULL, connection_error_at = NULL
        FROM s
        WHERE tenants.id = s.tenant_id AND tenants.connection_error IS NOT NULL
          AND s.qbxml_version IS NOT NULL
    )
    SELECT s.tenant_id, (SELECT line FROM summary) AS summary,
           (SELECT count(*) FROM jobs WHERE lease_ticket = %(ticket)s::text AND status = 'sent') AS leased
    FROM s
    """,
)

#: A session's state and last error (getLastError).
SESSION_STATE = Prepared(
    "qbwc_session_state",
    "SELECT s.state, s.last_error FROM qbwc_sessions s WHERE s.ticket = %(ticket)s::text",
    retry_safe=True,
)

#: A session's closing message from its jobs as they are now (a repeated closeConnection, or one
#: that had to take unanswered jobs back first); `keep` writes it on the session too.
SESSION_SUMMARY = Prepared(
    "qbwc_session_summary",
    f"""
    WITH {summary_ctes("%(ticket)s::text")},
    kept AS (
        UPDATE qbwc_sessions SET summary = (SELECT line FROM summary)
        WHERE ticket = %(ticket)s::text AND %(keep)s::boolean
    )
    SELECT (SELECT line FROM summary) AS summary FROM qbwc_sessions WHERE ticket = %(ticket)s::text
    """,
    retry_safe=True,  # a repeat writes the same message again
)
