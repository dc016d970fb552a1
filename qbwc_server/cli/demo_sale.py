"""The demo's second half: a sale made on the commerce side goes to QuickBooks. The customer
and its order through the API, the session that pushes them; the order invoiced in QuickBooks;
its payment through the API, the session that pulls the invoice and pushes the payment applied
to it; then the report. The HTTP is demo_api.py's, the QuickBooks user demo_quickbooks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from qbwc_server.cli import demo_api
from qbwc_server.cli.demo_quickbooks import invoice_order, skus_for_sale
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.webconnector import SessionReport

#: The commerce side's new customer: a name the generated company does not have.
NEW_CUSTOMER = "Magnolia Market"


@dataclass
class Sale:
    """What the sale's part of the demo did: its sessions and its records as GET last showed them."""

    sessions: list[SessionReport] = field(default_factory=list)
    records: list[demo_api.ReadBack] = field(default_factory=list)
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.failure is None
            and all(session.ok for session in self.sessions)
            and len(self.records) == len(demo_api.SALE)
            and all(record.state == "synced" and record.qb_id for record in self.records)
        )


def run_sale(client: demo_api.ApiClient, company: Company, session: Callable[[], SessionReport]) -> Sale:
    """The sale, printed step by step; an unexpected API answer ends it (Sale.failure says which).

    The payment is recorded once the order is invoiced, as when a card is charged on shipping.
    Recorded with the order, it would wait for the invoice all the same (a payment for an order
    is applied to that order's invoice, never auto-applied), but the session whose only work was
    that wait would end with "Nothing left to do in this session.", shown as an error.
    """
    sale = Sale()
    try:
        _run(client, company, session, sale)
    except demo_api.DemoApiError as exc:
        sale.failure = str(exc)
        print(f"\nThe API did not answer as expected: {exc}")
    return sale


def _run(
    client: demo_api.ApiClient, company: Company, session: Callable[[], SessionReport], sale: Sale
) -> None:
    lines = [demo_api.Line(sku, n, rate) for n, (sku, rate) in enumerate(skus_for_sale(company), start=1)]
    total = demo_api.put_order(client, NEW_CUSTOMER, lines, company.clock.now().date())
    print("\nSession 3 — the Web Connector pushes them:\n")
    sale.sessions.append(session())
    sale.records = client.read_back(2)
    for record in sale.records:
        print(f"  {record.line}")
    order_txn_id = sale.records[1].qb_id
    if order_txn_id is None:
        return

    invoice = invoice_order(company, order_txn_id)
    number = invoice.ref_number
    print(
        f"\nMeanwhile, in QuickBooks: order {demo_api.ORDER_NUMBER} is invoiced (invoice {number},"
        f" {invoice.balance_remaining}) and shipped.\nThe customer pays; the commerce side records it:\n"
    )
    demo_api.put_payment(client, total, company.clock.now().date())
    client.sync_now()
    print("\nSession 4 — the invoice comes in, and the payment goes, applied to it:\n")
    sale.sessions.append(session())
    paid = "paid" if invoice.is_paid else "still open"
    print(f"In QuickBooks, invoice {number} now has a balance of {invoice.balance_remaining} ({paid}).")
    sale.records = client.read_back()


def print_report(
    pulled: dict[str, int], sale: Sale, status_url: str, admin_token: str, status_link: str
) -> None:
    """What the demo did, in a few lines, and how to look at it on the status page."""
    counts = ", ".join(f"{table.replace('_', ' ')} {n}" for table, n in pulled.items() if n)
    print(f"\nReport\n  Pulled from QuickBooks in sessions 1 and 2: {counts}.")
    print("  Pushed to QuickBooks in sessions 3 and 4, as the API shows them:")
    for record in sale.records:
        print(f"    {record.line}")
    if sale.failure:
        print(f"    (stopped: {sale.failure})")
    print(
        f"  Status page: {status_url} — log in with admin token {admin_token}\n"
        "  (a secret: it can do anything on this server; `qbwc-server admin-token --revoke` revokes"
        " every admin token)"
    )
    print(f"  The demo company's read-only page, no login: {status_link}")
