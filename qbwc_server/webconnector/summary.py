"""The closing message the Web Connector shows after a session ("Done: 2 raw qbXML requests.").

Written in SQL, so closeConnection computes it, answers it and keeps it on the session
(`qbwc_sessions.summary`, read by `status` and the status page) in the one statement that closes
the session. The job kinds' nouns come from the registry as a parameter (`registry.nouns_json`).
"""

from __future__ import annotations

#: `summary_ctes(ticket)` defines `summary (line)`: one row, the closing message of the session
#: whose ticket is the SQL expression `ticket`, from the jobs leased to it (those still `sent` left
#: out: unanswered, they are taken back after closing). Pulls count the records they read, other
#: jobs count jobs; kinds sharing a noun (the two stock pulls) add up; parts follow the order the
#: kinds were registered (pulls as a session runs them). Needs `%(nouns)s` (registry.nouns_json).
_SUMMARY_CTES = """
    summary_counts AS (
        SELECT c.kind, c.status, c.n, c.records, coalesce(k.pull, false) AS pull, k.place,
               coalesce(k.one, c.kind || ' job') AS one, coalesce(k.many, c.kind || ' jobs') AS many
        FROM (SELECT kind, status, count(*) AS n, coalesce(sum(records), 0) AS records FROM jobs
              WHERE lease_ticket = {ticket} AND status <> 'sent' GROUP BY kind, status) c
        LEFT JOIN jsonb_to_recordset(%(nouns)s::jsonb)
                  AS k(kind text, one text, many text, pull boolean, place int) ON k.kind = c.kind
    ),
    summary_pulled AS (  -- one row per noun a done pull counts, with the records it read
        SELECT one, many, sum(records) AS records, min(place) AS place
        FROM summary_counts WHERE status = 'done' AND pull GROUP BY one, many
    ),
    summary_done AS (
        SELECT string_agg(part, ', ' ORDER BY pulled, place, key) AS parts FROM (
            SELECT 0 AS pulled, place, kind AS key, n || ' ' || CASE WHEN n = 1 THEN one ELSE many END AS part
            FROM summary_counts WHERE status = 'done' AND NOT pull
            UNION ALL
            SELECT 1, 0, '', coalesce(
                'pulled ' || string_agg(records || ' ' || CASE WHEN records = 1 THEN one ELSE many END, ', '
                                        ORDER BY place, one) FILTER (WHERE records > 0),
                'everything was already up to date')
            FROM summary_pulled HAVING count(*) > 0
        ) parts
    ),
    summary_rest AS (
        SELECT coalesce(sum(n) FILTER (WHERE status IN ('failed', 'dead', 'blocked')), 0) AS attention,
               coalesce(sum(n) FILTER (WHERE status = 'unconfirmed'), 0) AS unconfirmed,
               coalesce(sum(n) FILTER (WHERE status NOT IN ('done', 'failed', 'dead', 'blocked',
                                                              'unconfirmed')), 0) AS retrying
        FROM summary_counts
    ),
    summary AS (
        SELECT concat_ws('; ',
            coalesce('Done: ' || summary_done.parts, 'Nothing was completed'),
            CASE WHEN attention = 1 THEN '1 needs attention (see qbwc-server status)'
                 WHEN attention > 1 THEN attention || ' need attention (see qbwc-server status)' END,
            CASE WHEN unconfirmed > 0 THEN unconfirmed
                 || ' may have reached QuickBooks without an answer: nothing is sent again before it is'
                 || ' checked (see qbwc-server jobs list --status unconfirmed)' END,
            CASE WHEN retrying > 0 THEN retrying || ' will be retried' END
        ) || '.' AS line
        FROM summary_done, summary_rest
    )"""


def summary_ctes(ticket: str) -> str:
    """The CTEs (without `WITH`) that define `summary (line)` for the session `ticket` (SQL)."""
    return _SUMMARY_CTES.format(ticket=ticket)
