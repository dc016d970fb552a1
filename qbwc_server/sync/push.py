"""Pushes: the commerce side's records into QuickBooks, each exactly once.

A PUT writes the mirror row (its `commerce_body`) and plans the record's push job in one
transaction (`plan_push`). The job holds no request: its handler builds one at send time from
the row as it is then, so a record changed twice before the Web Connector calls goes once.

A push handler is in one of three modes, chosen by the job, never guessed:

    write      the Add (no QuickBooks id yet) or the Mod (ListID/TxnID + EditSequence)
    look-up    claimed from `unconfirmed` (a write whose answer was lost): ask QuickBooks
               whether the write happened (by Name / RefNumber / …) and adopt what is there;
               only if nothing is there does the job go again as a write (RESTART)
    re-read    after 3200 (stale EditSequence): read the record, merge, Mod again

A push's job is `entity_ref` = the mirror row's id and `if_unanswered = look_up`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from lxml import etree
from sqlalchemy import Connection, text

from qbwc_server.config import TenantSettings
from qbwc_server.models import IfUnanswered, SyncState
from qbwc_server.qbxml.core import QbxmlError, QbxmlVersion, ResponseStatus
from qbwc_server.qbxml.errors import Outcome, explain_status
from qbwc_server.queue import ClaimedJob, JobResult, enqueue
from qbwc_server.queue.jobs import Action
from qbwc_server.sync.base import Database, Reply
from qbwc_server.sync.push_settings import PushSettings

#: Push job kinds -> the mirror table whose rows they push (lists.push adds default list entries).
PUSH_TABLES = {
    "customers.push": "customers",
    "orders.push": "sales_orders",
    "payments.push": "payments",
}
#: Among the pulls' priorities (sync/pulls.py: lists 10, customers 20, items 30 …): a first session
#: brings lists and items into the mirror before the pushes that resolve names against them; then
#: default list entries before what needs them, customers before their orders, orders before
#: payments. A pull's next page (priority 0) finishes before anything new starts.
PUSH_PRIORITY = {"lists.push": 40, "customers.push": 50, "orders.push": 60, "payments.push": 70}
#: Statuses of a push job that has not left yet: a newer PUT reuses it (it reads the row at send time).
_NOT_SENT = ("queued", "blocked", "failed", "dead")


def plan_push(
    conn: Connection,
    tenant_id: int,
    kind: str,
    row_id: int | str,
    *,
    depends_on: Iterable[int] = (),
    run_after: dt.datetime | None = None,
    params: Mapping[str, Any] | None = None,
) -> int:
    """The record's push job, in the caller's transaction: the one not sent yet is reused (queued
    again with fresh attempts; it reads the row when it is sent), else a new one, which waits for
    a push of the same record still in flight (sent, or unconfirmed and to be looked up).
    """
    ref = str(row_id)
    jobs = conn.execute(
        text("""
            SELECT id, status FROM jobs
            WHERE tenant_id = :t AND kind = :k AND entity_ref = :r AND status <> 'done'
              AND kind LIKE '%.push' AND entity_ref IS NOT NULL
            ORDER BY id DESC FOR UPDATE
        """),
        {"t": tenant_id, "k": kind, "r": ref},
    ).all()
    waiting = [job.id for job in jobs if job.status in _NOT_SENT]
    in_flight = [job.id for job in jobs if job.status not in _NOT_SENT]
    if waiting:
        job_id = int(waiting[0])
        _requeue(conn, job_id, [*depends_on, *in_flight], run_after, params)
        return job_id
    return enqueue(
        conn,
        tenant_id,
        kind,
        entity_ref=ref,
        priority=PUSH_PRIORITY.get(kind, 60),
        depends_on=[*depends_on, *in_flight],
        run_after=run_after,
        params=dict(params) if params is not None else None,
        if_unanswered=IfUnanswered.LOOK_UP,
        max_attempts=8,
    )


def latest_push_job(conn: Connection, tenant_id: int, kind: str, row_id: int | str) -> int | None:
    """The record's newest push job that is not done (what a dependent must wait for), or None."""
    found = conn.execute(
        text("""
            SELECT max(id) FROM jobs
            WHERE tenant_id = :t AND kind = :k AND entity_ref = :r AND status <> 'done'
              AND kind LIKE '%.push' AND entity_ref IS NOT NULL
        """),
        {"t": tenant_id, "k": kind, "r": str(row_id)},
    ).scalar()
    return int(found) if found is not None else None


