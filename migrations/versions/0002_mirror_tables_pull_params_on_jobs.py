"""mirror tables, pull params on jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Must stay compatible with the previous release's code: add columns nullable or with a default,
drop only what the previous release no longer reads.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("parent_list_id", sa.Text(), nullable=True),
        sa.Column("sublevel", sa.Integer(), server_default="0", nullable=False),
        sa.Column("qb_list_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_classes_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_classes_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classes")),
        sa.UniqueConstraint("tenant_id", "qb_list_id", name=op.f("uq_classes_tenant_id_qb_list_id")),
    )
    op.create_index("ix_classes_tenant_id_updated_at", "classes", ["tenant_id", "updated_at"], unique=False)
    op.create_index(
        "uq_classes_tenant_id_commerce_id",
        "classes",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "customer_types",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("parent_list_id", sa.Text(), nullable=True),
        sa.Column("sublevel", sa.Integer(), server_default="0", nullable=False),
        sa.Column("qb_list_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_customer_types_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_types_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_types")),
        sa.UniqueConstraint("tenant_id", "qb_list_id", name=op.f("uq_customer_types_tenant_id_qb_list_id")),
    )
    op.create_index(
        "ix_customer_types_tenant_id_updated_at", "customer_types", ["tenant_id", "updated_at"], unique=False
    )
    op.create_index(
        "uq_customer_types_tenant_id_commerce_id",
        "customer_types",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "customers",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("parent_list_id", sa.Text(), nullable=True),
        sa.Column("sublevel", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("company_name", sa.Text(), nullable=True),
        sa.Column("salutation", sa.Text(), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("alt_phone", sa.Text(), nullable=True),
        sa.Column("fax", sa.Text(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("alt_contact", sa.Text(), nullable=True),
        sa.Column("bill_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ship_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("customer_type_list_id", sa.Text(), nullable=True),
        sa.Column("customer_type_name", sa.Text(), nullable=True),
        sa.Column("terms_list_id", sa.Text(), nullable=True),
        sa.Column("terms_name", sa.Text(), nullable=True),
        sa.Column("sales_rep_list_id", sa.Text(), nullable=True),
        sa.Column("sales_rep_code", sa.Text(), nullable=True),
        sa.Column("sales_tax_code_name", sa.Text(), nullable=True),
        sa.Column("price_level_list_id", sa.Text(), nullable=True),
        sa.Column("price_level_name", sa.Text(), nullable=True),
        sa.Column("balance", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("total_balance", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("credit_limit", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("account_number", sa.Text(), nullable=True),
        sa.Column("job_status", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("qb_list_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_customers_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_customers_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("tenant_id", "qb_list_id", name=op.f("uq_customers_tenant_id_qb_list_id")),
    )
    op.create_index(
        "ix_customers_tenant_id_updated_at", "customers", ["tenant_id", "updated_at"], unique=False
    )
    op.create_index(
        "uq_customers_tenant_id_commerce_id",
        "customers",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "invoices",
        sa.Column("is_pending", sa.Boolean(), nullable=True),
        sa.Column("applied_amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("balance_remaining", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("is_paid", sa.Boolean(), nullable=True),
        sa.Column("tracking_number", sa.Text(), nullable=True),
        sa.Column("sales_order_txn_ids", sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("class_name", sa.Text(), nullable=True),
        sa.Column("bill_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ship_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("po_number", sa.Text(), nullable=True),
        sa.Column("terms_name", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("sales_rep_code", sa.Text(), nullable=True),
        sa.Column("fob", sa.Text(), nullable=True),
        sa.Column("ship_date", sa.Date(), nullable=True),
        sa.Column("ship_method", sa.Text(), nullable=True),
        sa.Column("subtotal", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("sales_tax_total", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("other", sa.Text(), nullable=True),
        sa.Column("qb_txn_id", sa.Text(), nullable=True),
        sa.Column("txn_number", sa.Integer(), nullable=True),
        sa.Column("customer_list_id", sa.Text(), nullable=True),
        sa.Column("customer_name", sa.Text(), nullable=True),
        sa.Column("txn_date", sa.Date(), nullable=True),
        sa.Column("ref_number", sa.Text(), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("external_guid", sa.Text(), nullable=True),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_invoices_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invoices_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("tenant_id", "qb_txn_id", name=op.f("uq_invoices_tenant_id_qb_txn_id")),
    )
    op.create_index(
        "ix_invoices_sales_order_txn_ids",
        "invoices",
        ["sales_order_txn_ids"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index("ix_invoices_tenant_id_updated_at", "invoices", ["tenant_id", "updated_at"], unique=False)
    op.create_index(
        "uq_invoices_tenant_id_commerce_id",
        "invoices",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "items",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("parent_list_id", sa.Text(), nullable=True),
        sa.Column("sublevel", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("manufacturer_part_number", sa.Text(), nullable=True),
        sa.Column("sales_desc", sa.Text(), nullable=True),
        sa.Column("sales_price", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("purchase_desc", sa.Text(), nullable=True),
        sa.Column("purchase_cost", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("average_cost", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("sales_tax_code_name", sa.Text(), nullable=True),
        sa.Column("reorder_point", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("build_point", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("quantity_on_hand", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("quantity_on_order", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("quantity_on_sales_order", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("quantities_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_guid", sa.Text(), nullable=True),
        sa.Column("qb_list_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('inventory', 'assembly')", name=op.f("ck_items_kind")),
        sa.CheckConstraint("sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_items_sync_state")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_items_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("tenant_id", "qb_list_id", name=op.f("uq_items_tenant_id_qb_list_id")),
    )
    op.create_index("ix_items_tenant_id_updated_at", "items", ["tenant_id", "updated_at"], unique=False)
    op.create_index(
        "uq_items_tenant_id_commerce_id",
        "items",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "payments",
        sa.Column("total_amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("payment_method", sa.Text(), nullable=True),
        sa.Column("deposit_to_account", sa.Text(), nullable=True),
        sa.Column("unused_payment", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("unused_credits", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("qb_txn_id", sa.Text(), nullable=True),
        sa.Column("txn_number", sa.Integer(), nullable=True),
        sa.Column("customer_list_id", sa.Text(), nullable=True),
        sa.Column("customer_name", sa.Text(), nullable=True),
        sa.Column("txn_date", sa.Date(), nullable=True),
        sa.Column("ref_number", sa.Text(), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("external_guid", sa.Text(), nullable=True),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_payments_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_payments_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("tenant_id", "qb_txn_id", name=op.f("uq_payments_tenant_id_qb_txn_id")),
    )
    op.create_index("ix_payments_tenant_id_updated_at", "payments", ["tenant_id", "updated_at"], unique=False)
    op.create_index(
        "uq_payments_tenant_id_commerce_id",
        "payments",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "price_levels",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("price_level_type", sa.Text(), nullable=True),
        sa.Column("fixed_percentage", sa.Numeric(precision=12, scale=5), nullable=True),
        sa.Column("qb_list_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_price_levels_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_price_levels_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_levels")),
        sa.UniqueConstraint("tenant_id", "qb_list_id", name=op.f("uq_price_levels_tenant_id_qb_list_id")),
    )
    op.create_index(
        "ix_price_levels_tenant_id_updated_at", "price_levels", ["tenant_id", "updated_at"], unique=False
    )
    op.create_index(
        "uq_price_levels_tenant_id_commerce_id",
        "price_levels",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "sales_orders",
        sa.Column("total_amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("is_manually_closed", sa.Boolean(), nullable=True),
        sa.Column("is_fully_invoiced", sa.Boolean(), nullable=True),
        sa.Column("class_name", sa.Text(), nullable=True),
        sa.Column("bill_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ship_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("po_number", sa.Text(), nullable=True),
        sa.Column("terms_name", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("sales_rep_code", sa.Text(), nullable=True),
        sa.Column("fob", sa.Text(), nullable=True),
        sa.Column("ship_date", sa.Date(), nullable=True),
        sa.Column("ship_method", sa.Text(), nullable=True),
        sa.Column("subtotal", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("sales_tax_total", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("other", sa.Text(), nullable=True),
        sa.Column("qb_txn_id", sa.Text(), nullable=True),
        sa.Column("txn_number", sa.Integer(), nullable=True),
        sa.Column("customer_list_id", sa.Text(), nullable=True),
        sa.Column("customer_name", sa.Text(), nullable=True),
        sa.Column("txn_date", sa.Date(), nullable=True),
        sa.Column("ref_number", sa.Text(), nullable=True),
        sa.Column("memo", sa.Text(), nullable=True),
        sa.Column("external_guid", sa.Text(), nullable=True),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_sales_orders_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sales_orders_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_orders")),
        sa.UniqueConstraint("tenant_id", "qb_txn_id", name=op.f("uq_sales_orders_tenant_id_qb_txn_id")),
    )
    op.create_index(
        "ix_sales_orders_tenant_id_updated_at", "sales_orders", ["tenant_id", "updated_at"], unique=False
    )
    op.create_index(
        "uq_sales_orders_tenant_id_commerce_id",
        "sales_orders",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "sales_rep_emails",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sales_rep_emails_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "code", name=op.f("pk_sales_rep_emails")),
    )
    op.create_table(
        "sales_reps",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("entity_name", sa.Text(), nullable=True),
        sa.Column("qb_list_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_sales_reps_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_sales_reps_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_reps")),
        sa.UniqueConstraint("tenant_id", "qb_list_id", name=op.f("uq_sales_reps_tenant_id_qb_list_id")),
    )
    op.create_index(
        "ix_sales_reps_tenant_id_updated_at", "sales_reps", ["tenant_id", "updated_at"], unique=False
    )
    op.create_index(
        "uq_sales_reps_tenant_id_commerce_id",
        "sales_reps",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "sales_tax_codes",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("is_taxable", sa.Boolean(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("qb_list_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_sales_tax_codes_sync_state")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sales_tax_codes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_tax_codes")),
        sa.UniqueConstraint("tenant_id", "qb_list_id", name=op.f("uq_sales_tax_codes_tenant_id_qb_list_id")),
    )
    op.create_index(
        "ix_sales_tax_codes_tenant_id_updated_at",
        "sales_tax_codes",
        ["tenant_id", "updated_at"],
        unique=False,
    )
    op.create_index(
        "uq_sales_tax_codes_tenant_id_commerce_id",
        "sales_tax_codes",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "terms",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("due_days", sa.Integer(), nullable=True),
        sa.Column("discount_days", sa.Integer(), nullable=True),
        sa.Column("discount_pct", sa.Numeric(precision=12, scale=5), nullable=True),
        sa.Column("day_of_month_due", sa.Integer(), nullable=True),
        sa.Column("due_next_month_days", sa.Integer(), nullable=True),
        sa.Column("discount_day_of_month", sa.Integer(), nullable=True),
        sa.Column("qb_list_id", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commerce_id", sa.Text(), nullable=True),
        sa.Column("edit_sequence", sa.Text(), nullable=True),
        sa.Column("qb_time_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qb_time_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_state", sa.Text(), server_default="synced", nullable=False),
        sa.Column("sync_error", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("sync_state IN ('pending', 'synced', 'failed')", name=op.f("ck_terms_sync_state")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_terms_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms")),
        sa.UniqueConstraint("tenant_id", "qb_list_id", name=op.f("uq_terms_tenant_id_qb_list_id")),
    )
    op.create_index("ix_terms_tenant_id_updated_at", "terms", ["tenant_id", "updated_at"], unique=False)
    op.create_index(
        "uq_terms_tenant_id_commerce_id",
        "terms",
        ["tenant_id", "commerce_id"],
        unique=True,
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.create_table(
        "customer_ship_addresses",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("addr1", sa.Text(), nullable=True),
        sa.Column("addr2", sa.Text(), nullable=True),
        sa.Column("addr3", sa.Text(), nullable=True),
        sa.Column("addr4", sa.Text(), nullable=True),
        sa.Column("addr5", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_ship_addresses_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_ship_addresses_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_ship_addresses")),
    )
    op.create_index(
        op.f("ix_customer_ship_addresses_customer_id"),
        "customer_ship_addresses",
        ["customer_id"],
        unique=False,
    )
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("qb_txn_line_id", sa.Text(), nullable=True),
        sa.Column("item_list_id", sa.Text(), nullable=True),
        sa.Column("item_name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("unit_of_measure", sa.Text(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("class_name", sa.Text(), nullable=True),
        sa.Column("sales_tax_code_name", sa.Text(), nullable=True),
        sa.Column("other1", sa.Text(), nullable=True),
        sa.Column("other2", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invoice_lines_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    op.create_index(op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"], unique=False)
    op.create_table(
        "payment_applications",
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("txn_id", sa.Text(), nullable=False),
        sa.Column("txn_type", sa.Text(), nullable=False),
        sa.Column("txn_date", sa.Date(), nullable=True),
        sa.Column("ref_number", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("discount_amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("balance_remaining", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_applications_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_payment_applications_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_applications")),
    )
    op.create_index(
        op.f("ix_payment_applications_payment_id"), "payment_applications", ["payment_id"], unique=False
    )
    op.create_table(
        "price_level_items",
        sa.Column("price_level_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_list_id", sa.Text(), nullable=True),
        sa.Column("item_name", sa.Text(), nullable=True),
        sa.Column("custom_price", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("custom_price_percent", sa.Numeric(precision=12, scale=5), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["price_level_id"],
            ["price_levels.id"],
            name=op.f("fk_price_level_items_price_level_id_price_levels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_price_level_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_level_items")),
    )
    op.create_index(
        op.f("ix_price_level_items_price_level_id"), "price_level_items", ["price_level_id"], unique=False
    )
    op.create_table(
        "sales_order_lines",
        sa.Column("sales_order_id", sa.BigInteger(), nullable=False),
        sa.Column("invoiced", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("is_manually_closed", sa.Boolean(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("qb_txn_line_id", sa.Text(), nullable=True),
        sa.Column("item_list_id", sa.Text(), nullable=True),
        sa.Column("item_name", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("unit_of_measure", sa.Text(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=18, scale=5), nullable=True),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("class_name", sa.Text(), nullable=True),
        sa.Column("sales_tax_code_name", sa.Text(), nullable=True),
        sa.Column("other1", sa.Text(), nullable=True),
        sa.Column("other2", sa.Text(), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sales_order_id"],
            ["sales_orders.id"],
            name=op.f("fk_sales_order_lines_sales_order_id_sales_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sales_order_lines_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_order_lines")),
    )
    op.create_index(
        op.f("ix_sales_order_lines_sales_order_id"), "sales_order_lines", ["sales_order_id"], unique=False
    )
    op.add_column(
        "qbwc_sessions", sa.Column("progress", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column("jobs", sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("jobs", sa.Column("records", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("sync_cursors", sa.Column("last_completed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("sync_cursors", sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    _forget_what_the_mirror_held()
    op.drop_column("sync_cursors", "next_due_at")
    op.drop_column("sync_cursors", "last_completed_at")
    op.drop_column("jobs", "records")
    op.drop_column("qbwc_sessions", "progress")
    op.drop_column("jobs", "params")
    op.drop_index(op.f("ix_sales_order_lines_sales_order_id"), table_name="sales_order_lines")
    op.drop_table("sales_order_lines")
    op.drop_index(op.f("ix_price_level_items_price_level_id"), table_name="price_level_items")
    op.drop_table("price_level_items")
    op.drop_index(op.f("ix_payment_applications_payment_id"), table_name="payment_applications")
    op.drop_table("payment_applications")
    op.drop_index(op.f("ix_invoice_lines_invoice_id"), table_name="invoice_lines")
    op.drop_table("invoice_lines")
    op.drop_index(op.f("ix_customer_ship_addresses_customer_id"), table_name="customer_ship_addresses")
    op.drop_table("customer_ship_addresses")
    op.drop_index(
        "uq_terms_tenant_id_commerce_id",
        table_name="terms",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_terms_tenant_id_updated_at", table_name="terms")
    op.drop_table("terms")
    op.drop_index(
        "uq_sales_tax_codes_tenant_id_commerce_id",
        table_name="sales_tax_codes",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_sales_tax_codes_tenant_id_updated_at", table_name="sales_tax_codes")
    op.drop_table("sales_tax_codes")
    op.drop_index(
        "uq_sales_reps_tenant_id_commerce_id",
        table_name="sales_reps",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_sales_reps_tenant_id_updated_at", table_name="sales_reps")
    op.drop_table("sales_reps")
    op.drop_table("sales_rep_emails")
    op.drop_index(
        "uq_sales_orders_tenant_id_commerce_id",
        table_name="sales_orders",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_sales_orders_tenant_id_updated_at", table_name="sales_orders")
    op.drop_table("sales_orders")
    op.drop_index(
        "uq_price_levels_tenant_id_commerce_id",
        table_name="price_levels",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_price_levels_tenant_id_updated_at", table_name="price_levels")
    op.drop_table("price_levels")
    op.drop_index(
        "uq_payments_tenant_id_commerce_id",
        table_name="payments",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_payments_tenant_id_updated_at", table_name="payments")
    op.drop_table("payments")
    op.drop_index(
        "uq_items_tenant_id_commerce_id",
        table_name="items",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_items_tenant_id_updated_at", table_name="items")
    op.drop_table("items")
    op.drop_index(
        "uq_invoices_tenant_id_commerce_id",
        table_name="invoices",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_invoices_tenant_id_updated_at", table_name="invoices")
    op.drop_index("ix_invoices_sales_order_txn_ids", table_name="invoices", postgresql_using="gin")
    op.drop_table("invoices")
    op.drop_index(
        "uq_customers_tenant_id_commerce_id",
        table_name="customers",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_customers_tenant_id_updated_at", table_name="customers")
    op.drop_table("customers")
    op.drop_index(
        "uq_customer_types_tenant_id_commerce_id",
        table_name="customer_types",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_customer_types_tenant_id_updated_at", table_name="customer_types")
    op.drop_table("customer_types")
    op.drop_index(
        "uq_classes_tenant_id_commerce_id",
        table_name="classes",
        postgresql_where=sa.text("commerce_id IS NOT NULL"),
    )
    op.drop_index("ix_classes_tenant_id_updated_at", table_name="classes")
    op.drop_table("classes")


def _forget_what_the_mirror_held() -> None:
    """The mirror tables go, so their cursors must too: a cursor kept would make the first pull
    after upgrading again incremental, into an empty mirror (only records changed since would
    come back, while the cursor says everything is synced). Pull jobs go with the params they
    were planned with. After upgrading again, the first session is a full sync."""
    conn = op.get_bind()
    cursors = conn.execute(sa.text("DELETE FROM sync_cursors")).rowcount
    pulls = conn.execute(sa.text("DELETE FROM jobs WHERE kind LIKE '%.pull'")).rowcount
    log.warning(
        "0002 downgrade: dropping the mirror tables; reset %s sync cursor(s) and deleted %s pull job(s),"
        " so the first session after upgrading again pulls everything in full",
        cursors,
        pulls,
    )
