"""`qbwc-server demo`: the whole loop on one machine — endpoint, tenant, queued work, a simulated session."""

from __future__ import annotations

import threading

from sqlalchemy import text

from qbwc_server import queue, tenants
from qbwc_server.app import create_app
from qbwc_server.config import Settings
from qbwc_server.db import make_engine, resolve_database_url, upgrade_to_head
from qbwc_server.models import JobKind
from qbwc_server.runner import BackgroundServer
from qbwc_server.simulator import CannedProcessor, SimulatedWebConnector, format_report

DEMO_TENANT = "demo"
DEMO_REQUESTS = (
    '<CustomerQueryRq requestID="1"><MaxReturned>10</MaxReturned></CustomerQueryRq>',
    '<ItemInventoryQueryRq requestID="2"><MaxReturned>10</MaxReturned></ItemInventoryQueryRq>',
)


def run_demo(settings: Settings, *, port: int = 8000, keep_serving: bool = True) -> int:
    """Serve the endpoint, queue two raw requests for a demo tenant, run one session; 0 if it went well."""
    url = resolve_database_url(settings)
    where = url if settings.database_url else f"embedded PostgreSQL in {settings.data_dir}"
    print(f"Database: {where}")
    upgrade_to_head(url)
    engine = make_engine(url)
    try:
        server = BackgroundServer(create_app(settings, engine), port=port)
    except OSError as exc:  # before touching the demo tenant or the queue
        print(f"Cannot listen on port {port}: {exc.strerror}. Try `qbwc-server demo --port 0`.")
        return 2
    with engine.begin() as conn:
        try:
            _, password = tenants.add_tenant(conn, DEMO_TENANT, DEMO_TENANT)
        except tenants.TenantError:
            password = tenants.rotate_password(conn, DEMO_TENANT)
        tenant_id = tenants.get_tenant(conn, DEMO_TENANT).id
        job_ids = [
            queue.enqueue(
                conn, tenant_id, JobKind.RAW_QBXML, request_body=rq, max_attempts=settings.job_max_attempts
            )
            for rq in DEMO_REQUESTS
        ]
    assert password is not None  # generated, never admin-chosen here
    with server:
        print(f"Web Connector endpoint: {server.url}  (user {DEMO_TENANT!r}, password {password})")
        print(f"Queued raw qbXML jobs {job_ids}; running a simulated Web Connector session:\n")
        connector = SimulatedWebConnector(
            server.url, DEMO_TENANT, password, CannedProcessor(), noop_delay=1.0
        )
        report = connector.run_session()
        print(format_report(report))
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, status, last_message FROM jobs WHERE id = ANY(:ids) ORDER BY id"),
                {"ids": job_ids},
            ).all()
        print()
        for job_id, status, message in rows:
            print(f"Job {job_id}: {status} — {message}  (see `qbwc-server jobs show {job_id} --response`)")
        if keep_serving:
            print(
                f"\nStill serving {server.url}."
                f" Try: qbwc-server simulate --url {server.url} --user {DEMO_TENANT} (it answers 'none'"
                " until you queue work: qbwc-server jobs enqueue-raw demo FILE)."
                "\nPress Ctrl-C to stop."
            )
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                print("\nStopped.")
    engine.dispose()
    return 0 if report.ok else 1
