"""The queue at volume (not a test): claim latency with 1k, 100k and 1M queued jobs over 10k
tenants, behind ten times as many finished ones, through the Web Connector's own statements.

    python bench/queue_volume.py                               # 1k, 100k, 1M queued; 10x history
    python bench/queue_volume.py --sizes 1000 100000 --samples 300 --revision 0007

Each size gets its own scratch database (dropped first and at the end), migrated to `--revision`
(head by default; 0007 measures the schema before migration 0008), seeded with INSERT … SELECT,
then VACUUM ANALYZE. All sizes are seeded first, then sampled in turn (one call of each
statement per size per round), so the machine's load drifts over all alike. Timed, for a random
tenant: sendRequestXML's lease
(SEND_CLAIM_BATCH, what `Requests.next_message` runs while job kinds batch, and SEND_CLAIM, the
one-job claim) on the tenant's open session, each rolled back so every sample sees the same
queue; and authenticate's look-up (AUTH_LOOKUP, its `runnable` and `next_due` included). The
plans printed are EXPLAIN (ANALYZE, BUFFERS) of the prepared statements as the server runs them
(after warm-up, so a generic plan shows if PostgreSQL chose one). A plan with a Seq Scan on jobs
prints a FAIL line, as does a 1M/1k ratio above 1.5 (a batch claim that leases more jobs per call
at 1M is compared per job leased, in a note).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from qbwc_server.db import Prepared, alembic_config, make_engine  # noqa: E402
from qbwc_server.sync.registry import batch_sizes_json  # noqa: E402
from qbwc_server.testing import scratch_database  # noqa: E402
from qbwc_server.webconnector import statements as sql  # noqa: E402
from qbwc_server.webconnector.client import source_key  # noqa: E402

#: The queued side's mix, by g % 20: kinds, priorities and statuses a busy deployment holds.
_SEED_QUEUED = """
    INSERT INTO jobs (tenant_id, kind, entity_ref, priority, status, if_unanswered, run_after,
                      lease_ticket, sent_at, params, request_body, created_at)
    SELECT t, k.kind, k.ref, k.priority,
           CASE WHEN g % 20 = 17 THEN 'sent' WHEN g % 20 = 18 THEN 'blocked'
                WHEN g % 20 = 19 THEN 'unconfirmed' ELSE 'queued' END,
           CASE WHEN g % 20 = 19 AND g % 40 <> 19 THEN 'hold' WHEN k.kind LIKE '%.push' THEN 'look_up'
                ELSE 'resend' END,
           -- a twentieth waits out a retry's backoff
           now() + CASE WHEN g % 20 = 16 THEN interval '10 minutes' ELSE interval '0' END,
           CASE WHEN g % 20 = 17 THEN 'vbench-' || t END, CASE WHEN g % 20 = 17 THEN now() END,
           CASE WHEN k.kind LIKE '%.pull' THEN '{"page_size": 500}'::jsonb END,
           CASE WHEN k.kind = 'qbxml.raw' THEN '<CustomerQueryRq/>' END,
           now() - interval '1 hour'
    FROM generate_series(1, :n) g,
         LATERAL (SELECT 1 + (g::bigint * 7919) % :tenants AS t) tt,
         LATERAL (SELECT CASE WHEN g % 10 < 4 THEN 'customers.push' WHEN g % 10 < 6 THEN 'orders.push'
                              WHEN g % 10 = 6 THEN 'payments.push' WHEN g % 10 = 7 THEN 'customers.pull'
                              WHEN g % 10 = 8 THEN 'sales_orders.pull' ELSE 'qbxml.raw' END AS kind,
                         'rec-' || g AS ref,
                         CASE WHEN g % 10 < 7 THEN 50 WHEN g % 10 < 9 THEN 100 ELSE 10 END AS priority) k
    ORDER BY g
"""

#: Finished history: ten done for every queued one by default, a few failed or dead, spread over
#: the last sixty days (raw ones with their stored response).
_SEED_HISTORY = """
    INSERT INTO jobs (tenant_id, kind, entity_ref, priority, status, attempts, lease_ticket, sent_at,
                      response_xml, last_status_code, last_message, records, created_at, finished_at)
    SELECT 1 + (g::bigint * 7919) % :tenants, k.kind,
           CASE WHEN k.kind LIKE '%.push' THEN 'old-' || g END, 50,
           CASE WHEN g % 50 = 0 THEN 'failed' WHEN g % 97 = 0 THEN 'dead' ELSE 'done' END, 1,
           'old-' || (g / 20), at,
           CASE WHEN k.kind = 'qbxml.raw' THEN '<CustomerQueryRs statusCode="0"/>' END,
           CASE WHEN g % 50 = 0 THEN 3100 ELSE 0 END, 'Status OK', g % 7, at, at
    FROM generate_series(1, :n) g,
         LATERAL (SELECT now() - (g % 86400) * interval '1 minute' AS at) a,
         LATERAL (SELECT CASE WHEN g % 5 = 0 THEN 'customers.pull' WHEN g % 5 = 1 THEN 'customers.push'
                              WHEN g % 5 = 2 THEN 'orders.push'
                              WHEN g % 5 = 3 THEN 'inventory_quantities.pull'
                              ELSE 'qbxml.raw' END AS kind) k
