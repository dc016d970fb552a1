"""`qbwc-server status [TENANT]`: every tenant's health in a table (one statement), or one
tenant's in words: what the API's GET /tenants and GET /status answer (admin/health.py).

Printing only. With a tenant, "Problems" comes last: each further line of it is one problem.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from qbwc_server.admin.health import (
    HealthSummary,
    TenantHealth,
    duration_words,
    tenant_health,
    tenants_health,
)
from qbwc_server.cli.common import reading, when
from qbwc_server.config import Settings

_LABEL = 15
#: Job statuses in the order the queue line names them.
_QUEUE_ORDER = ("queued", "sent", "unconfirmed", "blocked", "failed", "dead", "done")


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    with reading(settings) as conn:
        if args.tenant:
            print_health(tenant_health(conn, args.tenant))
        else:
            print_summaries(tenants_health(conn))
    return 0


def print_summaries(rows: list[HealthSummary]) -> None:
    """The table of every tenant, then what each one needs (its problems, else its headline)."""
    if not rows:
        print("No tenants yet: qbwc-server tenant add NAME --username USER")
        return
    print(f"{'NAME':20} {'STATE':22} {'LAST CONTACT':20} {'QUEUED':>6} {'NEED HELP':>9}  LAST SESSION")
    for row in rows:
        done = when(row.last_session.ended_at) if row.last_session else "none"
        print(
            f"{row.tenant:20} {row.state:22} {when(row.last_contact_at):20}"
            f" {row.queue.get('queued', 0):>6} {row.failures_total:>9}  {done}"
        )
    print()
    for row in rows:
        for line in row.problems or (row.headline,):
            print(f"{row.tenant}: {line}")


def print_health(health: TenantHealth) -> None:
    """One tenant's health in words, as GET /status answers it."""
    print(f"{health.tenant}: {health.state}")
    print(f"  {health.headline}")
    for n, step in enumerate(health.checklist, 1):
        print(f"  {n}. {step}")
    _field("Last contact", _ago(health.last_contact_at, health))
    minutes = health.expected_poll_seconds // 60
    _field("Polls every", f"{minutes} minute{'s' if minutes != 1 else ''} (as its .qwc asks)")
    session = health.last_session
    if session is None:
        _field("Last session", "none completed yet")
    else:
        _field(
            "Last session",
            f"{when(session.started_at)} to {when(session.ended_at)} (ticket {session.ticket_prefix}…)",
        )
        _field("", session.summary or "(no closing message kept)")
    qb = health.quickbooks
    host = " ".join(filter(None, [qb.product, qb.version, qb.country and f"({qb.country})"]))
    details = ", ".join(
        filter(
            None, [qb.edition and f"{qb.edition} edition", qb.qbxml_version and f"qbXML {qb.qbxml_version}"]
        )
    )
    _field("QuickBooks", " ".join(filter(None, [host, details and f"[{details}]"])) or "not seen yet")
    _field("Company file", qb.company_file or "(whichever is open in QuickBooks)")
    queue = ", ".join(f"{health.queue[s]} {s}" for s in _QUEUE_ORDER if health.queue.get(s))
    _field("Queue", queue or "empty")
    for i, pull in enumerate(health.pulls):
        if pull.off:
            said = "off"
        elif pull.last_completed_at is None:
            said = "never completed"
        else:
            said = f"{when(pull.last_completed_at)} ({duration_words(int(pull.lag_seconds or 0))} ago)"
        if pull.last_job_status in ("failed", "dead"):
            said += f"; its last pull {pull.last_job_status}"
        _field("Pulls" if i == 0 else "", f"{pull.entity:22} {said}")
    _failures(health)
    for i, wait in enumerate(health.needs_mapping):
        _field(
            "Needs a link" if i == 0 else "",
            f"customer {wait.customer_id} {wait.name!r}: {wait.message or ''}",
        )
        if wait.fix:
            _field("", f"  Fix: {wait.fix}")
    problems = health.problems or ("none",)
    _field("Problem" if len(problems) == 1 else "Problems", problems[0])
    for problem in problems[1:]:
        _field("", problem)


def _failures(health: TenantHealth) -> None:
    if not health.failures:
        _field("Failures", "none")
        return
    shown = len(health.failures)
    more = f" (the newest {shown} of {health.failures_total})" if health.failures_total > shown else ""
    _field("Failures", f"{health.failures_total} job(s) wait for an admin{more}:")
    for failure in health.failures:
        code = f"QuickBooks {failure.quickbooks_code}: " if failure.quickbooks_code else ""
        if failure.message.startswith(code):  # the message often names the code itself
            code = ""
        what = f" {failure.record}" if failure.record else ""
        _field("", f"job {failure.job_id} {failure.kind}{what}, {failure.status}: {code}{failure.message}")
        if failure.fix:
            _field("", f"  Fix: {failure.fix}")


def _field(label: str, value: str) -> None:
    print(f"{label + ':' if label else '':{_LABEL}} {value}")


def _ago(value: dt.datetime | None, health: TenantHealth) -> str:
    if value is None:
        return "never"
    return f"{when(value)} ({duration_words(int((health.as_of - value).total_seconds()))} ago)"


def register(sub: Any) -> None:
    """Add `status` to `qbwc-server`'s commands."""
    p = sub.add_parser(
        "status",
        help="connection health of every tenant, or of one in full (as GET /api/v1/status answers it)",
    )
    p.add_argument("tenant", nargs="?", help="a tenant's name or username: its health in full")
    p.set_defaults(func=cmd_status)
