"""The mirror of QuickBooks' lists and master records: sync cursors, customers (+ ship-to
addresses) and items. Transactions live in `transactions.py`, small lists in `lists.py`.

Every mirrored row keeps both ids (the commerce side's `commerce_id`, QuickBooks' ListID/TxnID
with its EditSequence), QuickBooks' own times, a sync state, and `deleted_at` once QuickBooks
deleted it (rows are never removed, so the commerce side sees the deletion).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, UniqueConstraint, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from qbwc_server.models.base import Base, bigint_pk, created_at, updated_at

money = Numeric(15, 2)
quantity = Numeric(18, 5)


class SyncState(enum.StrEnum):
    """Where a row stands between the two sides (API.md's `sync.state`).

    Every state but `synced` is a local change QuickBooks does not have yet: a pull never
    overwrites such a row (the push reads it at send time, and settles a conflict on 3200).
    """

    #: Changed on the commerce side; a push is queued or on its way.
    PENDING = "pending"
    #: The push was sent and its answer lost; QuickBooks is being checked before anything is resent.
    UNCONFIRMED = "unconfirmed"
    #: Matches QuickBooks as of `qb_time_modified`.
    SYNCED = "synced"
    #: Held by something else (a dependency, an invoice not pulled yet, the edition); `sync_error` says what.
    WAITING = "waiting"
    #: QuickBooks has another record of that name (3100): link it or rename.
    NEEDS_MAPPING = "needs_mapping"
    #: An item the record refers to is missing in QuickBooks (3140).
    NEEDS_ITEM = "needs_item"
    #: QuickBooks refused the push; `sync_error` says why.
    FAILED = "failed"


class SyncCursor(Base):
    """How far a pull of one entity has been applied for one tenant, and when it is next due."""

    __tablename__ = "sync_cursors"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    entity: Mapped[str] = mapped_column(primary_key=True)
    #: Highest TimeModified fully applied; advanced only when an iteration completes.
    last_modified: Mapped[dt.datetime | None]
    last_full_refresh_at: Mapped[dt.datetime | None]
    #: When the last pull of this entity finished (every page applied).
    last_completed_at: Mapped[dt.datetime | None]
    #: When the next pull should be queued; NULL means now.
    next_due_at: Mapped[dt.datetime | None]
    updated_at: Mapped[updated_at]


class TenantRow:
    """A row that belongs to one tenant."""

    id: Mapped[bigint_pk]

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))


class MirroredRecord(TenantRow):
    """Both ids, QuickBooks' version of the row, and its sync state."""

    #: The commerce side's id, when the record came from (or was linked to) it.
    commerce_id: Mapped[str | None]
    edit_sequence: Mapped[str | None]
    qb_time_created: Mapped[dt.datetime | None]
    qb_time_modified: Mapped[dt.datetime | None]
    sync_state: Mapped[str] = mapped_column(server_default=SyncState.SYNCED.value)
    sync_error: Mapped[str | None]
    #: When QuickBooks reported it deleted (ListDeletedQuery / TxnDeletedQuery).
    deleted_at: Mapped[dt.datetime | None]
    custom_fields: Mapped[dict[str, Any] | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class PushedRecord:
    """What a record the commerce side writes keeps of it (customers, orders, payments)."""

    #: The last body a PUT accepted, normalised (API.md: "unchanged" compares against it); what a
    #: push sends. Fields it leaves out are never sent, so QuickBooks keeps what it holds there.
    commerce_body: Mapped[dict[str, Any] | None]
    commerce_updated_at: Mapped[dt.datetime | None]


def record_constraints(table: str, qb_id: str) -> tuple[Any, ...]:
    """One row per QuickBooks id and per commerce id within a tenant; a known sync state."""
    return (
        UniqueConstraint("tenant_id", qb_id),
        Index(
            f"uq_{table}_tenant_id_commerce_id",
            "tenant_id",
            "commerce_id",
            unique=True,
            postgresql_where=text("commerce_id IS NOT NULL"),
        ),
        CheckConstraint(f"sync_state IN ({', '.join(repr(s.value) for s in SyncState)})", name="sync_state"),
        # The list endpoints page by (updated_at, id) within a tenant (admin/listings.py).
        Index(f"ix_{table}_tenant_id_updated_at_id", "tenant_id", "updated_at", "id"),
    )


class ListRecord(MirroredRecord):
    qb_list_id: Mapped[str | None]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))


