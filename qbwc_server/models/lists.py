"""The mirror of QuickBooks' small lists: price levels (+ per-item prices), sales reps and the
admin's rep code -> email map, terms, customer types, classes, sales tax codes.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from qbwc_server.models.base import Base, created_at, updated_at
from qbwc_server.models.mirror import ListRecord, TenantRow, record_constraints


class PriceLevel(ListRecord, Base):
    __tablename__ = "price_levels"

    name: Mapped[str]
    #: "FixedPercentage" (fixed_percentage applies to every item) or "PerItem" (price_level_items).
    price_level_type: Mapped[str | None]
    fixed_percentage: Mapped[Decimal | None] = mapped_column(Numeric(12, 5))

    __table_args__ = record_constraints("price_levels", "qb_list_id")


class PriceLevelItem(TenantRow, Base):
    __tablename__ = "price_level_items"

    price_level_id: Mapped[int] = mapped_column(ForeignKey("price_levels.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    item_list_id: Mapped[str | None]
    item_name: Mapped[str | None]
    custom_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 5))
    custom_price_percent: Mapped[Decimal | None] = mapped_column(Numeric(12, 5))


class SalesRep(ListRecord, Base):
    __tablename__ = "sales_reps"

    #: The rep's code in QuickBooks (Initial, up to 5 characters).
    code: Mapped[str]
    entity_name: Mapped[str | None]

    __table_args__ = record_constraints("sales_reps", "qb_list_id")


class SalesRepEmail(Base):
    """The admin's map from a QuickBooks rep code to the rep's email on the commerce side."""

    __tablename__ = "sales_rep_emails"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(primary_key=True)
    email: Mapped[str]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class Terms(ListRecord, Base):
    __tablename__ = "terms"

    name: Mapped[str]
    #: "standard" (due N days after) or "date_driven" (due on a day of the month).
    kind: Mapped[str]
    due_days: Mapped[int | None]
    discount_days: Mapped[int | None]
    discount_pct: Mapped[Decimal | None] = mapped_column(Numeric(12, 5))
    day_of_month_due: Mapped[int | None]
    due_next_month_days: Mapped[int | None]
    discount_day_of_month: Mapped[int | None]

    __table_args__ = record_constraints("terms", "qb_list_id")


class HierarchicalList(ListRecord):
    name: Mapped[str]
    full_name: Mapped[str]
    parent_list_id: Mapped[str | None]
    sublevel: Mapped[int] = mapped_column(server_default="0")


class CustomerType(HierarchicalList, Base):
    __tablename__ = "customer_types"
    __table_args__ = record_constraints("customer_types", "qb_list_id")


class QbClass(HierarchicalList, Base):
    __tablename__ = "classes"
    __table_args__ = record_constraints("classes", "qb_list_id")


class SalesTaxCode(ListRecord, Base):
    __tablename__ = "sales_tax_codes"

    name: Mapped[str]
    is_taxable: Mapped[bool | None]
    description: Mapped[str | None]

    __table_args__ = record_constraints("sales_tax_codes", "qb_list_id")