def set_sync_state(
    conn: Connection,
    table: str,
    row_id: int,
    state: SyncState | str,
    *,
    message: str | None = None,
    quickbooks_code: int | None = None,
    fix: str | None = None,
) -> None:
    """Where the row stands, with why (`sync_error`, JSON text; none once synced or pending)."""
    error = None
    if message or fix or quickbooks_code is not None:
        error = json.dumps({"message": message, "quickbooks_code": quickbooks_code, "fix": fix})
    conn.execute(
        text(f"UPDATE {table} SET sync_state = :s, sync_error = :e, updated_at = now() WHERE id = :id"),
        {"s": SyncState(state).value, "e": error, "id": row_id},
    )


def sync_error(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The row's `sync_error` as {"message", "quickbooks_code", "fix"} (plain text tolerated)."""
    raw = row.get("sync_error")
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return {k: parsed.get(k) for k in ("message", "quickbooks_code", "fix")}
    return {"message": str(raw), "quickbooks_code": None, "fix": None}


@dataclass
class PushContext:
    """What building or applying one push needs: the transaction, the job, the tenant's settings
    and QuickBooks' preferences (read once per job, lazily)."""

    conn: Connection
    job: ClaimedJob
    version: QbxmlVersion | None = None
    #: Shared by the jobs of one message (`Database.memo`): the tenant is read once for all.
    memo: dict[object, object] = field(default_factory=dict)
    _settings: PushSettings | None = None
    _preferences: dict[str, Any] | None = None

    @property
    def tenant_id(self) -> int:
        return self.job.tenant_id

    @property
    def row_id(self) -> int:
        return int(self.job.entity_ref or 0)

    @property
    def settings(self) -> PushSettings:
        if self._settings is None:
            self._load_tenant()
        assert self._settings is not None
        return self._settings

    @property
    def preferences(self) -> dict[str, Any]:
        """`tenants.company_preferences` (brief: edition, class_tracking, sales_tax, …); {} unknown."""
        if self._preferences is None:
            self._load_tenant()
        assert self._preferences is not None
        return self._preferences

    def _load_tenant(self) -> None:
        key = ("push tenant", self.tenant_id)
        if key not in self.memo:
            row = self.conn.execute(
                text("SELECT settings, company_preferences FROM tenants WHERE id = :t"), {"t": self.tenant_id}
            ).one()
            settings = PushSettings.of(TenantSettings.from_stored(row.settings))
            self.memo[key] = (settings, dict(row.company_preferences or {}))
        settings, preferences = cast(tuple[PushSettings, dict[str, Any]], self.memo[key])
        self._settings, self._preferences = settings, dict(preferences)


class PushHandler:
    """The base of every record push; a subclass writes its qbXML and how an answer lands.

    Subclasses set `kind`, `nouns`, `table` and implement `build_write`, `build_lookup`,
    `apply_written` and `apply_lookup` (and `build_reread` / `apply_reread` where a Mod can meet
    3200). Each `build_*` returns `*Rq` element(s) with requestID = the job id.
    """

    kind: str
    nouns: tuple[str, str]
    table: str
    #: Same-kind pushes one message carries (continueOnError); each `*Rs` is matched by requestID.
    batch_size = 50
    counts_records = False

    # -- the contract the session calls (sync/base.py) ---------------------------------------

    def build_request(self, db: Database, job: ClaimedJob, version: QbxmlVersion) -> str:
        ctx = PushContext(db.conn, job, version, memo=db.memo)
        row = self.load(ctx, lock=False)
        if job.unconfirmed:
            return self.build_lookup(ctx, row)
        if (job.params or {}).get("reread"):
            return self.build_reread(ctx, row)
        return self.build_write(ctx, row)

    def receive(self, db: Database, job: ClaimedJob, reply: Reply) -> JobResult:
        messages = reply.messages()
        if not messages:
            raise QbxmlError(f"the answer has no response to request {job.id}")
        ctx = PushContext(db.conn, job)
        row = self.load(ctx, lock=True)
        status = ResponseStatus.from_element(messages[0])
        if job.unconfirmed:
            return self.apply_lookup(ctx, row, messages[0], status)
        if (job.params or {}).get("reread"):
            return self.apply_reread(ctx, row, messages[0], status)
        if status.is_error:
            return self.refused(ctx, row, status)
        return self.apply_written(ctx, row, messages[0], status)

    # -- what a subclass writes ---------------------------------------------------------------

    def build_write(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def build_lookup(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def build_reread(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        raise NotImplementedError(f"{self.kind} does not re-read")

    def apply_written(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        raise NotImplementedError

    def apply_lookup(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        raise NotImplementedError

    def apply_reread(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        raise NotImplementedError(f"{self.kind} does not re-read")

    # -- shared steps ----------------------------------------------------------------------------

    def load(self, ctx: PushContext, *, lock: bool) -> dict[str, Any]:
        """The job's mirror row (locked while an answer lands, so a PUT waits for it)."""
        locking = "FOR UPDATE" if lock else ""
        sql = f"SELECT * FROM {self.table} WHERE id = :id AND tenant_id = :t {locking}"
        row = ctx.conn.execute(text(sql), {"id": ctx.row_id, "t": ctx.tenant_id}).mappings().first()
        if row is None:
            raise LookupError(f"{self.table} row {ctx.row_id} no longer exists")
        return dict(row)

    def refused(self, ctx: PushContext, row: Mapping[str, Any], status: ResponseStatus) -> JobResult:
        """QuickBooks said no: the outcome `qbxml/errors.py` gives the code, the row's state and
        fix to match. Subclasses handle the codes they can recover from first (3100, 3140, 3200…)."""
        explanation = explain_status(status.code, status.message)
        state = {
            Outcome.RETRY: SyncState.PENDING,
            Outcome.WAIT_FOR_DEPENDENCY: SyncState.WAITING,
        }.get(explanation.outcome, SyncState.FAILED)
        set_sync_state(
            ctx.conn,
            self.table,
            int(row["id"]),
            state,
            message=status.message or explanation.meaning,
            quickbooks_code=status.code,
            fix=explanation.fix,
        )
        return JobResult.fail(explanation.outcome, _job_message(status, explanation.fix), status.code)

    def synced(self, ctx: PushContext, row_id: int, *, records: int = 1) -> JobResult:
        """Done: the row matches QuickBooks, unless a newer PUT queued another push meanwhile."""
        newer = ctx.conn.execute(
            text("""
                SELECT 1 FROM jobs WHERE tenant_id = :t AND kind = :k AND entity_ref = :r
                  AND status <> 'done' AND id <> :j AND kind LIKE '%.push' AND entity_ref IS NOT NULL
                LIMIT 1
            """),
            {"t": ctx.tenant_id, "k": self.kind, "r": str(row_id), "j": ctx.job.id},
        ).first()
        set_sync_state(ctx.conn, self.table, row_id, SyncState.PENDING if newer else SyncState.SYNCED)
        return JobResult(Action.DONE, records=records)

    def again_as_write(self, message: str, params: Mapping[str, Any] | None = None) -> JobResult:
        """A look-up or re-read found what it needed: the job goes again at once as a write."""
        kept = {k: v for k, v in (params or {}).items() if k not in ("reread", "looking_up")}
        return JobResult(Action.RESTART, message=message, params=kept)


def _requeue(
    conn: Connection,
    job_id: int,
    depends_on: list[int],
    run_after: dt.datetime | None,
    params: Mapping[str, Any] | None,
) -> None:
    """A reused push job goes again with fresh attempts; dependents it held are released."""
    for dependency in sorted(set(depends_on) - {job_id}):
        conn.execute(
            text("""
                INSERT INTO job_dependencies (job_id, depends_on_id, tenant_id)
                SELECT :j, :d, tenant_id FROM jobs WHERE id = :j ON CONFLICT DO NOTHING
            """),
            {"j": job_id, "d": dependency},
        )
    conn.execute(
        text("""
            UPDATE jobs SET status = CASE WHEN EXISTS (
                                SELECT 1 FROM job_dependencies dep JOIN jobs d ON d.id = dep.depends_on_id
                                WHERE dep.job_id = jobs.id AND d.status IN ('failed', 'dead', 'blocked'))
                            THEN 'blocked' ELSE 'queued' END,
                   attempts = 0, finished_at = NULL, last_message = NULL, last_status_code = NULL,
                   run_after = coalesce(:run_after, now()),
                   params = coalesce(CAST(:params AS jsonb), params), updated_at = now()
            WHERE id = :id
        """),
        {"id": job_id, "run_after": run_after, "params": json.dumps(dict(params)) if params else None},
    )
    conn.execute(
        text("""
            UPDATE jobs SET status = 'queued', last_message = NULL, updated_at = now()
            WHERE status = 'blocked' AND id IN (SELECT job_id FROM job_dependencies WHERE depends_on_id = :id)
              AND NOT EXISTS (SELECT 1 FROM job_dependencies dep JOIN jobs d ON d.id = dep.depends_on_id
                              WHERE dep.job_id = jobs.id AND d.status IN ('failed', 'dead', 'blocked'))
              AND (SELECT status FROM jobs WHERE id = :id) = 'queued'
        """),
        {"id": job_id},
    )


def _job_message(status: ResponseStatus, fix: str) -> str:
    said = f"QuickBooks {status.code}: {status.message}".strip().rstrip(":")
    return f"{said}. {fix}" if fix else said
