"""STAND-IN (push-txns branch) for the customers push helper's defaults resolution: the same
signatures (brief §Defaults), implemented simply so order and payment pushes can be built and
tested. At merge the other helper's module replaces this file whole.

Not done here: planning a `lists.push` job for a default missing from the mirror (this returns
None for it, and nothing is planned).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from sqlalchemy import Connection, text

from qbwc_server.sync.push import PushContext

ListName = Literal["terms", "customer_types", "classes"]
_NAME_COLUMN = {"terms": "name", "customer_types": "full_name", "classes": "full_name"}


def sales_tax_code(ctx: PushContext) -> str | None:
    """None when the company does not use sales tax; else the tenant's code, the company's
    non-taxable code, or "Non"."""
    if ctx.preferences.get("sales_tax") is False:
        return None
    return ctx.settings.default_tax_code or ctx.preferences.get("non_taxable_code") or "Non"


def rep_initials(ctx: PushContext, email: str | None) -> str | None:
    """The rep mapped to `email`, else the default rep found by initials or name; None: no rep."""
    if email:
        code = ctx.conn.execute(
            text("""
                SELECT code FROM sales_rep_emails WHERE tenant_id = :t AND lower(email) = lower(:e) LIMIT 1
            """),
            {"t": ctx.tenant_id, "e": email},
        ).scalar()
        if code:
            return str(code)
    found = ctx.conn.execute(
        text("""
            SELECT code FROM sales_reps WHERE tenant_id = :t AND is_active AND deleted_at IS NULL
              AND (upper(code) = upper(:d) OR upper(entity_name) = upper(:d))
            ORDER BY upper(code) = upper(:d) DESC LIMIT 1
        """),
        {"t": ctx.tenant_id, "d": ctx.settings.default_rep},
    ).scalar()
    return str(found) if found else None


def list_entry(ctx: PushContext, list_name: ListName, wanted: str | None) -> str | None:
    """`wanted` as the mirror spells it, else the tenant default when the mirror has it, else None."""
    if list_name == "classes" and ctx.preferences.get("class_tracking") is False:
        return None
    default = {
        "terms": ctx.settings.default_terms,
        "customer_types": ctx.settings.default_customer_type,
        "classes": ctx.settings.default_class,
    }[list_name]
    for name in (wanted, default):
        if name:
            found = _in_mirror(ctx.conn, ctx.tenant_id, list_name, name)
            if found:
                return found
    return None


def plan_missing_defaults(conn: Connection, tenant_id: int, lists: Iterable[str]) -> list[int]:
    """Stand-in: plans nothing (the customers push helper's version plans `lists.push` jobs)."""
    return []


def _in_mirror(conn: Connection, tenant_id: int, list_name: ListName, name: str) -> str | None:
    column = _NAME_COLUMN[list_name]
    found = conn.execute(
        text(f"""
            SELECT {column} FROM {list_name}
            WHERE tenant_id = :t AND is_active AND deleted_at IS NULL AND upper({column}) = upper(:n)
            LIMIT 1
        """),
        {"t": tenant_id, "n": name},
    ).scalar()
    return str(found) if found else None
