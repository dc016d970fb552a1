"""`qbwc-server refresh|reps|pulls …`: the sync commands (argument parsing and printing only).

The work lives in `sync/schedule.py` and `sync/lists.py`; `cli.py` registers these beside the
rest and lends its database opener and one-line errors.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from sqlalchemy import text

from qbwc_server.cli_common import UsageError, open_engine, tenant_named
from qbwc_server.config import Settings

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(spec: str) -> tuple[str, int]:
    """'customers=15m' -> ('customers', 900); 'invoices=off' -> ('invoices', 0). Bare numbers are minutes."""

    entity, sep, value = spec.partition("=")
    if not sep or not entity.strip():
        raise UsageError(f"--pull wants ENTITY=INTERVAL (e.g. customers=15m or invoices=off), not {spec!r}")
    if value.strip().lower() in ("off", "0"):
        return entity.strip(), 0
    match = _DURATION.match(value)
    if match is None:
        raise UsageError(f"{spec!r}: the interval is a number with s, m, h or d (e.g. 90s, 15m, 2h), or off")
    return entity.strip(), int(match[1]) * _UNITS[match[2]]


def apply_pull_settings(conn: Any, tenant_id: int, args: argparse.Namespace) -> str | None:
    """Apply `tenant set --pull/--page-size`; a line saying what changed, or None if not asked."""
    from qbwc_server.sync import schedule

    intervals = dict(parse_interval(spec) for spec in args.pull or [])
    if not intervals and args.page_size is None:
        return None
    try:
        current = schedule.set_pull_settings(conn, tenant_id, intervals=intervals, page_size=args.page_size)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return f"Pull settings: {current}"


def cmd_refresh(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.sync import schedule

    with open_engine(settings).begin() as conn:
        tenant = tenant_named(conn, args.tenant)
        try:
            queued = schedule.request_refresh(conn, tenant.id, args.entity)
        except schedule.UnknownEntity as exc:
            raise UsageError(str(exc)) from None
    print(
        f"Queued a full refresh of {', '.join(queued)} for {tenant.name!r};"
        " it runs when the Web Connector next connects."
    )
    return 0


def cmd_reps_map(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.sync.lists import map_rep_email

    if "@" not in args.email or args.email.strip() != args.email or not args.code.strip():
        raise UsageError(f"expected a rep code and an email address, got {args.code!r} {args.email!r}")
    with open_engine(settings).begin() as conn:
        tenant = tenant_named(conn, args.tenant)
        known = map_rep_email(conn, tenant.id, args.code.strip(), args.email)
    note = "" if known else " (no sales rep with that code has been pulled from QuickBooks yet)"
    print(f"Sales rep {args.code.strip()!r} of {tenant.name!r} is {args.email}{note}.")
    return 0


def cmd_reps_list(args: argparse.Namespace, settings: Settings) -> int:

    with open_engine(settings).connect() as conn:
        tenant = tenant_named(conn, args.tenant)
        rows = conn.execute(
            text("""
                SELECT coalesce(r.code, e.code) AS code, r.entity_name, r.is_active, e.email
                FROM (SELECT * FROM sales_reps WHERE tenant_id = :t AND deleted_at IS NULL) r
                FULL JOIN (SELECT * FROM sales_rep_emails WHERE tenant_id = :t) e ON e.code = r.code
                ORDER BY 1
            """),
            {"t": tenant.id},
        ).all()
    if not rows:
        print(f"No sales reps for {tenant.name!r} yet: they arrive with the first sync.")
        return 0
    print(f"{'CODE':6} {'NAME':28} {'ACTIVE':7} EMAIL")
    for code, name, active, email in rows:
        shown = "-" if active is None else ("yes" if active else "no")
        print(f"{code:6} {(name or '(not in QuickBooks)')[:28]:28} {shown:7} {email or '(unmapped)'}")
    return 0


def cmd_pulls(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.sync import schedule

    with open_engine(settings).connect() as conn:
        tenant = tenant_named(conn, args.tenant)
        rows = schedule.pull_status(conn, tenant.id)
    print(
        f"{'ENTITY':22} {'LAST COMPLETED':20} {'NEXT DUE':20} {'LAST JOB':9} CURSOR (QuickBooks TimeModified)"
    )
    for row in rows:
        due = "off" if row.get("off") else _when(row["next_due_at"]) if row.get("next_due_at") else "now"
        print(
            f"{row['entity']:22} {_when(row.get('last_completed_at')):20} {due:20}"
            f" {row.get('last_job_status') or '-':9} {row.get('last_modified') or '-'}"
        )
    return 0


def pulls_summary(conn: Any, tenant_id: int) -> str:
    """One line for `tenant show`: how far the pulls got, and which need attention."""
    from qbwc_server.sync import schedule

    rows = schedule.pull_status(conn, tenant_id)
    done = [row for row in rows if row.get("last_completed_at")]
    if not done:
        return "no pull has completed yet (the first session does a full sync)"
    stuck = [row["entity"] for row in rows if row.get("last_job_status") in ("failed", "dead")]
    off = [row["entity"] for row in rows if row.get("off")]
    latest = max(row["last_completed_at"] for row in done)
    parts = [f"{len(done)} of {len(rows)} entities synced, last at {_when(latest)}"]
    if stuck:
        parts.append(f"needs attention: {', '.join(stuck)}")
    if off:
        parts.append(f"off: {', '.join(off)}")
    return "; ".join(parts) + " (details: qbwc-server pulls TENANT)"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "never"


def register(sub: Any) -> None:
    """Add the sync commands to `qbwc-server`'s subcommands."""
    from qbwc_server.sync.pulls import GROUPS, PULLS_BY_ENTITY

    names = ", ".join([*GROUPS, *PULLS_BY_ENTITY])
    p = sub.add_parser(
        "refresh",
        help="queue a full refresh of an entity (e.g. inventory, invoices) from QuickBooks",
        description=f"Queue a full (not incremental) pull. Entities and groups: {names}.",
    )
    p.add_argument("tenant")
    p.add_argument("entity", nargs="+", help="entity or group, e.g. inventory, invoices, customers, all")
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("pulls", help="what each pull from QuickBooks last did and when it is next due")
    p.add_argument("tenant")
    p.set_defaults(func=cmd_pulls)

    reps = sub.add_parser("reps", help="QuickBooks sales rep codes and the emails they map to")
    rsub = reps.add_subparsers(dest="reps_command", required=True, metavar="ACTION")
    p = rsub.add_parser("map", help="map a QuickBooks rep code (initials) to the rep's email")
    p.add_argument("tenant")
    p.add_argument("code", help="the rep's initials in QuickBooks, e.g. JS")
    p.add_argument("email")
    p.set_defaults(func=cmd_reps_map)
    p = rsub.add_parser("list", help="list pulled reps and their emails")
    p.add_argument("tenant")
    p.set_defaults(func=cmd_reps_list)
