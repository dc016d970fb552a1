"""What the status page tests share: a browser-like HTTP client that keeps the login cookie and
the page's CSRF token, the page's visible text, and a shop with things that need an admin —
a customer QuickBooks refused (3100, waiting for a mapping, an order held behind it) and an
order whose SKU QuickBooks lacks (3140) — made by a real simulated session.
"""

from __future__ import annotations

import html
import html.parser
import re
import urllib.parse
from dataclasses import dataclass, field

from sqlalchemy import Engine, text

from qbwc_server import queue
from qbwc_server.admin import jobs
from qbwc_server.models import IfUnanswered
from tests.api_http import Reply, call
from tests.pushes import Shop, order_body

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """The page's text as a reader sees it, whitespace collapsed."""
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


@dataclass
class PageClient:
    """Requests to the served page with the login cookie (once logged in) and the CSRF token of
    the last page read."""

    base_url: str
    cookie: str | None = None
    csrf: str | None = None
    last: Reply | None = field(default=None, repr=False)

    def get(self, path: str, **headers: str) -> Reply:
        reply = call(self.base_url, "GET", path, headers={**self._cookie(), **headers})
        found = _CSRF.search(reply.text)
        if found:
            self.csrf = html.unescape(found.group(1))
        self.last = reply
        return reply

    def post(self, path: str, fields: dict[str, str], *, csrf: bool = True, **headers: str) -> Reply:
        sent = {"csrf_token": self.csrf or "", **fields} if csrf else fields
        return call(
            self.base_url,
            "POST",
            path,
            data=urllib.parse.urlencode(sent).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **self._cookie(), **headers},
        )

    def login(self, token: str) -> Reply:
        reply = self.post("/status/login", {"token": token}, csrf=False)
        assert reply.status == 303, reply.text
        self.cookie = reply.headers["set-cookie"].split(";", 1)[0]
        self.get("/status")
        return reply

    def follow(self, reply: Reply) -> Reply:
        """The page a 303 sends the browser to."""
        assert reply.status == 303, (reply.status, reply.text)
        location = reply.headers["location"].split("#", 1)[0]
        return self.get(location)

    def _cookie(self) -> dict[str, str]:
        return {"Cookie": self.cookie} if self.cookie else {}


def failed_job(engine: Engine, tenant_id: int, status: str = "failed", **columns: object) -> int:
    """A customer push in `status`, as QuickBooks' refusal leaves it."""
    with engine.begin() as conn:
        job_id = queue.enqueue(
            conn,
            tenant_id,
            "customers.push",
            request_body="<CustomerAddRq/>",
            entity_ref="17",
            if_unanswered=IfUnanswered.HOLD,
        )
        values = {
            "code": 3100,
            "message": 'The name "Acme" of the list element is already in use.',
            **columns,
        }
        conn.execute(
            text("""
                UPDATE jobs SET status = :s, attempts = 1, last_status_code = :code, last_message = :message,
                                finished_at = CASE WHEN :s IN ('failed', 'dead') THEN now() END
                WHERE id = :id
            """),
            {"s": status, "id": job_id, **values},
        )
    return job_id


def job_status(engine: Engine, job_id: int) -> str:
    with engine.connect() as conn:
        return jobs.get_job(conn, job_id).status


@dataclass(frozen=True)
class Trouble:
    """What `make_trouble` left: the jobs and rows an admin has to act on."""

    waiting_customer: str
    #: The QuickBooks customer of the same name, and its ListID.
    quickbooks_name: str
    quickbooks_list_id: str
    customer_job: int
    held_order_job: int
    missing_sku_job: int


def make_trouble(shop: Shop) -> Trouble:
    """A session that leaves a 3100 (customer c-dup: the name is another QuickBooks customer's,
    its order o-held held behind it) and a 3140 (order o-sku: a SKU QuickBooks lacks)."""
    bound = shop.customer("c-1")
    other = shop.one(
        """SELECT qb_list_id, name FROM customers
           WHERE tenant_id = :t AND commerce_id IS NULL AND qb_list_id <> :l AND is_active AND sublevel = 0
           ORDER BY name LIMIT 1""",
        t=shop.tenant.id,
        l=bound,
    )
    other_name = other["name"]
    _, customer_job = shop.put("customers", "c-dup", {"name": other_name, "email": "nobody@else.example"})
    _, held = shop.put(
        "sales_orders", "o-held", order_body(shop, "WC9001", "c-dup"), depends_on=[customer_job]
    )
    body = order_body(shop, "WC9002", "c-1")
    body["lines"].append({"sku": "WIDGET-NOWHERE", "quantity": "1", "rate": "5"})
    _, missing = shop.put("sales_orders", "o-sku", body)
    report = shop.session()
    assert report.ok, report.errors
    assert shop.job(customer_job)["status"] == "failed", shop.job(customer_job)
    assert shop.row("customers", "c-dup")["sync_state"] == "needs_mapping"
    assert shop.job(held)["status"] == "blocked" and shop.job(missing)["status"] == "blocked"
    return Trouble("c-dup", other_name, other["qb_list_id"], customer_job, held, missing)
