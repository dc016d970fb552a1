"""Sales reps: QuickBooks' rep codes (initials, pulled) and the emails they stand for on the
commerce side (set by admins). The pull that fills `sales_reps` is sync/lists.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from qbwc_server.errors import QbwcError
from qbwc_server.sync.lists import map_rep_email, touch_reps


class RepError(QbwcError, ValueError):
    """A rep mapping that is not a code and an email address."""

    code = "validation_failed"


@dataclass(frozen=True)
class Rep:
    """A rep code known from QuickBooks, from a mapping, or both."""

    code: str
    #: The rep's name in QuickBooks; None when only mapped so far.
    name: str | None
    #: None when the rep has not been pulled from QuickBooks.
    active: bool | None
    email: str | None


def map_rep(conn: Connection, tenant_id: int, code: str, email: str) -> bool:
    """Map the QuickBooks rep code `code` to `email` (replacing an earlier mapping); True when a
    rep with that code has been pulled already (a mapping may come first)."""
    if "@" not in email or email.strip() != email or not code.strip():
        raise RepError(f"expected a rep code and an email address, got {code!r} {email!r}")
    return map_rep_email(conn, tenant_id, code.strip(), email)


def unmap_rep(conn: Connection, tenant_id: int, code: str) -> str:
    """Remove the email mapped to rep code `code`; returns that email (RepError if none was).
    A rep pulled from QuickBooks stays listed, unmapped."""
    email = conn.execute(
        text("DELETE FROM sales_rep_emails WHERE tenant_id = :t AND code = :code RETURNING email"),
        {"t": tenant_id, "code": code.strip()},
    ).scalar_one_or_none()
    if email is None:
        raise RepError(f"no email mapped to rep code {code.strip()!r} (see `qbwc-server reps list`)")
    touch_reps(conn, tenant_id, code.strip())
    return str(email)


def list_reps(conn: Connection, tenant_id: int) -> list[Rep]:
    """Pulled reps and mapped codes, by code; deleted reps are left out."""
    rows = conn.execute(
        text("""
            SELECT coalesce(r.code, e.code) AS code, r.entity_name, r.is_active, e.email
            FROM (SELECT * FROM sales_reps WHERE tenant_id = :t AND deleted_at IS NULL) r
            FULL JOIN (SELECT * FROM sales_rep_emails WHERE tenant_id = :t) e ON e.code = r.code
            ORDER BY 1
        """),
        {"t": tenant_id},
    )
    return [Rep(*row) for row in rows]
