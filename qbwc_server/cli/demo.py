"""`qbwc-server demo`: the whole loop on one machine. The endpoint, a tenant and a simulated
QuickBooks company; a first session pulls all of it, a second the changes made "in QuickBooks";
then the commerce side makes a sale through the JSON API (demo_api.py), the next sessions push
it, and a report shows the QuickBooks ids it received and how to open the status page.
The simulators play QuickBooks (demo_quickbooks.py: its user) and the Web Connector; admin
operations (admin/) set the stage, as an admin would.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from sqlalchemy import Engine

from qbwc_server.admin import jobs, pulls, status, tenants, tokens
from qbwc_server.admin.settings import set_pull_settings, set_push_settings
from qbwc_server.app import BackgroundServer, create_app
from qbwc_server.cli import demo_api
from qbwc_server.cli.common import bounded_int
from qbwc_server.cli.db import libpq_url
from qbwc_server.cli.demo_quickbooks import change_company
from qbwc_server.cli.demo_sale import print_report, run_sale
from qbwc_server.config import Settings
from qbwc_server.db import make_engine, resolve_database_url, upgrade_to_head
from qbwc_server.simulator import SimulatedWebConnector, format_report
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.webconnector import SessionReport

DEMO_TENANT = "demo"
#: A raw request the simulated QuickBooks answers (it has customers, not a company record), so
#: the session's closing "Done" is true of it too.
DEMO_REQUEST = '<CustomerQueryRq requestID="1"><MaxReturned>3</MaxReturned></CustomerQueryRq>'


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    return run_demo(settings, port=args.port, keep_serving=not args.exit)


def run_demo(settings: Settings, *, port: int = 8000, keep_serving: bool = True, customers: int = 300) -> int:
    """Serve the endpoint, pull a generated company (in full, then incrementally), push a sale
    made through the API, report; 0 if every session and API call went as it should."""
    started = time.monotonic()
    url = _database(settings)
    engine = make_engine(url, pooled=settings.db_pooled)
    try:
        server = BackgroundServer(create_app(settings, engine), port=port)
    except OSError as exc:  # before touching the demo tenant or the queue
        print(f"Cannot listen on port {port}: {exc.strerror}. Try `qbwc-server demo --port 0`.")
        engine.dispose()
        return 2
    password, tenant_id = _demo_tenant(engine)
    print("Generating a QuickBooks company…")
    company = generate_company(seed=0, customers=customers, items=max(20, customers // 5))
    quickbooks = SimulatedQuickBooks(company)
    with server:
        print(f"Web Connector endpoint: {server.url}  (user {DEMO_TENANT!r}, password {password})")
        print(
            f"Simulated QuickBooks company: {len(company.customers)} customers, {len(company.items)} items,"
            f" {len(company.sales_orders)} sales orders, {len(company.invoices)} invoices,"
            f" {len(company.payments)} payments.\n"
        )

        def session() -> SessionReport:
            return _session(server, password, quickbooks)

        with engine.begin() as conn:
            job_id = jobs.enqueue_raw(conn, tenant_id, DEMO_REQUEST, max_attempts=settings.job_max_attempts)
        print(f"Session 1 — first sync (every pull is due), plus raw qbXML job {job_id}:\n")
        first = session()
        _print_raw_outcome(engine, job_id)
        _print_mirror(engine, tenant_id)

        print("\nMeanwhile, in QuickBooks: one customer edited, one added, one deactivated, stock received.")
        change_company(company)
        with engine.begin() as conn:  # as if the pull intervals had passed
            pulls.sync_now(conn, tenant_id)
        print("\nSession 2 — incremental pulls bring just those changes:\n")
        second = session()
        pulled = _print_mirror(engine, tenant_id)

        client = demo_api.ApiClient(server.base_url, _tenant_token(engine))
        print(
            f"\nThe commerce side calls the JSON API at {server.base_url}/api/v1 with a tenant token"
            " (a secret: it reads and writes the demo company; the next run of the demo revokes it):"
            f"\n  export QBWC_TOKEN={client.token}"
            '\n  curl -H "Authorization: Bearer $QBWC_TOKEN"'
            f" {server.base_url}/api/v1/customers/{demo_api.CUSTOMER_ID}\n"
        )
        sale = run_sale(client, company, session)
        print_report(
            pulled, sale, f"{server.base_url}/status", _admin_token(engine), _status_link(engine, server)
        )
        ok = first.ok and second.ok and sale.ok
        print(f"\nThe demo {'ran' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s.")
        if keep_serving:
            print(
                f"\nStill serving {server.base_url} (/qbwc, /api/v1, /status)."
                f" Try: qbwc-server simulate --url {server.url} --user {DEMO_TENANT} --company"
                " (it answers 'none' until a pull is due or you queue work)."
                "\nPress Ctrl-C to stop."
            )
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                print("\nStopped.")
    engine.dispose()
    return 0 if ok else 1


def _database(settings: Settings) -> str:
    """The database's URL, migrated. Says so first: the embedded one's first start takes a while."""
    if settings.database_url:
        print(f"Database: {libpq_url(settings.database_url)}")
    else:
        where = settings.data_dir
        print(f"Database: embedded PostgreSQL in {where} (starting it; creating it the first time)…")
    url = resolve_database_url(settings)
    print("Applying database migrations…")
    upgrade_to_head(url)
    return url


def _demo_tenant(engine: Engine) -> tuple[str, int]:
    """The demo tenant with a fresh password and a clean slate: its mirror starts empty, pushed
    records included, so every run tells the same story."""
    with engine.begin() as conn:
        try:
            _, password = tenants.add_tenant(conn, DEMO_TENANT, DEMO_TENANT)
        except tenants.TenantError:
            password = tenants.rotate_password(conn, DEMO_TENANT)
        tenant_id = tenants.get_tenant(conn, DEMO_TENANT).id
        tenants.clear_synced_data(conn, tenant_id)
        set_pull_settings(conn, tenant_id, page_size=100)  # several pages: iterators at work
        set_push_settings(conn, tenant_id, live_window_seconds=0)  # each demo session ends when done
    assert password is not None  # generated, never admin-chosen here
    return password, tenant_id


def _tenant_token(engine: Engine) -> str:
    """A new API token for the demo tenant; the earlier runs' are revoked."""
    with engine.begin() as conn:
        tokens.revoke_tenant_tokens(conn, DEMO_TENANT)
        return tokens.issue_tenant_token(conn, DEMO_TENANT)


