"""authenticate's SQL: the look-up, the idle verdict (migration 0010) and the function that
reads one row when the verdict holds. Re-exported by statements.py with the other calls' SQL.
"""

from __future__ import annotations

from qbwc_server.db import Prepared
from qbwc_server.queue import runnable_condition
from qbwc_server.server_functions import ServerFunction
from qbwc_server.sync.schedule import PULLS_DUE_JOIN
from qbwc_server.webconnector.login import USERNAME_KEY, VERIFIER

#: Whether a poll with nothing to do should note that it was seen: at most every 15 s (AUTH_LOOKUP
#: tells). With every company polling each minute that is every poll, so seen.py batches them.
_SEEN_DUE = (
    "(t.last_seen_at IS NULL OR t.last_seen_at < now() - interval '15 seconds' OR t.failed_logins > 0)"
)

#: The tenant's row and the login throttle's: who is this and may they come in. Always one row,
#: an unknown username's too (NULL tenant columns): its attempt is throttled the same way.
_WHO = f"""
    SELECT t.id, t.password_kind, t.password_hash, t.company_file,
           coalesce(f.failures, 0)::int AS failures, coalesce(f.locked_until > now(), false) AS locked,
           {_SEEN_DUE} AS seen_due, t.last_seen_at IS NULL OR t.failed_logins > 0 AS seen_now,
           t.work_epoch, t.idle_until, t.idle_epoch,
           t.idle_until > now() AND t.idle_epoch = t.work_epoch AS quiet
    FROM (SELECT %(username)s::text AS username) u
    LEFT JOIN tenants t ON t.username = u.username
          AND t.settings ->> 'disabled_at' IS NULL  -- a disabled tenant is as unknown as a wrong name
    LEFT JOIN auth_failures f ON f.username = {USERNAME_KEY} AND f.source = %(source)s::text
          AND f.verifier = {VERIFIER.format(hash="t.password_hash")}
"""

#: _WHO's columns, by name.
_WHO_COLUMNS = (
    "id", "password_kind", "password_hash", "company_file", "failures", "locked", "seen_due", "seen_now",
    "work_epoch", "idle_until", "idle_epoch", "quiet",
)  # fmt: skip


def _lookup(who: str) -> str:
    """...and is there anything to do, for the row `who` (_WHO's columns)? `due_at`: when the next
    job or pull falls due (NULL: none)."""
    return f"""
    SELECT who.*, s.ticket AS open_ticket,
           -- 1 when any job is runnable: one is enough to open a session, and counting them all
           -- would read every queued job of a busy tenant on every poll
           (SELECT count(*)::int FROM (
               SELECT FROM jobs j WHERE {runnable_condition("j", "who.id", "0")} LIMIT 1) r) AS runnable,
           least(
               (SELECT min(q.run_after) FROM jobs q WHERE q.tenant_id = who.id AND q.status = 'queued'),
               (SELECT min(q.run_after) FROM jobs q
                WHERE q.tenant_id = who.id AND q.status = 'unconfirmed' AND q.if_unanswered = 'look_up'),
               pulls.next_at
           ) AS due_at,
           pulls.due AS pulls_due
    FROM {who} who
    LEFT JOIN qbwc_sessions s ON s.tenant_id = who.id AND s.state = 'open'
    {PULLS_DUE_JOIN.replace("t.id", "who.id")}
"""


#: What authenticate reads, by name (AUTH_LOOKUP's columns, and the function's).
AUTH_COLUMNS = {
    "id": "bigint", "password_kind": "text", "password_hash": "text", "company_file": "text",
    "failures": "int", "locked": "boolean", "seen_due": "boolean", "seen_now": "boolean",
    "open_ticket": "text", "runnable": "int", "pulls_due": "boolean", "next_due": "int", "started": "text",
}  # fmt: skip

#: _WHO's row as the function read it (`quick`), for the rest of its look-up.
_READ_ROW = f"(SELECT {', '.join(f'quick.{c} AS {c}' for c in _WHO_COLUMNS)})"

#: Seconds until `at` (rounded up), NULL for none or infinity.
_SECONDS_UNTIL = "CASE WHEN {at} < 'infinity' THEN ceil(extract(epoch FROM {at} - now()))::int END"


