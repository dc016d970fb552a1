"""`qbwc-server …`: argument parsing and printing only; the work lives in the modules it calls.

Every command exits 0 on success, 1 when the work itself failed (e.g. a simulated session
ended in error), and 2 with a one-line reason on bad input or configuration.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from qbwc_server import __version__, cli_sync
from qbwc_server.cli_common import UsageError, open_engine, tenant_named
from qbwc_server.config import ConfigError, Settings, load_settings


def _read_password(args: argparse.Namespace) -> str | None:
    if not getattr(args, "password_stdin", False):
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("--password-stdin given but no password arrived on standard input")
    return password


# -- commands ---------------------------------------------------------------------------------


def cmd_tenant_add(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server import tenants
    from qbwc_server.webconnector.auth import WeakPasswordError

    password = _read_password(args)
    with open_engine(settings).begin() as conn:
        try:
            tenant, generated = tenants.add_tenant(
                conn, args.name, args.username, password=password, company_file=args.company_file
            )
        except (tenants.TenantError, WeakPasswordError) as exc:
            raise UsageError(str(exc)) from None
    print(f"Created tenant {tenant.name!r} (Web Connector username {tenant.username!r}).")
    if generated:
        print(f"Password (shown only this once; type it into the Web Connector): {generated}")
    print(f"Next: qbwc-server qwc {tenant.name} > {tenant.name}.qwc, then open it in the Web Connector.")
    return 0


def cmd_tenant_list(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server import tenants

    with open_engine(settings).connect() as conn:
        rows = tenants.list_tenants(conn)
        counts = {t.id: tenants.job_counts(conn, t.id) for t in rows}
    if not rows:
        print("No tenants yet: qbwc-server tenant add NAME --username USER")
        return 0
    print(f"{'NAME':20} {'USERNAME':20} {'LAST SEEN':20} {'QBXML':6} {'QUEUED':>6} {'NEED HELP':>9}")
    for t in rows:
        c = counts[t.id]
        seen = t.last_seen_at.strftime("%Y-%m-%d %H:%M:%S") if t.last_seen_at else "never"
        attention = c.get("failed", 0) + c.get("dead", 0) + c.get("blocked", 0)
        print(
            f"{t.name:20} {t.username:20} {seen:20} {t.qbxml_version or '-':6} {c.get('queued', 0):>6}"
            f" {attention:>9}"
        )
    problems = [t for t in rows if t.connection_error]
    for t in problems:  # in full: the fix is the useful part
        print(f"\n{t.name}: {t.connection_error}")
    return 0


def cmd_tenant_show(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server import tenants

    with open_engine(settings).connect() as conn:
        t = tenant_named(conn, args.name)
        counts = tenants.job_counts(conn, t.id)
        pulls = cli_sync.pulls_summary(conn, t.id)
    password = "generated secret (SHA-256)" if t.password_kind == "token" else "admin-chosen (argon2id)"
    fields = [
        ("Name", t.name),
        ("Username", t.username),
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
        ("Locked until", str(t.locked_until or "-")),
        ("Jobs", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"),
        ("Pulls", pulls),
        ("Problem", t.connection_error or "none"),
    ]
    for label, value in fields:
        print(f"{label + ':':15} {value}")
    return 0


def cmd_tenant_set(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server import tenants

    if args.company_file is None and args.username is None and not args.pull and args.page_size is None:
        raise UsageError("nothing to change: give --company-file, --username, --pull or --page-size")
    with open_engine(settings).begin() as conn:
        try:
            t = tenants.set_tenant(conn, args.name, company_file=args.company_file, username=args.username)
        except tenants.TenantError as exc:
            raise UsageError(str(exc)) from None
        pulls = cli_sync.apply_pull_settings(conn, t.id, args)
    print(f"Updated {t.name!r}: username {t.username!r}, company file {t.company_file or '(the open one)'}.")
    if pulls:
        print(pulls)
    return 0


def cmd_tenant_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server import tenants
    from qbwc_server.webconnector.auth import WeakPasswordError

    password = _read_password(args)
    with open_engine(settings).begin() as conn:
        try:
            generated = tenants.rotate_password(conn, args.name, password=password)
        except (tenants.TenantError, WeakPasswordError) as exc:
            raise UsageError(str(exc)) from None
    print(f"Password changed for {args.name!r}; enter it in the Web Connector too.")
    if generated:
        print(f"New password (shown only this once): {generated}")
    return 0


def cmd_qwc(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.webconnector.qwc import QwcError, build_qwc

    with open_engine(settings).connect() as conn:
        t = tenant_named(conn, args.tenant)
    try:
        qwc = build_qwc(
            tenant_name=t.name,
            username=t.username,
            owner_id=t.owner_id,
            file_id=t.file_id,
            app_url=args.url or settings.public_url,
            run_every_minutes=args.every,
        )
    except QwcError as exc:
        raise UsageError(str(exc)) from None
    sys.stdout.write(qwc)
    return 0


def cmd_jobs_enqueue_raw(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server import queue
    from qbwc_server.models import JobKind
    from qbwc_server.qbxml.core import QbxmlParseError, request_messages

    try:
        raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        body = request_messages(raw)
    except QbxmlParseError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    with open_engine(settings).begin() as conn:
        tenant = tenant_named(conn, args.tenant)
        job_id = queue.enqueue(
            conn,
            tenant.id,
            JobKind.RAW_QBXML,
            request_body=body,
            priority=args.priority,
            max_attempts=settings.job_max_attempts,
        )
    print(f"Queued job {job_id} for {tenant.name!r}; it goes out on the Web Connector's next session.")
    return 0


def cmd_jobs_list(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server import job_listing

    with open_engine(settings).connect() as conn:
        rows = job_listing.list_jobs(conn, tenant=args.tenant, status=args.status, limit=args.limit)
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


def cmd_jobs_show(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server import job_listing

    with open_engine(settings).connect() as conn:
        job = job_listing.get_job(conn, args.id)
    if job is None:
        raise UsageError(f"no job {args.id}")
    for label, value in job_listing.describe(job):
        print(f"{label + ':':13} {value}")
    if args.response:
        print(job.response_xml or "(no response yet)")
    return 0


def _job_action(action: Callable[..., None], verb: str) -> Callable[[argparse.Namespace, Settings], int]:
    def command(args: argparse.Namespace, settings: Settings) -> int:
        from qbwc_server.queue import QueueError

        with open_engine(settings).begin() as conn:
            try:
                action(conn, args.id)
            except QueueError as exc:
                raise UsageError(str(exc)) from None
        print(f"Job {args.id} {verb}.")
        return 0

    return command


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    if args.tenant:
        return cmd_tenant_show(argparse.Namespace(name=args.tenant), settings)
    return cmd_tenant_list(args, settings)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from qbwc_server.db import resolve_database_url, upgrade_to_head
    from qbwc_server.runner import run_gunicorn

    if settings.database_url is None:
        url = resolve_database_url(settings)
        upgrade_to_head(url)
        os.environ["DATABASE_URL"] = url  # the workers read the same settings
        print(f"Using the embedded PostgreSQL in {settings.data_dir} (set DATABASE_URL to use your own).")
    else:
        open_engine(settings).dispose()  # fail now, clearly, if the schema is behind
    bind = f"{args.host or '127.0.0.1'}:{args.port or 8000}" if args.host or args.port else None
    from qbwc_server import gunicorn_conf

    print(f"Web Connector endpoint: http://{bind or gunicorn_conf.bind}/qbwc", flush=True)
    run_gunicorn(bind, workers=args.workers)
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.simulator import CannedProcessor, SimulatedWebConnector, WebConnectorProtocolError
    from qbwc_server.simulator.processor import RequestProcessor
    from qbwc_server.simulator.report import format_report

    password = args.password
    if password is None:
        password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else getpass.getpass()
    down = ("0x80040408", "Could not start QuickBooks.") if args.quickbooks_down else None
    processor: RequestProcessor
    if args.company:
        from qbwc_server.simulator.generator import generate_company
        from qbwc_server.simulator.quickbooks import SimulatedQuickBooks

        company = generate_company(
            seed=args.seed, customers=args.customers, items=max(10, args.customers // 5)
        )
        simulated = SimulatedQuickBooks(company)
        simulated.fail_connection = down
        processor = simulated
    else:
        processor = CannedProcessor(Path(args.canned_dir) if args.canned_dir else None, fail_connection=down)
    connector = SimulatedWebConnector(args.url, args.user, password, processor, noop_delay=args.noop_delay)
    try:
        report = connector.run_session()
    except (WebConnectorProtocolError, OSError) as exc:
        print(f"The server broke the Web Connector protocol or could not be reached: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    if report.close_message:
        print(f"The Web Connector shows: {report.close_message}")
    return 0 if report.ok or report.outcome == "no work" else 1


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.demo import run_demo

    return run_demo(settings, port=args.port, keep_serving=not args.exit)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.db import resolve_database_url, upgrade_to_head

    upgrade_to_head(resolve_database_url(settings))
    print("The database schema is up to date.")
    return 0


def cmd_db_url(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.db import resolve_database_url

    print(resolve_database_url(settings))
    return 0


def cmd_db_stop(args: argparse.Namespace, settings: Settings) -> int:
    from qbwc_server.db import stop_embedded_postgres

    if settings.database_url:
        raise UsageError("DATABASE_URL is set: that server is yours to stop, not qbwc-server's")
    stopped = stop_embedded_postgres(settings.data_dir)
    print("Stopped the embedded PostgreSQL." if stopped else "The embedded PostgreSQL was not running.")
    return 0


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from qbwc_server import queue

    parser = argparse.ArgumentParser(
        prog="qbwc-server",
        description="Sync QuickBooks Desktop with WizCommerce through the QuickBooks Web Connector.",
        epilog="Database: DATABASE_URL, or an embedded PostgreSQL under QBWC_DATA_DIR when unset.",
    )
    parser.add_argument("--version", action="version", version=f"qbwc-server {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("serve", help="serve the Web Connector endpoint with gunicorn")
    p.add_argument("--host", help="address to listen on (default: QBWC_BIND, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: QBWC_BIND, else 8000)")
    p.add_argument("--workers", type=int, help="gunicorn workers (default: cores + 1)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("demo", help="serve the endpoint and run a simulated Web Connector session against it")
    p.add_argument(
        "--port", type=int, default=8000, help="port to serve on (default 8000; 0 = any free port)"
    )
    p.add_argument(
        "--exit", action="store_true", help="stop after the simulated session instead of serving on"
    )
    p.set_defaults(func=cmd_demo)

    tenant = sub.add_parser("tenant", help="manage tenants (one QuickBooks company each)")
    tsub = tenant.add_subparsers(dest="tenant_command", required=True, metavar="ACTION")
    p = tsub.add_parser("add", help="create a tenant and print its Web Connector password once")
    p.add_argument("name", help="short name for the company, e.g. acme")
    p.add_argument("--username", required=True, help="the Web Connector username (goes into the .qwc)")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read an admin-chosen password from standard input instead of generating one",
    )
    p.add_argument("--company-file", help="full path of the company file the Web Connector must open")
    p.set_defaults(func=cmd_tenant_add)
    p = tsub.add_parser("list", help="list tenants with their health")
    p.set_defaults(func=cmd_tenant_list)
    p = tsub.add_parser("show", help="everything about one tenant")
    p.add_argument("name")
    p.set_defaults(func=cmd_tenant_show)
    p = tsub.add_parser("set", help="change a tenant's username, company file or pull schedule")
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
        "--page-size", type=int, help="records per page of a pull (default 500; smaller for slow PCs)"
    )
    p.set_defaults(func=cmd_tenant_set)
    p = tsub.add_parser("rotate-password", help="issue a new password (ends a live session)")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read an admin-chosen password from stdin")
    p.set_defaults(func=cmd_tenant_rotate)

    p = sub.add_parser("qwc", help="print the tenant's .qwc file for the Web Connector")
    p.add_argument("tenant")
    p.add_argument("--url", help="AppURL (default QBWC_PUBLIC_URL); https:// unless localhost")
    p.add_argument(
        "--every",
        type=int,
        default=1,
        choices=range(1, 1441),
        metavar="MINUTES",
        help="how often the Web Connector runs (default 1)",
    )
    p.set_defaults(func=cmd_qwc)

    p = sub.add_parser("status", help="health of all tenants, or one")
    p.add_argument("tenant", nargs="?")
    p.set_defaults(func=cmd_status)

    jobs = sub.add_parser("jobs", help="inspect and manage the job queue")
    jsub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    p = jsub.add_parser("enqueue-raw", help="queue a raw qbXML request from FILE ('-' for stdin)")
    p.add_argument("tenant")
    p.add_argument("file")
    p.add_argument("--priority", type=int, default=100, help="lower runs first (default 100)")
    p.set_defaults(func=cmd_jobs_enqueue_raw)
    p = jsub.add_parser("list", help="list jobs, newest first")
    p.add_argument("--tenant")
    p.add_argument("--status", choices=["queued", "sent", "done", "failed", "blocked", "dead"])
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_jobs_list)
    p = jsub.add_parser("show", help="one job in full")
    p.add_argument("id", type=int)
    p.add_argument("--response", action="store_true", help="also print the stored qbXML response")
    p.set_defaults(func=cmd_jobs_show)
    p = jsub.add_parser("retry", help="requeue a failed, dead or blocked job")
    p.add_argument("id", type=int)
    p.set_defaults(func=_job_action(queue.retry_job, "requeued"))
    p = jsub.add_parser("cancel", help="give up on a job that has not finished")
    p.add_argument("id", type=int)
    p.set_defaults(func=_job_action(queue.cancel_job, "cancelled"))

    p = sub.add_parser("simulate", help="run one simulated Web Connector session against a server")
    p.add_argument("--url", required=True, help="the server's AppURL, e.g. http://127.0.0.1:8000/qbwc")
    p.add_argument("--user", required=True, help="Web Connector username")
    p.add_argument("--password", help="password (prompted for when omitted)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--canned-dir", help="directory of canned XxxRs.xml answers (default: built-in)")
    p.add_argument("--quickbooks-down", action="store_true", help="simulate 'Could not start QuickBooks'")
    p.add_argument(
        "--company",
        action="store_true",
        help="answer from a generated QuickBooks company (customers, items, orders, invoices…) instead of"
        " canned responses",
    )
    p.add_argument("--seed", type=int, default=0, help="the generated company (same seed, same company)")
    p.add_argument("--customers", type=int, default=200, help="size of the generated company (default 200)")
    p.add_argument("--noop-delay", type=float, default=5.0, help="seconds to wait on NoOp (default 5)")
    p.set_defaults(func=cmd_simulate)

    cli_sync.register(sub)

    db = sub.add_parser("db", help="database helpers")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    p = dsub.add_parser("url", help="print the database URL in use (starting the embedded one if needed)")
    p.set_defaults(func=cmd_db_url)
    p = dsub.add_parser("upgrade", help="apply the database migrations (what `alembic upgrade head` does)")
    p.set_defaults(func=cmd_db_upgrade)
    p = dsub.add_parser("stop", help="stop the embedded PostgreSQL (it keeps running between commands)")
    p.set_defaults(func=cmd_db_stop)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        return int(args.func(args, settings))
    except (UsageError, ConfigError) as exc:
        print(f"qbwc-server: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `qbwc-server jobs show 1 --response | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
