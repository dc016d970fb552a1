"""The QuickBooks customers an admin may link a waiting commerce customer to (a 3100: the name is
in use): the status page's Link form lists them by name.

Only customers QuickBooks has (a ListID), active, and not yet claimed by another commerce id are
offered: linking any other fails (admin/records.link_customer). A company may have tens of
thousands, so a listing is capped and narrowed by a name prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

#: Most customers one listing offers; a longer list is narrowed by typing the name's start.
MAX_CHOICES = 200


@dataclass(frozen=True)
class QuickBooksCustomer:
    list_id: str
    #: QuickBooks' FullName ("Parent:Job" for a job), the name admins know it by.
    full_name: str


@dataclass(frozen=True)
class CustomerChoices:
    """Customers whose name starts with the prefix, by name, at most `limit`; `more` when others
    match too. `same_name` are those named exactly as a waiting customer (the likely match)."""

    customers: tuple[QuickBooksCustomer, ...]
    more: bool
    same_name: tuple[QuickBooksCustomer, ...]


_LINKABLE = """
    FROM customers
    WHERE tenant_id = :t AND qb_list_id IS NOT NULL AND is_active AND commerce_id IS NULL
"""


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def link_choices(
    conn: Connection, tenant_id: int, *, prefix: str = "", names: Sequence[str] = (), limit: int = MAX_CHOICES
) -> CustomerChoices:
    """The linkable QuickBooks customers whose name starts with `prefix` (case-insensitive), and
    those named exactly as one of `names`."""
    rows = conn.execute(
        text(
            "SELECT qb_list_id, full_name "
            + _LINKABLE
            + " AND full_name ILIKE :prefix ESCAPE '\\' ORDER BY full_name, qb_list_id LIMIT :n"
        ),
        {"t": tenant_id, "prefix": _escape_like(prefix.strip()) + "%", "n": limit + 1},
    ).all()
    same = (
        conn.execute(
            text(
                "SELECT qb_list_id, full_name "
                + _LINKABLE
                + " AND (full_name = ANY(:names) OR name = ANY(:names)) ORDER BY full_name, qb_list_id"
            ),
            {"t": tenant_id, "names": list(names)},
        ).all()
        if names
        else []
    )
    return CustomerChoices(
        customers=tuple(QuickBooksCustomer(*row) for row in rows[:limit]),
        more=len(rows) > limit,
        same_name=tuple(QuickBooksCustomer(*row) for row in same),
    )
