"""`qbwc-server tenant add|list|show|set|rotate-password|disable|enable|delete`: parsing and
printing only (`tenant token` is cli/tokens.py's).

The work is admin/tenants.py's, admin/settings.py's (pull schedule) and admin/status.py's.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from qbwc_server.admin import settings as tenant_settings
from qbwc_server.admin import status, tenants
from qbwc_server.admin.pulls import PullsOverview
from qbwc_server.cli import tenant_push, tokens
from qbwc_server.cli.common import UsageError, bounded_int, read_password, reading, transaction, when
from qbwc_server.config import MAX_PULL_INTERVAL_SECONDS, MAX_PULL_PAGE_SIZE, Settings, TenantSettings

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400}


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args.password_stdin)
    with transaction(settings) as conn:
        tenant, generated = tenants.add_tenant(
            conn, args.name, args.username, password=password, company_file=args.company_file
        )
    print(f"Created tenant {tenant.name!r} (Web Connector username {tenant.username!r}).")
    if generated:
        print(f"Password (shown only this once; type it into the Web Connector): {generated}")
    print(f"Next: qbwc-server qwc {tenant.name} > {tenant.name}.qwc, then open it in the Web Connector.")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with reading(settings) as conn:
        rows = status.tenant_summaries(conn)
    if not rows:
        print("No tenants yet: qbwc-server tenant add NAME --username USER")
        return 0
    print(f"{'NAME':20} {'USERNAME':20} {'LAST SEEN':20} {'QBXML':6} {'QUEUED':>6} {'NEED HELP':>9}  STATE")
    for row in rows:
        t = row.tenant
        print(
            f"{t.name:20} {t.username:20} {when(t.last_seen_at):20} {t.qbxml_version or '-':6}"
            f" {row.queued:>6} {row.needing_attention:>9}  {row.state}"
        )
    for row in rows:  # in full: the fix is the useful part
        if row.problems:
            print()
            for problem in row.problems:
                print(f"{row.tenant.name}: {problem}")
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    with reading(settings) as conn:
        shown = status.tenant_status(conn, args.name)
        pushes = tenant_settings.push_overview(conn, shown.tenant.id)
    t = shown.tenant
    password = "generated secret (SHA-256)" if t.password_kind == "token" else "admin-chosen (argon2id)"
    fields = [
        ("Name", t.name),
        ("Username", t.username),
        ("State", shown.state.replace("_", " ")),
        ("Password", password),
        ("OwnerID", "{" + str(t.owner_id).upper() + "}"),
        ("FileID", "{" + str(t.file_id).upper() + "}"),
        ("Company file", t.company_file or "(whichever is open in QuickBooks)"),
        (
            "QuickBooks",
            " ".join(filter(None, [t.host_product, t.host_version, t.host_country])) or "not seen yet",
        ),
        ("qbXML version", t.qbxml_version or "not negotiated yet"),
        ("Last seen", str(t.last_seen_at or "never")),
        ("Locked until", str(t.locked_until) if shown.locked else "-"),
        ("Jobs", ", ".join(f"{n} {s}" for s, n in sorted(shown.jobs.items())) or "none"),
        ("Pulls", pulls_line(shown.pulls)),
    ]
    for label, value in fields:
        print(f"{label + ':':15} {value}")
    tenant_push.print_overview(pushes)
    problems = shown.problems or ("none",)
    print(f"{'Problem:' if len(problems) == 1 else 'Problems:':15} {problems[0]}")
    for problem in problems[1:]:
        print(f"{'':15} {problem}")
    return 0


def pulls_line(pulls: PullsOverview) -> str:
    """One line for `tenant show`: how far the pulls got, and which need attention."""
    if not pulls.synced and not pulls.hollow:
        return "no pull has completed yet (the first session does a full sync)"
    parts = [f"{pulls.synced} of {pulls.total} entities synced, last at {when(pulls.last_completed_at)}"]
    if pulls.stuck:
        parts.append(f"needs attention: {', '.join(pulls.stuck)}")
    if pulls.hollow:
        parts.append(f"mirror empty: {', '.join(pulls.hollow)}")
    if pulls.off:
        parts.append(f"off: {', '.join(pulls.off)}")
    return "; ".join(parts) + " (details: qbwc-server pulls TENANT)"


def cmd_set(args: argparse.Namespace, settings: Settings) -> int:
    push_values = tenant_push.values_from(args)
    nothing = args.company_file is None and args.username is None and not args.pull
    if nothing and args.page_size is None and not push_values:
        raise UsageError(
            "nothing to change: give --company-file, --username, --pull, --page-size or a push setting"
            " (--live-window, --orders-as, --default-…, --payment-wait, --readd-deleted)"
        )
    intervals = dict(parse_interval(spec) for spec in args.pull or [])
    with transaction(settings) as conn:
        t = tenants.set_tenant(conn, args.name, company_file=args.company_file, username=args.username)
        if intervals or args.page_size is not None:
            current = tenant_settings.set_pull_settings(
                conn, t.id, intervals=intervals, page_size=args.page_size
            )
        else:
            current = tenant_settings.get_settings(conn, t.id)
        if push_values:
            try:
                tenant_settings.set_push_settings(conn, t.id, **push_values)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        pushes = tenant_settings.push_overview(conn, t.id)
    print(f"Updated {t.name!r}:")
    print(f"  {'Username:':15} {t.username}")
    print(f"  {'Company file:':15} {t.company_file or '(whichever is open in QuickBooks)'}")
    print(f"  {'Pulls:':15} {describe_pulls(current)}")
    print(f"  {'Page size:':15} {current.pull_page_size or 500} records per page")
    for reason in current.ignored:
        print(f"  Removed a stored value that was out of bounds: {reason}")
    if push_values:
        for label, value in tenant_push.lines(pushes.settings):
            print(f"  {label + ':':15} {value}")
    for warning in pushes.warnings:
        print(f"Warning: {warning}")
    return 0


def describe_pulls(current: TenantSettings) -> str:
    """The tenant's own pull intervals in words; the rest keep their defaults (`pulls TENANT`)."""
    own = [
        f"{entity} {'off' if seconds == 0 else 'every ' + format_interval(seconds)}"
        for entity, seconds in sorted(current.pull_intervals.items(), key=lambda item: item[0] != "default")
    ]
    return ", ".join(own) + "; others as default" if own else "every pull at its default interval"