"""


def seed(engine: Engine, queued: int, history: int, tenants: int) -> None:
    """Tenants (one open session each, ten closed), finished history, then the queued side with
    some dependencies (an order on its customer's push, another's on a finished job)."""
    with engine.begin() as conn:
        conn.execute(
            text("""
                INSERT INTO tenants (id, name, username, password_kind, password_hash, settings, last_seen_at)
                OVERRIDING SYSTEM VALUE
                SELECT n, 'vbench-' || n, 'vbench-' || n || '-qb', 'token', 'x',
                       '{"pull_intervals": {"default": 0}}', now()
                FROM generate_series(1, :n) n
            """),
            {"n": tenants},
        )
        conn.execute(text("SELECT setval(pg_get_serial_sequence('tenants', 'id'), :n)"), {"n": tenants})
        conn.execute(
            text("""
                INSERT INTO qbwc_sessions (ticket, tenant_id, state, started_at, last_call_at, closed_at)
                SELECT 'vbench-' || t || CASE WHEN s = 0 THEN '' ELSE '-' || s END, t,
                       CASE WHEN s = 0 THEN 'open' ELSE 'closed' END, at, at, CASE WHEN s > 0 THEN at END
                FROM generate_series(1, :n) t, generate_series(0, 10) s,
                     LATERAL (SELECT now() - s * interval '5 days' AS at) a
            """),
            {"n": tenants},
        )
        conn.execute(text(_SEED_HISTORY), {"n": history, "tenants": tenants})
        base = conn.execute(text("SELECT coalesce(max(id), 0) FROM jobs")).scalar_one()
        conn.execute(text(_SEED_QUEUED), {"n": queued, "tenants": tenants})
        # Job base + g is the g-th queued one; base + g - tenants is the same tenant's previous one.
        conn.execute(
            text("""
                INSERT INTO job_dependencies (job_id, depends_on_id, tenant_id)
                SELECT :base + g, CASE WHEN g > :tenants THEN :base + g - :tenants ELSE 1 + g % 100 END,
                       1 + (g::bigint * 7919) % :tenants
                FROM generate_series(1, :n) g WHERE g % 10 IN (4, 5, 6) AND (g > :tenants OR :history > 100)
            """),
            {"base": base, "n": queued, "tenants": tenants, "history": history},
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def claim_params(tenant: int, batch_sizes: str) -> dict[str, Any]:
    """SEND_CLAIM's parameters for the tenant's open session, as send_request_xml builds them."""
    return {
        "ticket": f"vbench-{tenant}", "idle": 600, "from_hcp": False, "company_file": None,
        "preferences": None, "version": "13.0", "product": None, "host_version": None,
        "country": None, "lifetime": 4 * 3600, "grace": 600, "batch_sizes": batch_sizes,
    }  # fmt: skip


def lookup_params(tenant: int) -> dict[str, Any]:
    """AUTH_LOOKUP's parameters (Gate.attempt's) for the tenant's username from one address."""
    # A digest no password has: the look-up never starts a session here.
    source = source_key("127.0.0.1")
    return {"username": f"vbench-{tenant}-qb", "source": source, "ticket": "b" * 32, "digest": ""}


class Timed:
    """One statement timed on one connection, each run rolled back."""

    def __init__(self, name: str, statement: Prepared, params: Callable[[int], dict[str, Any]]) -> None:
        self.name, self.statement, self.params = name, statement, params
        self.times: list[float] = []
        self.rows: list[int] = []

    def run(self, conn: Connection, tenant: int, record: bool = True) -> None:
        with conn.begin() as transaction:
            started = time.perf_counter()
            rows = self.statement.on(conn, self.params(tenant))
            elapsed = time.perf_counter() - started
            transaction.rollback()
        if record:
            self.times.append(elapsed)
            self.rows.append(sum(1 for row in rows if row.get("id") is not None))

    def explain(self, conn: Connection, tenant: int) -> str:
        params = self.params(tenant)
        with conn.begin() as transaction:  # prepared on this connection by the timed runs
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + self.statement.execute_sql,
                [params[name] for name in self.statement.params],
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.rollback()
        return plan

    def summary(self) -> str:
        ms = sorted(t * 1000 for t in self.times)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        leased = statistics.mean(self.rows)
        per_job = f", p50 per job {statistics.median(ms) / leased:6.3f} ms" if leased > 1.5 else ""
        return (f"{self.name:<17} p50 {statistics.median(ms):6.3f} ms  p95 {p95:6.3f} ms"
                f"  (rows per call: {leased:.1f}{per_job})")  # fmt: skip


