"""What a push sends where the commerce side gave no usable value: the tenant's defaults
(`PushSettings`), checked against the mirror of QuickBooks' lists, never failing a push.

- Sales tax code: none at all when the company does not use sales tax; else the tenant's code,
  else the company's non-taxable code (its preferences), else "Non".
- Rep: the rep mapped to the email (`sales_rep_emails`), else the default rep found by its
  initials or by the name they stand for; no rep at all when neither is in the mirror.
- Terms, customer type, class: the wanted entry when the mirror has it (any case, active), else
  the default. A default the mirror lacks is omitted from this request, and a `lists.push` job
  looks for it in QuickBooks and adds it there (ClassAdd, StandardTermsAdd, CustomerTypeAdd) —
  planned once: again only after a day, so a company that refuses it is not asked every push.
  No class when class tracking is off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, cast

from sqlalchemy import Connection, text

from qbwc_server.config import TenantSettings
from qbwc_server.sync.push import PushContext, plan_push
from qbwc_server.sync.push_settings import PushSettings

ListName = Literal["terms", "customer_types", "classes"]
LIST_PUSH = "lists.push"
#: Mirror table and the column holding the name a reference sends (FullName).
_MIRROR = {"terms": ("terms", "name"), "customer_types": ("customer_types", "full_name"),
           "classes": ("classes", "full_name")}  # fmt: skip
#: How long a finished look-up/add of a default keeps another from being planned.
_REPLAN_AFTER = "1 day"


def sales_tax_code(ctx: PushContext) -> str | None:
    """The sales tax code for customers, orders and lines; None when the company has no sales tax."""
    preferences = ctx.preferences
    if preferences.get("sales_tax") is False:
        return None
    configured = ctx.settings.default_tax_code or preferences.get("non_taxable_code")
    return str(configured) if configured else "Non"


def rep_initials(ctx: PushContext, email: str | None) -> str | None:
    """The rep code (initials) to send for `email`: its mapped rep, else the tenant's default rep."""
    if email and email.strip():
        mapped = ctx.conn.execute(
            text("""
                SELECT r.code FROM sales_rep_emails e
                JOIN sales_reps r ON r.tenant_id = e.tenant_id AND r.code = e.code
                WHERE e.tenant_id = :t AND lower(e.email) = lower(:email)
                  AND r.is_active AND r.deleted_at IS NULL
                ORDER BY r.id LIMIT 1
            """),
            {"t": ctx.tenant_id, "email": email.strip()},
        ).scalar()
        if mapped:
            return str(mapped)
    wanted = ctx.settings.default_rep
    found = ctx.conn.execute(
        text("""
            SELECT code FROM sales_reps
            WHERE tenant_id = :t AND is_active AND deleted_at IS NULL
              AND (lower(code) = lower(:d) OR lower(entity_name) = lower(:d))
            ORDER BY lower(code) = lower(:d) DESC, id LIMIT 1
        """),
        {"t": ctx.tenant_id, "d": wanted},
    ).scalar()
    return str(found) if found else None


def list_entry(ctx: PushContext, list_name: ListName, wanted: str | None) -> str | None:
    """The FullName to send: `wanted` when the mirror has it, else the tenant's default when the
    mirror has that; otherwise None, and the default's `lists.push` is planned (committed on its
    own: requests are built in a read-only transaction) so a later push can send it.
    """
    if list_name == "classes" and ctx.preferences.get("class_tracking") is False:
        return None
    if wanted and wanted.strip():
        found = _in_mirror(ctx.conn, ctx.tenant_id, list_name, wanted.strip())
        if found:
            return found
    default = _default_of(ctx.settings, list_name)
    found = _in_mirror(ctx.conn, ctx.tenant_id, list_name, default)
    if found:
        return found
    with ctx.conn.engine.begin() as own:
        plan_list_push(own, ctx.tenant_id, list_name, default)
    return None


def plan_missing_defaults(conn: Connection, tenant_id: int, lists: Iterable[str]) -> list[int]:
    """For each list whose tenant default the mirror lacks, its `lists.push` job (in the caller's
    transaction), for the record's push to depend on. Planned once; a job not done is reused.
    """
    row = conn.execute(
        text("SELECT settings, company_preferences FROM tenants WHERE id = :t"), {"t": tenant_id}
    ).one()
    settings = PushSettings.of(TenantSettings.from_stored(row.settings))
    preferences = dict(row.company_preferences or {})
    jobs: list[int] = []
    for requested in dict.fromkeys(lists):
        if requested not in _MIRROR:
            raise ValueError(f"no default for list {requested!r}")
        list_name = cast(ListName, requested)
        if list_name == "classes" and preferences.get("class_tracking") is False:
            continue
        default = _default_of(settings, list_name)
        if _in_mirror(conn, tenant_id, list_name, default):
            continue
        job = plan_list_push(conn, tenant_id, list_name, default)
        if job is not None:
            jobs.append(job)
    return jobs


def plan_list_push(conn: Connection, tenant_id: int, list_name: ListName, name: str) -> int | None:
    """The `lists.push` job for `name`: the one not done yet, else a new one — unless one finished
    within a day (QuickBooks refused it, or it is there but inactive): then None, it is omitted.
    """
    ref = f"{list_name}:{name}"
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{tenant_id}:{LIST_PUSH}:{ref}"})
    recent = conn.execute(
        text(f"""
            SELECT id, status FROM jobs
            WHERE tenant_id = :t AND kind = :k AND entity_ref = :r
              AND (status <> 'done' OR finished_at > now() - interval '{_REPLAN_AFTER}')
            ORDER BY (status <> 'done') DESC, id DESC LIMIT 1
        """),
        {"t": tenant_id, "k": LIST_PUSH, "r": ref},
    ).first()
    if recent is not None:
        return int(recent.id) if recent.status != "done" else None
    return plan_push(conn, tenant_id, LIST_PUSH, ref, params={"list": list_name, "name": name})


def _default_of(settings: PushSettings, list_name: ListName) -> str:
    return {
        "terms": settings.default_terms,
        "customer_types": settings.default_customer_type,
        "classes": settings.default_class,
    }[list_name]


def _in_mirror(conn: Connection, tenant_id: int, list_name: ListName, name: str) -> str | None:
    """The mirror's spelling of an active, undeleted entry named `name` (any case), or None."""
    table, column = _MIRROR[list_name]
    found = conn.execute(
        text(f"""
            SELECT {column} FROM {table}
            WHERE tenant_id = :t AND lower({column}) = lower(:n) AND is_active AND deleted_at IS NULL
            ORDER BY {column} = :n DESC, id LIMIT 1
        """),
        {"t": tenant_id, "n": name},
    ).scalar()
    return str(found) if found is not None else None
