"""`qbwc-server refresh|pulls|reps …`: the sync commands (parsing and printing only).

The work is admin/pulls.py's and admin/reps.py's.
"""

from __future__ import annotations

import argparse
from typing import Any

from qbwc_server.admin import pulls, reps, tenants
from qbwc_server.cli.common import reading, transaction, when
from qbwc_server.config import Settings


def cmd_refresh(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        tenant = tenants.get_tenant(conn, args.tenant)
        queued = pulls.refresh(conn, tenant.id, args.entity)
    print(
        f"Queued a full refresh of {', '.join(queued)} for {tenant.name!r};"
        " it runs when the Web Connector next connects."
    )
    return 0


def cmd_pulls(args: argparse.Namespace, settings: Settings) -> int:
    with reading(settings) as conn:
        tenant = tenants.get_tenant(conn, args.tenant)
        states = pulls.pull_states(conn, tenant.id)
    print(
        f"{'ENTITY':22} {'LAST COMPLETED':20} {'NEXT DUE':20} {'LAST JOB':9} CURSOR (QuickBooks TimeModified)"
    )
    for state in states:
        due = "off" if state.off else when(state.next_due_at) if state.next_due_at else "now"
        print(
            f"{state.entity:22} {when(state.last_completed_at):20} {due:20}"
            f" {state.last_job_status or '-':9} {state.last_modified or '-'}"
        )
    return 0


def cmd_reps_map(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        tenant = tenants.get_tenant(conn, args.tenant)
        known = reps.map_rep(conn, tenant.id, args.code, args.email)
    note = "" if known else " (no sales rep with that code has been pulled from QuickBooks yet)"
    print(f"Sales rep {args.code.strip()!r} of {tenant.name!r} is {args.email}{note}.")
    return 0


def cmd_reps_unmap(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        tenant = tenants.get_tenant(conn, args.tenant)
        email = reps.unmap_rep(conn, tenant.id, args.code)
    print(f"Sales rep {args.code.strip()!r} of {tenant.name!r} is no longer mapped (it was {email}).")
    return 0


def cmd_reps_list(args: argparse.Namespace, settings: Settings) -> int:
    with reading(settings) as conn:
        tenant = tenants.get_tenant(conn, args.tenant)
        rows = reps.list_reps(conn, tenant.id)
    if not rows:
        print(f"No sales reps for {tenant.name!r} yet: they arrive with the first sync.")
        return 0
    print(f"{'CODE':6} {'NAME':28} {'ACTIVE':7} EMAIL")
    for rep in rows:
        active = "-" if rep.active is None else ("yes" if rep.active else "no")
        name = (rep.name or "(not in QuickBooks)")[:28]
        print(f"{rep.code:6} {name:28} {active:7} {rep.email or '(unmapped)'}")
    return 0


def register(sub: Any) -> None:
    """Add the sync commands to `qbwc-server`'s commands."""
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

    group = sub.add_parser("reps", help="QuickBooks sales rep codes and the emails they map to")
    rsub = group.add_subparsers(dest="reps_command", required=True, metavar="ACTION")
    p = rsub.add_parser("map", help="map a QuickBooks rep code (initials) to the rep's email")
    p.add_argument("tenant")
    p.add_argument("code", help="the rep's initials in QuickBooks, e.g. JS")
    p.add_argument("email")
    p.set_defaults(func=cmd_reps_map)
    p = rsub.add_parser("unmap", help="remove the email a rep code maps to")
    p.add_argument("tenant")
    p.add_argument("code", help="the rep's initials in QuickBooks, e.g. JS")
    p.set_defaults(func=cmd_reps_unmap)
    p = rsub.add_parser("list", help="list pulled reps and their emails")
    p.add_argument("tenant")
    p.set_defaults(func=cmd_reps_list)
