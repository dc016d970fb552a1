"""`qbwc-server jobs enqueue-raw|list|show|retry|cancel|prune`: parsing and printing only.

The work is admin/jobs.py's (and, behind it, queue.py's).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qbwc_server.admin import jobs, tenants
from qbwc_server.admin.jobs import JobRow
from qbwc_server.cli.common import JOB_ID, UsageError, bounded_int, open_engine, reading, transaction
from qbwc_server.config import Settings
from qbwc_server.models import JobStatus
from qbwc_server.qbxml.core import QbxmlParseError
from qbwc_server.queue import retention

STATUSES = [status.value for status in JobStatus]
#: jobs.priority is a smallint; lower runs first.
PRIORITY = bounded_int(0, 32767)
LIMIT = bounded_int(1, jobs.MAX_LIST_LIMIT)
DAYS = bounded_int(0, 36500, " days")


def cmd_enqueue_raw(args: argparse.Namespace, settings: Settings) -> int:
    try:
        raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    with transaction(settings) as conn:
        tenant = tenants.get_tenant(conn, args.tenant)
        try:
            job_id = jobs.enqueue_raw(
                conn, tenant.id, raw, priority=args.priority, max_attempts=settings.job_max_attempts
            )
        except QbxmlParseError as exc:
            raise UsageError(f"{args.file}: {exc}") from None
    print(f"Queued job {job_id} for {tenant.name!r}; it goes out on the Web Connector's next session.")
    return 0


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with reading(settings) as conn:
        rows = jobs.list_jobs(conn, tenant=args.tenant, status=args.status, limit=args.limit)
    if not rows:
        print("No jobs match.")
        return 0
    print(f"{'ID':>6} {'TENANT':16} {'KIND':25} {'STATUS':8} {'TRIES':>5} {'UPDATED':19}  MESSAGE")
    for j in rows:
        print(
            f"{j.id:>6} {j.tenant:16} {j.kind:25} {j.status:8} {j.attempts:>5}"
            f" {j.updated_at:%Y-%m-%d %H:%M:%S}  {(j.last_message or '')[:70]}"
        )
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    with reading(settings) as conn:
        job = jobs.get_job(conn, args.id)
    for label, value in describe(job):
        print(f"{label + ':':13} {value}")
    if args.response:
        print(job.response_xml or "(no response yet)")
    return 0


def describe(job: JobRow) -> list[tuple[str, str]]:
    """Label/value pairs for a person reading one job."""
    return [
        ("Job", str(job.id)),
        ("Tenant", job.tenant),
        ("Kind", job.kind),
        ("Status", job.status),
        ("Attempts", f"{job.attempts} of {job.max_attempts}"),
        ("Priority", str(job.priority)),
        ("Depends on", ", ".join(str(d) for d in job.depends_on) or "-"),
        ("Run after", str(job.run_after)),
        ("Created", str(job.created_at)),
        ("Finished", str(job.finished_at or "-")),
        ("QB status", str(job.last_status_code if job.last_status_code is not None else "-")),
        ("Message", job.last_message or "-"),
        *_pull_lines(job),
        ("Request", (job.request_body or "-")[:500]),
    ]


def _pull_lines(job: JobRow) -> list[tuple[str, str]]:
    """For a pull: what it asked for, how far its iterator got, what it changed."""
    if job.params is None:
        return []
    since = job.params.get("since")
    lines = [
        ("Pulls", f"changes since {since}" if since else "everything (full refresh)"),
        ("Page size", str(job.params.get("page_size") or "whole list")),
        ("Rows changed", str(job.records)),
    ]
    if job.iterator_remaining:
        lines.append(("Still to read", f"{job.iterator_remaining} records (iterator in progress)"))
    return lines


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    with transaction(settings) as conn:
        jobs.retry_job(conn, args.id, resend=args.resend)
    print(f"Job {args.id} requeued.")
    return 0


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    days = settings.job_retention_days if args.older_than is None else args.older_than
    keep = retention.keep_for(days)
    if keep is None:
        print("Retention is off (QBWC_JOB_RETENTION_DAYS=0): nothing deleted.")
        return 0
    engine = open_engine(settings)
    try:
        pruned = retention.prune(engine, keep)
    finally:
        engine.dispose()
    print(
        f"Deleted {pruned.jobs} finished jobs and {pruned.sessions} ended Web Connector sessions older"
        f" than {days} days, and {pruned.page_sessions} expired status-page sessions."
    )
    return 0


def _action(action: Callable[[Any, int], None], verb: str) -> Callable[[argparse.Namespace, Settings], int]:
    def command(args: argparse.Namespace, settings: Settings) -> int:
        with transaction(settings) as conn:
            action(conn, args.id)
        print(f"Job {args.id} {verb}.")
        return 0

    return command


def register(sub: Any) -> None:
    """Add `jobs …` to `qbwc-server`'s commands."""
    group = sub.add_parser("jobs", help="inspect and manage the job queue")
    jsub = group.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    p = jsub.add_parser("enqueue-raw", help="queue a raw qbXML request from FILE ('-' for stdin)")
    p.add_argument("tenant")
    p.add_argument("file")
    p.add_argument(
        "--priority", type=PRIORITY, default=100, help="0 to 32767, lower runs first (default 100)"
    )
    p.set_defaults(func=cmd_enqueue_raw)
    p = jsub.add_parser("list", help="list jobs, newest first")
    p.add_argument("--tenant", help="only this tenant's jobs (its name or Web Connector username)")
    p.add_argument("--status", choices=STATUSES, help="only jobs in this status")
    p.add_argument(
        "--limit", type=LIMIT, default=50, help=f"at most this many, 1 to {jobs.MAX_LIST_LIMIT} (default 50)"
    )
    p.set_defaults(func=cmd_list)
    p = jsub.add_parser("show", help="one job in full")
    p.add_argument("id", type=JOB_ID)
    p.add_argument("--response", action="store_true", help="also print the stored qbXML response")
    p.set_defaults(func=cmd_show)
    p = jsub.add_parser(
        "retry",
        help="requeue a failed, dead, blocked or unconfirmed job",
        description="Requeue a failed, dead or blocked job with fresh attempts. An unconfirmed job is a"
        " write that went out and whose answer was lost: QuickBooks may already have done it, so it is"
        " sent again only with --resend, once you have checked QuickBooks.",
    )
    p.add_argument("id", type=JOB_ID)
    p.add_argument(
        "--resend",
        action="store_true",
        help="send an unconfirmed write again (check QuickBooks first: it may be there already)",
    )
    p.set_defaults(func=cmd_retry)
    p = jsub.add_parser("cancel", help="give up on a job that has not finished (or an unconfirmed one)")
    p.add_argument("id", type=JOB_ID)
    p.set_defaults(func=_action(jobs.cancel_job, "cancelled"))
    p = jsub.add_parser(
        "prune",
        help="delete finished jobs and ended sessions past retention (for cron or a systemd timer)",
        description="Delete finished jobs (done, and failed or dead ones a later job replaced; raw jobs"
        " included) and ended Web Connector sessions older than the retention, and expired status-page"
        " sessions, in small batches. Jobs not finished, a failed job still waiting for an admin, and a"
        " job another waits on stay. Authenticate also prunes a little of each tenant's as it goes.",
    )
    p.add_argument(
        "--older-than",
        type=DAYS,
        metavar="DAYS",
        help="retention in days (default: QBWC_JOB_RETENTION_DAYS, 30; 0 deletes nothing)",
    )
    p.set_defaults(func=cmd_prune)