def _admin_token(engine: Engine) -> str:
    """An admin token for the status page's login (earlier ones stay valid: they may not be the demo's)."""
    with engine.begin() as conn:
        return tokens.issue_admin_token(conn)


def _status_link(engine: Engine, server: BackgroundServer) -> str:
    """A read-only link to the demo company's status page; the earlier runs' are revoked."""
    with engine.begin() as conn:
        tokens.revoke_status_links(conn, DEMO_TENANT)
        return tokens.status_link_url(server.base_url, tokens.issue_status_link(conn, DEMO_TENANT))


def _session(server: BackgroundServer, password: str, quickbooks: SimulatedQuickBooks) -> SessionReport:
    report = SimulatedWebConnector(
        server.url, DEMO_TENANT, password, quickbooks, noop_delay=1.0
    ).run_session()
    print(format_report(report))
    print(f"The Web Connector shows: {report.close_message}")
    return report


def _print_raw_outcome(engine: Engine, job_id: int) -> None:
    """What QuickBooks answered the raw request: "Done" closes a session whatever it answered."""
    with engine.connect() as conn:
        job = jobs.get_job(conn, job_id)
    if job.last_status_code is None:
        print(f"\nRaw qbXML job {job_id}: {job.status}, no answer from QuickBooks yet.")
        return
    print(
        f"\nRaw qbXML job {job_id}: QuickBooks answered {job.last_status_code} ({job.last_message or '-'});"
        f" the response: qbwc-server jobs show {job_id} --response"
    )


def _print_mirror(engine: Engine, tenant_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        counts = status.mirror_counts(conn, tenant_id)
    print("\nMirror: " + ", ".join(f"{table} {n}" for table, n in counts.items()))
    return counts


def register(sub: Any) -> None:
    """Add `demo` to `qbwc-server`'s commands."""
    p = sub.add_parser(
        "demo",
        help="serve the endpoint, sync a simulated QuickBooks company, push a sale made through the API",
    )
    p.add_argument(
        "--port",
        type=bounded_int(0, 65535),
        default=8000,
        help="port to serve on (default 8000; 0 = any free port)",
    )
    p.add_argument("--exit", action="store_true", help="stop after the report instead of serving on")
    p.set_defaults(func=cmd_demo)
