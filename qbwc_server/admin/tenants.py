"""Tenants: create, find, list, change their credentials and company file, start them afresh.

Passwords are generated or hashed by webconnector/auth.py; only their verifiers are stored.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from qbwc_server.config import DISABLED_KEY
from qbwc_server.errors import QbwcError
from qbwc_server.models import PasswordKind, SessionState
from qbwc_server.webconnector.auth import generate_password, hash_admin_password, hash_generated
from qbwc_server.webconnector.lifecycle import end_tenant_sessions

#: What a session ended by an admin says (getLastError): not a failure of the tenant's.
PASSWORD_CHANGED = "The password was changed; sign in again."
DISABLED = "This company was disabled by an admin."
ENDED_BY_ADMIN = frozenset({PASSWORD_CHANGED, DISABLED})
#: A new tenant's name: it appears in API URLs (/api/v1/tenants/{tenant}), file names and shell
#: commands. Names made before this rule keep working.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class TenantError(QbwcError, ValueError):
    """A tenant operation that cannot be done as asked; the message says why."""

    code = "bad_request"


class TenantNotFound(TenantError, LookupError):
    """No tenant has that name (or username)."""

    code = "not_found"


@dataclass(frozen=True)
class TenantInfo:
    """A tenant as admins see it: everything but its password verifier and settings."""

    id: int
    name: str
    username: str
    password_kind: str
    owner_id: uuid.UUID
    file_id: uuid.UUID
    company_file: str | None
    qbxml_version: str | None
    host_product: str | None
    host_version: str | None
    host_country: str | None
    last_seen_at: dt.datetime | None
    connection_error: str | None
    connection_error_at: dt.datetime | None
    locked_until: dt.datetime | None
    created_at: dt.datetime


_COLUMNS = ", ".join(TenantInfo.__dataclass_fields__)


def _password_columns(password: str | None) -> tuple[str, str, str | None]:
    """(kind, stored hash, generated password to show once or None)."""
    if password is None:
        generated = generate_password()
        return PasswordKind.TOKEN.value, hash_generated(generated), generated
    return PasswordKind.ARGON2.value, hash_admin_password(password), None


def add_tenant(
    conn: Connection,
    name: str,
    username: str,
    *,
    password: str | None = None,
    company_file: str | None = None,
) -> tuple[TenantInfo, str | None]:
    """Create a tenant; returns it and the generated password (None when the admin chose one)."""
    name, username = name.strip(), username.strip()
    if not NAME_PATTERN.fullmatch(name):
        raise TenantError(
            f"the tenant name must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or"
            f" digit (it goes into URLs), got {name[:70]!r}"
        )
    if not username:
        raise TenantError("the username must not be empty")
    kind, stored, generated = _password_columns(password)
    try:
        with conn.begin_nested():
            conn.execute(
                text("""
                    INSERT INTO tenants (name, username, password_kind, password_hash, company_file)
                    VALUES (:name, :username, :kind, :hash, :company_file)
                """),
                {
                    "name": name,
                    "username": username,
                    "kind": kind,
                    "hash": stored,
                    "company_file": company_file,
                },
            )
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "")
        field = "username" if constraint == "uq_tenants_username" else "name"
        raise TenantError(f"a tenant with that {field} already exists") from None
    return get_tenant(conn, name), generated


def get_tenant(conn: Connection, name_or_username: str) -> TenantInfo:
    """The tenant with that name, else the one with that username (names win)."""
    row = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM tenants WHERE name = :n OR username = :n ORDER BY name = :n DESC LIMIT 1"
        ),
        {"n": name_or_username},
    ).first()
    if row is None:
        raise TenantNotFound(f"no tenant named {name_or_username!r} (see `qbwc-server tenant list`)")
    return TenantInfo(*row)


def list_tenants(conn: Connection) -> list[TenantInfo]:
    """Every tenant, by name."""
    return [TenantInfo(*row) for row in conn.execute(text(f"SELECT {_COLUMNS} FROM tenants ORDER BY name"))]


def rotate_password(conn: Connection, name: str, *, password: str | None = None) -> str | None:
    """Replace the tenant's password (ending its live session); returns the generated one, if any."""
    tenant = get_tenant(conn, name)
    kind, stored, generated = _password_columns(password)
    conn.execute(
        text("""
            UPDATE tenants SET password_kind = :kind, password_hash = :hash, failed_logins = 0,
                               locked_until = NULL, updated_at = now()
            WHERE id = :id
        """),
        {"kind": kind, "hash": stored, "id": tenant.id},
    )
    # A session opened with the old password must not carry on; what it sent without an answer
    # is taken back (reads queued again, writes unconfirmed).
    end_tenant_sessions(conn, tenant.id, SessionState.EXPIRED, PASSWORD_CHANGED)
    return generated