class Queue:
    """One size's scratch database, seeded, with its timed statements on one connection."""

    def __init__(self, args: argparse.Namespace, queued: int) -> None:
        from alembic import command

        self.queued, self.tenants = queued, args.tenants
        self.url = scratch_database(args.admin_url, f"qbwc_bench_queue_{queued}")
        command.upgrade(alembic_config(self.url), args.revision)
        self.engine = make_engine(self.url)
        started = time.perf_counter()
        seed(self.engine, queued, queued * args.history, args.tenants)
        seconds = time.perf_counter() - started
        print(f"queued {queued:,} over {args.tenants:,} tenants, {queued * args.history:,} finished:"
              f" seeded in {seconds:.1f} s (schema {args.revision})", flush=True)  # fmt: skip
        self.conn = self.engine.connect()
        self.busy = list(
            self.conn.execute(text("SELECT DISTINCT tenant_id FROM jobs WHERE status = 'queued'")).scalars()
        )
        self.conn.rollback()
        batches = batch_sizes_json()
        self.timed = {
            each.name: each
            for each in (
                Timed("send_claim_batch", sql.SEND_CLAIM_BATCH, lambda t: claim_params(t, batches)),
                Timed("send_claim", sql.SEND_CLAIM, lambda t: claim_params(t, "{}")),
                Timed("auth_lookup", sql.AUTH_LOOKUP, lookup_params),
            )
        }
        self.rng = random.Random(queued)
        for each in self.timed.values():
            for _ in range(10):  # prepare, and past PostgreSQL's five custom plans
                each.run(self.conn, self.rng.choice(self.busy), record=False)

    def sample(self) -> None:
        """One timed call of each statement: a tenant with work for the claims, any for the look-up."""
        for each in self.timed.values():
            pool = self.busy if each.name != "auth_lookup" else range(1, self.tenants + 1)
            each.run(self.conn, self.rng.choice(pool))

    def plans(self) -> dict[str, str]:
        """Each statement's plan for the tenant with the most queued jobs."""
        deepest = self.conn.execute(
            text("""SELECT tenant_id FROM jobs WHERE status = 'queued'
                    GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""")
        ).scalar_one()
        self.conn.rollback()
        return {each.name: each.explain(self.conn, deepest) for each in self.timed.values()}

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


_SEQ_SCAN = re.compile(r"Seq Scan on (jobs|job_dependencies)\b")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=10, help="finished jobs per queued one")
    parser.add_argument("--samples", type=int, default=500, help="timed calls per statement and size")
    parser.add_argument("--revision", default="head", help="alembic revision to measure (0007: before 0008)")
    parser.add_argument(
        "--plans", action="store_true", help="print every plan in full, not only the largest size's"
    )
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases")
    args = parser.parse_args()
    queues: list[Queue] = []
    failed = False
    try:
        for size in args.sizes:
            queues.append(Queue(args, size))
        for _ in range(args.samples):  # every size in turn, so drift in the machine's load hits all alike
            for queue in queues:
                queue.sample()
        for queue in queues:
            print(f"queued {queue.queued:,}:")
            for each in queue.timed.values():
                print("  " + each.summary())
        for queue in queues:
            for name, plan in queue.plans().items():
                if args.plans or queue.queued == max(args.sizes):
                    print(f"\n--- {name} at {queue.queued:,} queued (the tenant with the most) ---\n{plan}\n")
                found = _SEQ_SCAN.search(plan)
                if found:
                    failed = True
                    print(f"FAIL: {name} at {queue.queued:,} queued scans a whole table: {found[0]}")
    finally:
        for queue in queues:
            queue.close()
            if not args.keep:
                scratch_database(args.admin_url, f"qbwc_bench_queue_{queue.queued}", drop_only=True)
    results = {queue.queued: queue.timed for queue in queues}
    small, large = min(results), max(results)
    for name in results[small]:
        big, little = results[large][name], results[small][name]
        ratio = statistics.median(big.times) / statistics.median(little.times)
        leased = statistics.mean(big.rows) / max(statistics.mean(little.rows), 0.01)
        if leased > 1.5:  # a batch fills with the tenant's queue: its call is not the same work
            per_job = ratio / leased
            print(f"note: {name} p50 at {large:,} queued / at {small:,}: {ratio:.2f}x, leasing"
                  f" {leased:.1f}x the jobs per call; per job leased {per_job:.2f}x")  # fmt: skip
            continue
        verdict = "ok" if ratio <= 1.5 else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{verdict}: {name} p50 at {large:,} queued / at {small:,}: {ratio:.2f}x (target <= 1.5x)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
