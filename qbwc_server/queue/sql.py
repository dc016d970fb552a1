"""The queue's SQL fragments, written once: the claim, the runnable condition, the finish.

The Web Connector's one-statement calls (webconnector/statements.py) embed them with their
own placeholders; queue functions run them as they are.
"""

from __future__ import annotations

from qbwc_server.models.queue import claimable
from qbwc_server.queue.jobs import JOB_COLUMNS


def runnable_condition(job: str, tenant: str, within: str) -> str:
    """SQL that is true when row `job` belongs to `tenant` and could be claimed within `within` seconds.

    Claimable (queued, or unconfirmed and to be looked up), due, and every dependency done.
    Written once; the claim, the counts and the Web Connector's combined statements use it.
    """
    return f"""
        {job}.tenant_id = {tenant}
        AND {claimable(job)}
        AND {job}.run_after <= now() + make_interval(secs => {within})
        AND NOT EXISTS (SELECT 1 FROM job_dependencies dep JOIN jobs d ON d.id = dep.depends_on_id
                        WHERE dep.job_id = {job}.id AND d.status <> 'done')
    """


def round_trips_left(job: str) -> str:
    """SQL summing the round trips the matching `job` rows still need: one each, or for a pull
    in the middle of an iterator, its remaining pages. The Web Connector's progress bar uses it."""
    page_size = f"greatest(coalesce(({job}.params ->> 'page_size')::int, 1), 1)"
    pages = f"ceil({job}.iterator_remaining::numeric / {page_size})"
    return f"coalesce(sum(CASE WHEN {job}.iterator_remaining > 0 THEN {pages} ELSE 1 END), 0)::int"


def claim_ctes(tenant: str, ticket: str, batch_sizes: str | None, guard: str = "true") -> str:
    """The CTEs that lease the next runnable jobs of `tenant` to `ticket`, as `claimed`.

    The first runnable job (priority, then age) decides the kind; up to that kind's batch size
    (`batch_sizes`: SQL for a jsonb object kind -> count, 1 when absent) jobs of that kind go in
    one message, each `*Rq` carrying its job id as requestID. With `batch_sizes` None (no kind
    batches) the claim is one index probe for one job. `claimed` returns JOB_COLUMNS and
    `unconfirmed`.
    """
    runnable = runnable_condition("j", tenant, "0")
    returning = ", ".join(f"jobs.{column}" for column in JOB_COLUMNS)
    if batch_sizes is None:
        pick = f"""
        next AS (
            SELECT j.id, j.status = 'unconfirmed' AS unconfirmed FROM jobs j
            WHERE {guard} AND {runnable} ORDER BY j.priority, j.id LIMIT 1
            FOR UPDATE OF j SKIP LOCKED  -- a concurrent claim skips this row instead of waiting
        ),"""
    else:
        pick = f"""
        head AS (
            SELECT j.kind FROM jobs j WHERE {guard} AND {runnable} ORDER BY j.priority, j.id LIMIT 1
        ),
        next AS (
            SELECT j.id, j.status = 'unconfirmed' AS unconfirmed FROM jobs j
            WHERE {runnable} AND j.kind = (SELECT kind FROM head)
            ORDER BY j.priority, j.id
            LIMIT (SELECT coalesce(({batch_sizes} ->> kind)::int, 1) FROM head)
            FOR UPDATE OF j SKIP LOCKED  -- a concurrent claim skips these rows instead of waiting
        ),"""
    return (
        pick
        + f"""
        claimed AS (
            UPDATE jobs SET status = 'sent', lease_ticket = {ticket}, sent_at = now(),
                            attempts = jobs.attempts + 1, updated_at = now(),
                            -- the answer must be read as a look-up's: remember it on the job
                            params = CASE WHEN NOT next.unconfirmed THEN jobs.params - 'looking_up'
                                     ELSE coalesce(jobs.params, '{{}}'::jsonb) || '{{"looking_up": true}}' END
            FROM next WHERE jobs.id = next.id
            RETURNING {returning}, next.unconfirmed
        )
    """
    )


def complete_cte(name: str = "done", job: str = "%(job_id)s::bigint", ticket: str | None = None) -> str:
    """A CTE that marks the sent job `job` (SQL; the parameter `job_id` by default) done with its
    outcome; returns its id, kind and created_at if it was in flight (and, given `ticket`, still
    leased to that session).

    Shared by `settle` and the Web Connector's one-statement finish; parameters `job_id`,
    `response_gz` (the answer kept, gzipped: queue/stored.py; NULL keeps what the job has),
    `status_code`, `message`, `params`, `records` (psycopg2 style, for `Prepared`). The answer is
    named once (`answer`): behind a pooler psycopg2 writes each mention of it into the statement.
    """
    lease = "" if ticket is None else f" AND jobs.lease_ticket = {ticket}"
    return f"""
        {name} AS (
            UPDATE jobs SET status = 'done', finished_at = now(), updated_at = now(),
                            response_gz = coalesce(answer.gz, jobs.response_gz),
                            -- an answer kept as text (before 0009) is replaced, not kept beside it
                            response_xml = CASE WHEN answer.gz IS NULL THEN jobs.response_xml END,
                            last_status_code = %(status_code)s::int, last_message = %(message)s::text,
                            params = coalesce(%(params)s::jsonb, jobs.params),
                            records = jobs.records + %(records)s::int,
                            iterator_id = NULL, iterator_remaining = NULL
            FROM (SELECT %(response_gz)s::bytea AS gz) AS answer
            WHERE jobs.id = {job} AND jobs.status = 'sent'{lease}
            RETURNING jobs.id, jobs.kind, jobs.created_at
        )
    """