#: authenticate in one statement: the look-up, and in the common case of a session with work,
#: its start. The session starts here only when nothing else has to happen first: a generated
#: password whose digest (`digest`, SHA-256 hex of what was presented) matches, no failures to
#: clear, no open session to end, no pulls to plan, and a job runnable. Otherwise `started` is
#: NULL and authenticate goes on from the row (Gate, AUTH_START). Not durable: opening a session
#: is bookkeeping (a crash forgets it; the Web Connector starts another). Safe to repeat with the
#: same `ticket`: a repeat finds that session open (`open_ticket`) and starts no other.
#: With nothing to do it notes the idle verdict (`idle_until`, `idle_epoch`; migration 0010) for
#: the next polls (AUTHENTICATE), unless another transaction holds the row: never waits for it.
def _authenticate(who: str) -> str:
    return f"""
    WITH look AS MATERIALIZED ({_lookup(who)}),
    started AS (
        INSERT INTO qbwc_sessions (ticket, tenant_id, company_file)
        SELECT %(ticket)s::text, look.id, look.company_file FROM look
        WHERE look.password_kind = 'token' AND look.password_hash = %(digest)s::text
          AND look.failures = 0 AND look.open_ticket IS NULL AND NOT look.pulls_due AND look.runnable > 0
        ON CONFLICT DO NOTHING  -- a concurrent authenticate of the same tenant won the race
        RETURNING ticket, tenant_id
    ),
    seen AS (
        UPDATE tenants SET last_seen_at = now(), failed_logins = 0, locked_until = NULL
        FROM started WHERE tenants.id = started.tenant_id
    ),
    verdict AS (
        UPDATE tenants SET idle_until = v.until, idle_epoch = v.epoch
        FROM (SELECT id, until, work_epoch AS epoch
              FROM look, LATERAL (SELECT coalesce(due_at, 'infinity') AS until) d
              WHERE runnable = 0 AND open_ticket IS NULL AND NOT pulls_due AND until > now()
                AND (idle_until, idle_epoch) IS DISTINCT FROM (until, work_epoch)) v  -- else no lock
        WHERE tenants.id = (SELECT l.id FROM tenants l WHERE l.id = v.id FOR NO KEY UPDATE SKIP LOCKED)
    )
    SELECT {", ".join(f"look.{c}" for c in AUTH_COLUMNS if c not in ("next_due", "started"))},
           {_SECONDS_UNTIL.format(at="look.due_at")} AS next_due, (SELECT ticket FROM started) AS started
    FROM look
"""


#: authenticate's look-up as a plain statement: what AUTHENTICATE does when its verdict does not
#: hold, and what authenticate runs where the function is not installed yet (an older migration).
AUTH_LOOKUP = Prepared("qbwc_auth_lookup", _authenticate(f"({_WHO})"), retry_safe=True)

#: authenticate in one round trip, reading one row when the tenant's idle verdict holds (the idle
#: poll: every company, about every minute) and AUTH_LOOKUP's statement otherwise. A function, so
#: that each way has its plan cached on the server: one statement with both would set up the full
#: one's plan on every call (~50 µs of PostgreSQL's CPU, as much as the quick way costs).
AUTHENTICATE = ServerFunction(
    "authenticate",
    {"username": "text", "source": "text", "ticket": "text", "digest": "text"},
    AUTH_COLUMNS,
    f"""
    DECLARE
        quick record;
    BEGIN
        {_WHO.strip()} INTO quick;  -- one row always
        IF quick.quiet THEN
            RETURN QUERY SELECT quick.id, quick.password_kind, quick.password_hash, quick.company_file,
                quick.failures, quick.locked, quick.seen_due, quick.seen_now, NULL::text, 0, false,
                {_SECONDS_UNTIL.format(at="quick.idle_until")}, NULL::text;
            RETURN;
        END IF;
        -- the rest of the look-up, from the row just read
        RETURN QUERY {_authenticate(_READ_ROW).strip()};
    END
    """,
)
AUTH_CALL = AUTHENTICATE.call("qbwc_authenticate", retry_safe=True)

#: The server functions the hot path calls, installed after the migrations (migrations/env.py).
FUNCTIONS = (AUTHENTICATE,)

#: Open a session, when the look-up could not (AUTH_LOOKUP). The partial unique index refuses a
#: second open session for the tenant. Never repeated after a lost connection: the first may
#: have opened one.
AUTH_START = Prepared(
    "qbwc_auth_start",
    """
    WITH seen AS (
        UPDATE tenants SET last_seen_at = now(), failed_logins = 0, locked_until = NULL
        WHERE id = %(tenant_id)s::bigint
    )
    INSERT INTO qbwc_sessions (ticket, tenant_id, company_file)
    VALUES (%(ticket)s::text, %(tenant_id)s::bigint, %(company_file)s::text)
    """,
)

#: A valid poll with nothing to do, its first ever or after failed logins: note it at once (when
#: AUTH_LOOKUP's `seen_due` says so). Other polls are noted in batches (seen.py).
AUTH_SEEN = Prepared(
    "qbwc_auth_seen",
    f"""
    UPDATE tenants t SET last_seen_at = now(), failed_logins = 0, locked_until = NULL
    WHERE t.id = %(tenant_id)s::bigint AND {_SEEN_DUE}
    """,
    retry_safe=True,  # a repeat stamps the same row again
)
