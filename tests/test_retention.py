"""Retention over a real database: old finished jobs go (raw ones with their responses), in
batches; nothing unfinished, nothing recent, no failure still waiting for an admin, no job a
waiting one depends on. Records read the same afterwards; `jobs prune` does it from the CLI;
the authenticate-time pass does a bounded part. And the claim's plan: an index, never a scan.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from qbwc_server.admin import record_reads, tokens
from qbwc_server.queue import retention
from qbwc_server.sync import schedule
from qbwc_server.webconnector import statements as sql
from qbwc_server.webconnector.client import source_key
from tests.conftest import Run, TenantCredentials
from tests.pushing import put_customer

KEEP = dt.timedelta(days=30)
OLD, RECENT = dt.timedelta(days=40), dt.timedelta(days=2)


def add_job(
    conn: Connection,
    tenant_id: int,
    status: str,
    age: dt.timedelta,
    *,
    kind: str = "qbxml.raw",
    entity_ref: str | None = None,
) -> int:
    """A job `age` old in `status`, as the queue leaves it (finished ones with finished_at)."""
    finished = status in ("done", "failed", "dead")
    return int(
        conn.execute(
            text("""
                INSERT INTO jobs (tenant_id, kind, entity_ref, status, created_at, run_after, finished_at,
                                  lease_ticket, sent_at, response_xml)
                VALUES (:t, :k, :r, :s, now() - :age, now() - :age, CASE WHEN :f THEN now() - :age END,
                        CASE WHEN :s = 'sent' THEN 'old-ticket' END,
                        CASE WHEN :s = 'sent' THEN now() - :age END,
                        CASE WHEN :f THEN '<CustomerQueryRs statusCode="0"/>' END)
                RETURNING id
            """),
            {"t": tenant_id, "k": kind, "r": entity_ref, "s": status, "age": age, "f": finished},
        ).scalar_one()
    )


def remaining(engine: Engine, ids: list[int]) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM jobs WHERE id = ANY(:ids)"), {"ids": ids}).scalars())


def test_only_old_finished_jobs_go_and_what_still_tells_something_stays(
    engine: Engine, tenant: TenantCredentials
) -> None:
    with engine.begin() as conn:
        gone = [
            add_job(conn, tenant.id, "done", OLD),  # a raw job and its stored response
            add_job(conn, tenant.id, "done", OLD, kind="customers.pull"),
            add_job(conn, tenant.id, "done", OLD, kind="customers.push", entity_ref="7"),
            # a failure a later push of the same record replaced
            add_job(conn, tenant.id, "failed", OLD, kind="customers.push", entity_ref="8"),
            add_job(conn, tenant.id, "dead", OLD, kind="customers.pull"),
        ]
        kept = [
            add_job(conn, tenant.id, "done", RECENT),
            add_job(conn, tenant.id, "queued", OLD),
            add_job(conn, tenant.id, "sent", OLD),
            add_job(conn, tenant.id, "unconfirmed", OLD, kind="customers.push", entity_ref="9"),
            add_job(conn, tenant.id, "blocked", OLD, kind="orders.push", entity_ref="3"),
            add_job(conn, tenant.id, "done", RECENT, kind="customers.push", entity_ref="8"),
            add_job(conn, tenant.id, "queued", RECENT, kind="customers.pull"),
            # the newest push of its record, failed: the record reads `failed` from it
            add_job(conn, tenant.id, "failed", OLD, kind="customers.push", entity_ref="10"),
        ]
        # a dead order push that a waiting payment depends on, though a later push replaced it
        held = add_job(conn, tenant.id, "dead", OLD, kind="orders.push", entity_ref="4")
        add_job(conn, tenant.id, "done", RECENT, kind="orders.push", entity_ref="4")
        waiting = add_job(conn, tenant.id, "blocked", RECENT, kind="payments.push", entity_ref="5")
        # a done dependency of a queued job goes: a dependency that is gone is met
        met = add_job(conn, tenant.id, "done", OLD, kind="customers.push", entity_ref="11")
        dependent = add_job(conn, tenant.id, "queued", RECENT, kind="orders.push", entity_ref="12")
        conn.execute(
            text("""INSERT INTO job_dependencies (job_id, depends_on_id, tenant_id)
                    VALUES (:a, :b, :t), (:c, :d, :t)"""),
            {"a": waiting, "b": held, "c": dependent, "d": met, "t": tenant.id},
        )  # fmt: skip

    pruned = retention.prune(engine, KEEP)

    assert pruned.jobs == len(gone) + 1
    assert remaining(engine, [*gone, met]) == set()
    stays = [*kept, held, waiting, dependent]
    assert remaining(engine, stays) == set(stays)
    with engine.connect() as conn:
        deps = conn.execute(
            text("SELECT count(*) FROM job_dependencies WHERE job_id = :id"), {"id": dependent}
        )
        assert deps.scalar() == 0, "its dependency was met, and is gone with it"
    assert retention.prune(engine, KEEP).jobs == 0, "a second pass finds nothing more"


def test_batches_are_small_and_sessions_go_too(engine: Engine, tenant: TenantCredentials) -> None:
    with engine.begin() as conn:
        ids = [add_job(conn, tenant.id, "done", OLD + dt.timedelta(minutes=n)) for n in range(7)]
        conn.execute(
            text("""
                INSERT INTO qbwc_sessions (ticket, tenant_id, state, started_at, last_call_at, closed_at)
                VALUES ('old-closed', :t, 'closed', now() - :old, now() - :old, now() - :old),
                       ('older-expired', :t, 'expired', now() - :older, now() - :older, now() - :older),
                       ('recent-closed', :t, 'closed', now() - :recent, now() - :recent, now() - :recent),
                       ('old-open', :t, 'open', now() - :old, now() - :old, NULL)
            """),
            {"t": tenant.id, "old": OLD, "older": OLD * 2, "recent": RECENT},
        )
        assert retention.prune_tenant(conn, tenant.id, KEEP, batch=3) == (3, 2)
        # oldest first: the three oldest went
        left = set(conn.execute(text("SELECT id FROM jobs WHERE id = ANY(:ids)"), {"ids": ids}).scalars())
        assert left == set(ids[:4])
    pruned = retention.prune(engine, KEEP, batch=2)
    assert (pruned.jobs, pruned.sessions) == (4, 0)
    with engine.connect() as conn:
        tickets = set(conn.execute(text("SELECT ticket FROM qbwc_sessions")).scalars())
    assert tickets == {"recent-closed", "old-open"}


def test_expired_status_page_sessions_go(engine: Engine, tenant: TenantCredentials) -> None:
    tokens.issue_tenant_token(engine, tenant.name)
    with engine.begin() as conn:
        conn.execute(
            text("""
                INSERT INTO page_sessions (secret_sha256, token_id, csrf_token, expires_at)
                SELECT decode(md5(x), 'hex'), (SELECT min(id) FROM api_tokens), 'csrf', now() + d
                FROM (VALUES ('a', interval '-1 hour'), ('b', interval '1 hour')) v(x, d)
            """)
        )
    assert retention.prune(engine, KEEP).page_sessions == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM page_sessions")).scalar() == 1


def _age_push_job(engine: Engine, job_id: int, status: str, sync_state: str, row_id: int) -> None:
    """What the queue and the push handler leave behind, finished OLD ago."""
    with engine.begin() as conn:
        conn.execute(
            text("""UPDATE jobs SET status = :s, finished_at = now() - :old, last_status_code = 3100,
                            last_message = 'The name is already in use.' WHERE id = :id"""),
            {"s": status, "old": OLD, "id": job_id},
        )
        conn.execute(
            text("UPDATE customers SET sync_state = :s WHERE id = :id"), {"s": sync_state, "id": row_id}
        )


def sync_of(engine: Engine, tenant_id: int, commerce_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        sync: dict[str, Any] = record_reads.get_record(conn, "customers", tenant_id, commerce_id)["sync"]
        return sync


def test_records_read_the_same_once_their_push_jobs_are_pruned(
    engine: Engine, tenant: TenantCredentials
) -> None:
    synced_row, synced_job = put_customer(engine, tenant.id, "c-1", {"name": "Acme"})
    failed_row, failed_job = put_customer(engine, tenant.id, "c-2", {"name": "Bolt"})
    _age_push_job(engine, synced_job, "done", "synced", synced_row)
    _age_push_job(engine, failed_job, "dead", "pending", failed_row)
    before = (sync_of(engine, tenant.id, "c-1"), sync_of(engine, tenant.id, "c-2"))
    assert (before[0]["state"], before[1]["state"]) == ("synced", "failed")

    assert retention.prune(engine, KEEP).jobs == 1

    assert remaining(engine, [synced_job, failed_job]) == {failed_job}
    assert (sync_of(engine, tenant.id, "c-1"), sync_of(engine, tenant.id, "c-2")) == before


def test_planning_pulls_prunes_a_bounded_batch(
    engine: Engine, tenant: TenantCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedule, "PRUNE_PER_PASS", 2)
    with engine.begin() as conn:
        ids = [add_job(conn, tenant.id, "done", OLD) for _ in range(3)]
    with engine.begin() as conn:
        schedule.enqueue_due_pulls(conn, tenant.id)  # retention off: nothing goes
    assert len(remaining(engine, ids)) == 3
    with engine.begin() as conn:
        schedule.enqueue_due_pulls(conn, tenant.id, KEEP)
    assert len(remaining(engine, ids)) == 1


def test_jobs_prune_over_the_cli(cli: Run, engine: Engine, tenant: TenantCredentials) -> None:
    with engine.begin() as conn:
        old, recent = add_job(conn, tenant.id, "done", OLD), add_job(conn, tenant.id, "done", RECENT)

    kept_all = cli("jobs", "prune", "--older-than", "0")
    assert (kept_all.returncode, remaining(engine, [old, recent])) == (0, {old, recent}), kept_all.stderr
    done = cli("jobs", "prune", "--older-than", "30")
    assert done.returncode == 0, done.stderr
    assert "Deleted 1 finished jobs" in done.stdout
    assert remaining(engine, [old, recent]) == {recent}
    assert cli("jobs", "prune").returncode == 0  # QBWC_JOB_RETENTION_DAYS' default
    bad = cli("jobs", "prune", "--older-than", "-1")
    assert bad.returncode == 2 and "--older-than" in bad.stderr and "Traceback" not in bad.stderr
    assert cli("jobs", "prune", "--help").returncode == 0


# -- plans ------------------------------------------------------------------------------------


def seed_volume(engine: Engine, tenant_id: int) -> None:
    """200 tenants, 20,000 finished jobs and 2,000 queued ones (ten per tenant, each waiting on a
    finished one), analyzed."""
    with engine.begin() as conn:
        conn.execute(
            text("""
                INSERT INTO tenants (name, username, password_kind, password_hash)
                SELECT 'vol-' || n, 'vol-' || n || '-qb', 'token', 'x' FROM generate_series(1, 199) n
            """)
        )
        conn.execute(
            text("""
                INSERT INTO jobs (tenant_id, kind, status, finished_at, created_at)
                SELECT t.id, 'qbxml.raw', s.status, CASE WHEN s.status = 'done' THEN s.at END, s.at
                FROM tenants t, generate_series(1, 110) g,
                     LATERAL (SELECT CASE WHEN g <= 100 THEN 'done' ELSE 'queued' END AS status,
                                     now() - g * interval '1 hour' AS at) s
            """)
        )  # fmt: skip
        conn.execute(  # each queued job waits on one of its tenant's finished ones
            text("""
                INSERT INTO job_dependencies (job_id, depends_on_id, tenant_id)
                SELECT q.id, q.id - 50, q.tenant_id FROM jobs q WHERE q.status = 'queued'
            """)
        )
        conn.execute(
            text("""INSERT INTO qbwc_sessions (ticket, tenant_id, qbxml_version)
                    VALUES ('plan-ticket', :t, '13.0')"""),
            {"t": tenant_id},
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def explain_prepared(engine: Engine, statement: Any, params: dict[str, Any]) -> str:
    """The plan of a Web Connector statement as the server prepares it (EXPLAIN, not run)."""
    with engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(statement.prepare_sql)
        cursor.execute("EXPLAIN " + statement.execute_sql, [params[name] for name in statement.params])
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("statement", [sql.SEND_CLAIM, sql.SEND_CLAIM_BATCH], ids=lambda s: s.name)
def test_the_claim_reads_the_claim_index(engine: Engine, tenant: TenantCredentials, statement: Any) -> None:
    seed_volume(engine, tenant.id)
    params = {
        "ticket": "plan-ticket", "idle": 600, "from_hcp": False, "company_file": None, "preferences": None,
        "version": "13.0", "product": None, "host_version": None, "country": None, "lifetime": 14400,
        "grace": 600, "batch_sizes": json.dumps({"qbxml.raw": 50}),
    }  # fmt: skip
    plan = explain_prepared(engine, statement, params)
    assert "Index Scan using ix_jobs_claimable on jobs j" in plan, plan
    assert "Seq Scan on jobs" not in plan and "Seq Scan on job_dependencies" not in plan, plan


def test_authenticate_and_retention_read_indexes(engine: Engine, tenant: TenantCredentials) -> None:
    seed_volume(engine, tenant.id)
    lookup = explain_prepared(
        engine,
        sql.AUTH_LOOKUP,
        {"username": tenant.username, "source": source_key("127.0.0.1"), "ticket": "t" * 32, "digest": ""},
    )
    assert "Seq Scan on jobs" not in lookup, lookup
    assert "ix_jobs_queued_run_after" in lookup, lookup
    with engine.connect() as conn:
        params = {"t": tenant.id, "keep": KEEP, "batch": retention.BATCH}
        plan = "\n".join(conn.execute(text("EXPLAIN " + retention._PRUNE_TENANT.text), params).scalars())
    assert "ix_jobs_tenant_id_finished_at" in plan, plan
    assert "Seq Scan on jobs" not in plan, plan


def test_a_quiet_tenant_keeps_its_last_session(engine: Engine, tenant: TenantCredentials) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("""
                INSERT INTO qbwc_sessions (ticket, tenant_id, state, started_at, last_call_at, closed_at)
                VALUES ('last-closed', :t, 'closed', now() - :old, now() - :old, now() - :old),
                       ('last-expired', :t, 'expired', now() - :late, now() - :late, now() - :late)
            """),
            {"t": tenant.id, "old": OLD, "late": OLD - dt.timedelta(days=1)},
        )
    assert retention.prune(engine, KEEP).sessions == 0, "the last session and the last completed one stay"