class Customer(ListRecord, PushedRecord, Base):
    __tablename__ = "customers"

    name: Mapped[str]
    full_name: Mapped[str]
    parent_list_id: Mapped[str | None]
    sublevel: Mapped[int] = mapped_column(server_default=text("0"))
    company_name: Mapped[str | None]
    salutation: Mapped[str | None]
    first_name: Mapped[str | None]
    last_name: Mapped[str | None]
    email: Mapped[str | None]
    phone: Mapped[str | None]
    alt_phone: Mapped[str | None]
    fax: Mapped[str | None]
    contact: Mapped[str | None]
    alt_contact: Mapped[str | None]
    bill_address: Mapped[dict[str, Any] | None]
    ship_address: Mapped[dict[str, Any] | None]
    customer_type_list_id: Mapped[str | None]
    customer_type_name: Mapped[str | None]
    terms_list_id: Mapped[str | None]
    terms_name: Mapped[str | None]
    sales_rep_list_id: Mapped[str | None]
    #: The rep's initials in QuickBooks (their code); `sales_rep_emails` maps it to an email.
    sales_rep_code: Mapped[str | None]
    sales_tax_code_name: Mapped[str | None]
    price_level_list_id: Mapped[str | None]
    price_level_name: Mapped[str | None]
    balance: Mapped[Decimal | None] = mapped_column(money)
    total_balance: Mapped[Decimal | None] = mapped_column(money)
    credit_limit: Mapped[Decimal | None] = mapped_column(money)
    account_number: Mapped[str | None]
    job_status: Mapped[str | None]
    notes: Mapped[str | None]

    __table_args__ = record_constraints("customers", "qb_list_id")


class CustomerShipAddress(TenantRow, Base):
    """A named ship-to address of a customer (qbXML 12.0+), replaced whenever the customer changes."""

    __tablename__ = "customer_ship_addresses"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str]
    is_default: Mapped[bool] = mapped_column(server_default=text("false"))
    addr1: Mapped[str | None]
    addr2: Mapped[str | None]
    addr3: Mapped[str | None]
    addr4: Mapped[str | None]
    addr5: Mapped[str | None]
    city: Mapped[str | None]
    state: Mapped[str | None]
    postal_code: Mapped[str | None]
    country: Mapped[str | None]
    note: Mapped[str | None]


class ItemKind(enum.StrEnum):
    #: ItemInventory.
    INVENTORY = "inventory"
    #: ItemInventoryAssembly.
    ASSEMBLY = "assembly"


class Item(ListRecord, Base):
    """A product: an inventory part or an assembly, with its stock figures."""

    __tablename__ = "items"

    kind: Mapped[str]
    name: Mapped[str]
    full_name: Mapped[str]
    parent_list_id: Mapped[str | None]
    sublevel: Mapped[int] = mapped_column(server_default=text("0"))
    manufacturer_part_number: Mapped[str | None]
    sales_desc: Mapped[str | None]
    sales_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 5))
    purchase_desc: Mapped[str | None]
    purchase_cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 5))
    average_cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 5))
    sales_tax_code_name: Mapped[str | None]
    reorder_point: Mapped[Decimal | None] = mapped_column(quantity)
    build_point: Mapped[Decimal | None] = mapped_column(quantity)
    quantity_on_hand: Mapped[Decimal | None] = mapped_column(quantity)
    quantity_on_order: Mapped[Decimal | None] = mapped_column(quantity)
    quantity_on_sales_order: Mapped[Decimal | None] = mapped_column(quantity)
    #: When the quantities were last read (the lean refresh), since they move without TimeModified.
    quantities_at: Mapped[dt.datetime | None]
    external_guid: Mapped[str | None]

    __table_args__ = (
        *record_constraints("items", "qb_list_id"),
        CheckConstraint(f"kind IN ({', '.join(repr(k.value) for k in ItemKind)})", name="kind"),
    )