def set_tenant(
    conn: Connection, name: str, *, company_file: str | None = None, username: str | None = None
) -> TenantInfo:
    """Change a tenant's settings; an empty company file means "whichever is open in QuickBooks"."""
    tenant = get_tenant(conn, name)
    if company_file is not None:
        conn.execute(
            text("UPDATE tenants SET company_file = :f, updated_at = now() WHERE id = :id"),
            {"f": company_file.strip() or None, "id": tenant.id},
        )
    if username is not None:
        if not username.strip():
            raise TenantError("the username must not be empty")
        try:
            with conn.begin_nested():
                conn.execute(
                    text("UPDATE tenants SET username = :u, updated_at = now() WHERE id = :id"),
                    {"u": username.strip(), "id": tenant.id},
                )
        except IntegrityError:
            raise TenantError("another tenant already uses that username") from None
    return get_tenant(conn, tenant.name)


def set_disabled(conn: Connection, name: str, disabled: bool) -> tuple[TenantInfo, bool]:
    """Disable (the Web Connector is refused, its live session ends; queued work waits) or enable
    a tenant; returns it and whether anything changed. The flag is a settings key, so the
    other settings stay as they are."""
    tenant = get_tenant(conn, name)
    if disabled:
        changed = conn.execute(
            text("""
                UPDATE tenants SET updated_at = now(), settings =
                    CASE WHEN jsonb_typeof(settings) = 'object' THEN settings ELSE '{}' END
                    || jsonb_build_object(CAST(:key AS text), now())
                WHERE id = :id AND settings->>:key IS NULL
            """),
            {"key": DISABLED_KEY, "id": tenant.id},
        ).rowcount
        end_tenant_sessions(conn, tenant.id, SessionState.EXPIRED, DISABLED)
    else:
        changed = conn.execute(
            text("""
                UPDATE tenants SET settings = settings - CAST(:key AS text), updated_at = now()
                WHERE id = :id AND settings->>:key IS NOT NULL
            """),
            {"key": DISABLED_KEY, "id": tenant.id},
        ).rowcount
    return tenant, bool(changed)


#: What deleting a tenant takes with it, as `delete_tenant` counts it for the admin.
OWNED = (("jobs", "job"), ("customers", "customer"), ("items", "item"), ("sales_orders", "sales order"),
         ("invoices", "invoice"), ("payments", "payment"))  # fmt: skip


def tenant_footprint(conn: Connection, tenant_id: int) -> dict[str, int]:
    """How many rows of each OWNED kind the tenant has (what a delete would remove)."""
    return {
        noun: conn.execute(
            text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar_one()
        for table, noun in OWNED
    }


def delete_tenant(conn: Connection, name: str) -> TenantInfo:
    """Delete the tenant and everything it owns (sessions, jobs, mirror, cursors, rep mappings:
    every table's foreign key cascades). Queued pushes are lost with it; there is no undo."""
    tenant = get_tenant(conn, name)
    conn.execute(text("DELETE FROM tenants WHERE id = :id"), {"id": tenant.id})
    return tenant


#: The mirror tables a first sync fills, in that order (lines and applications left out).
MIRROR_TABLES = (
    "customers",
    "customer_ship_addresses",
    "items",
    "price_levels",
    "sales_reps",
    "terms",
    "sales_orders",
    "invoices",
    "payments",
)
#: What a tenant's sync leaves behind, parents first (their lines and applications cascade).
SYNCED_TABLES = (*MIRROR_TABLES, "classes", "customer_types", "sales_tax_codes", "sync_cursors")


def clear_synced_data(conn: Connection, tenant_id: int) -> None:
    """Forget what was pulled for the tenant (mirror rows, cursors) and the jobs still waiting,
    so its next session is a first full sync. Rep email mappings and finished jobs stay."""
    for table in SYNCED_TABLES:
        conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = :t"), {"t": tenant_id})
    conn.execute(
        text("DELETE FROM jobs WHERE tenant_id = :t AND status IN ('queued', 'blocked')"), {"t": tenant_id}
    )