def format_interval(seconds: int) -> str:
    """900 -> '15m', 7200 -> '2h', 90 -> '90s': the largest unit that divides it."""
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


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
    seconds = int(match[1]) * _UNITS[match[2]]
    if seconds > MAX_PULL_INTERVAL_SECONDS:
        raise UsageError(f"{spec!r}: an interval cannot exceed 31 days; turn the pull off instead")
    return entity.strip(), seconds


def cmd_rotate_password(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args.password_stdin)
    with transaction(settings) as conn:
        generated = tenants.rotate_password(conn, args.name, password=password)
    print(f"Password changed for {args.name!r}; enter it in the Web Connector too.")
    if generated:
        print(f"New password (shown only this once): {generated}")
    return 0


def cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        t, changed = tenants.set_disabled(conn, args.name, True)
    if not changed:
        print(f"{t.name!r} is already disabled.")
        return 0
    print(
        f"Disabled {t.name!r}: the Web Connector is refused (it shows an authentication error), its live"
        " session ended, and queued work waits."
    )
    print(f"Undo: qbwc-server tenant enable {t.name}")
    return 0


def cmd_enable(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        t, changed = tenants.set_disabled(conn, args.name, False)
    print(
        f"Enabled {t.name!r}: the Web Connector is let in again."
        if changed
        else f"{t.name!r} was not disabled."
    )
    return 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        t = tenants.get_tenant(conn, args.name)
        footprint = tenants.tenant_footprint(conn, t.id)
        owned = ", ".join(f"{n} {noun}{'s' if n != 1 else ''}" for noun, n in footprint.items() if n)
        if not args.yes:
            raise UsageError(
                f"this deletes {t.name!r} and everything it holds ({owned or 'nothing synced yet'}),"
                " with no undo: add --yes (or `tenant disable` to only stop it)"
            )
        tenants.delete_tenant(conn, t.name)
    print(f"Deleted tenant {t.name!r} and what it held ({owned or 'nothing synced yet'}).")
    print("Remove its application from the Web Connector on the QuickBooks PC too.")
    return 0


def register(sub: Any) -> None:
    """Add `tenant …` to `qbwc-server`'s commands."""
    tenant = sub.add_parser("tenant", help="manage tenants (one QuickBooks company each)")
    tsub = tenant.add_subparsers(dest="tenant_command", required=True, metavar="ACTION")
    p = tsub.add_parser("add", help="create a tenant and print its Web Connector password once")
    p.add_argument(
        "name", help="short name for the company, e.g. acme: 1 to 64 letters, digits, '.', '_' or '-'"
    )
    p.add_argument("--username", required=True, help="the Web Connector username (goes into the .qwc)")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read an admin-chosen password from standard input instead of generating one",
    )
    p.add_argument("--company-file", help="full path of the company file the Web Connector must open")
    p.set_defaults(func=cmd_add)
    p = tsub.add_parser("list", help="list tenants with their health")
    p.set_defaults(func=cmd_list)
    p = tsub.add_parser("show", help="everything about one tenant")
    p.add_argument("name")
    p.set_defaults(func=cmd_show)
    p = tsub.add_parser(
        "set", help="change a tenant's username, company file, pull schedule or push settings"
    )
    p.add_argument("name")
    p.add_argument("--company-file", help="full path, or '' for whichever file is open in QuickBooks")
    p.add_argument("--username", help="new Web Connector username (re-issue the .qwc afterwards)")
    p.add_argument(
        "--pull",
        action="append",
        metavar="ENTITY=INTERVAL",
        help="how often to pull an entity (or 'default'), e.g. customers=15m, invoices=2m, classes=off",
    )
    p.add_argument(
        "--page-size",
        type=bounded_int(1, MAX_PULL_PAGE_SIZE),
        help=f"records per page of a pull, 1 to {MAX_PULL_PAGE_SIZE} (default 500; smaller for slow PCs)",
    )
    tenant_push.add_flags(p)
    p.set_defaults(func=cmd_set)
    p = tsub.add_parser("rotate-password", help="issue a new password (ends a live session)")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read an admin-chosen password from stdin")
    p.set_defaults(func=cmd_rotate_password)
    p = tsub.add_parser(
        "disable", help="refuse the tenant's Web Connector (ends a live session; queued work waits)"
    )
    p.add_argument("name")
    p.set_defaults(func=cmd_disable)
    p = tsub.add_parser("enable", help="let a disabled tenant's Web Connector in again")
    p.add_argument("name")
    p.set_defaults(func=cmd_enable)
    p = tsub.add_parser("delete", help="delete a tenant and everything synced for it (asks for --yes)")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="yes, delete it and all its data; there is no undo")
    p.set_defaults(func=cmd_delete)
    tokens.register_tenant_token(tsub)
