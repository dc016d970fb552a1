"""A sendRequestXML whose answer was lost, end to end over real HTTP: the server leased work and
committed, then the connection closed before any byte of the answer (a node killed after its
commit, a proxy cutting the connection). The Web Connector's client sends the same POST again on a
new connection (simulator/wire.py `post`, as .NET does), and QuickBooks gets only what that
second call returns. It must be the same message: nothing left behind as if answered, a write
run once, a pull's iterator continued at the page it asked for.
"""

from __future__ import annotations

import datetime as dt
import http.client
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, text

from qbwc_server import queue
from qbwc_server.simulator.company import Company, Customer
from qbwc_server.simulator.list_generator import add_lists
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.simulator.webconnector import SessionReport, SimulatedWebConnector
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.pushing import Recorder, job, pulled_tenant, put_customer, row

pytestmark = pytest.mark.protocol


class CuttingProxy:
    """Forwards keep-alive HTTP/1.1 to the served app; the first answer `cut(operation, answer)`
    picks is not passed back: the server did the call, and the client's connection closes before
    any byte of the answer. `answers` keeps each (operation, answer, cut) in order."""

    def __init__(self, upstream: str, cut: Callable[[str, bytes], bool]) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._cut: Callable[[str, bytes], bool] | None = cut
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}{parts.path}"
        self.answers: list[tuple[str, bytes, bool]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, client.makefile("rb") as reader:
            while line := reader.readline():
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while header := reader.readline().strip():
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip()] = value.strip()
                body = reader.read(int(headers.get("Content-Length", "0")))
                upstream = http.client.HTTPConnection(*self._upstream, timeout=60)
                try:
                    upstream.request(method, path, body, headers)
                    response = upstream.getresponse()
                    answer = response.read()
                finally:
                    upstream.close()
                operation = headers.get("SOAPAction", "").strip('"').rsplit("/", 1)[-1]
                cut = self._cut is not None and self._cut(operation, answer)
                self.answers.append((operation, answer, cut))
                if cut:
                    self._cut = None  # once
                    client.shutdown(socket.SHUT_RDWR)
                    return
                content_type = response.getheader("Content-Type") or "text/xml"
                head = (
                    f"HTTP/1.1 {response.status} {response.reason}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Length: {len(answer)}\r\n\r\n"
                )
                client.sendall(head.encode("latin-1") + answer)

    def resent(self) -> tuple[bytes, bytes]:
        """The answer that was cut and the answer to the same call sent again."""
        at = next(i for i, (_, _, cut) in enumerate(self.answers) if cut)
        assert self.answers[at + 1][0] == self.answers[at][0], "the client sent the same call again"
        return self.answers[at][1], self.answers[at + 1][1]


def session_cut_once(
    url: str, tenant: TenantCredentials, quickbooks: SimulatedQuickBooks, cut: Callable[[str, bytes], bool]
) -> tuple[Recorder, bytes, bytes]:
    """One Web Connector session through a proxy that drops the first answer `cut` picks; it must
    end well. Returns what QuickBooks saw, the answer dropped and the answer to the call resent."""
    proxy = CuttingProxy(url, cut)
    recorder = Recorder(quickbooks)
    try:
        connector = SimulatedWebConnector(
            proxy.url,
            tenant.username,
            tenant.password,
            recorder,
            noop_delay=0.01,
        )
        report: SessionReport = connector.run_session()
    finally:
        proxy.close()
    assert report.ok, report.errors
    return recorder, *proxy.resent()


@pytest.fixture
def company() -> Company:
    company = Company()
    add_lists(company)
    for n in range(12):
        company.add(Customer(name=f"Customer {n:02d}", email=f"buyer{n}@example.com"))
    return company


@pytest.fixture
def quickbooks(company: Company) -> SimulatedQuickBooks:
    return SimulatedQuickBooks(company)


def test_a_write_whose_send_answer_was_lost_runs_once_and_ends_done(
    server: BackgroundServer,
    make_tenant: Callable[..., TenantCredentials],
    engine: Engine,
    company: Company,
    quickbooks: SimulatedQuickBooks,
) -> None:
    tenant = pulled_tenant(make_tenant, engine, server, quickbooks)
    row_id, job_id = put_customer(engine, tenant.id, "c-1", {"name": "Resent Outfitters"})
    recorder, lost, again = session_cut_once(
        server.url, tenant, quickbooks, lambda operation, answer: b"CustomerAddRq" in answer
    )
    assert again == lost, "the same message went again"
    assert recorder.count("CustomerAddRq") == 1, "QuickBooks ran the Add once"
    added = [c for c in company.customers.values() if c.name == "Resent Outfitters"]
    assert len(added) == 1
    assert job(engine, job_id)["status"] == "done"
    mirrored = row(engine, "customers", row_id)
    assert (mirrored["sync_state"], mirrored["qb_list_id"]) == ("synced", added[0].list_id)


def test_a_pull_whose_send_answer_was_lost_continues_the_same_page(
    server: BackgroundServer, tenant: TenantCredentials, engine: Engine, quickbooks: SimulatedQuickBooks
) -> None:
    with engine.begin() as conn:
        params = {"started_at": dt.datetime.now(dt.UTC).isoformat(), "page_size": 5}
        job_id = queue.enqueue(conn, tenant.id, "customers.pull", params=params)
    # The second page's request (the first Continue) is the one whose answer is lost.
    recorder, lost, again = session_cut_once(
        server.url, tenant, quickbooks, lambda operation, answer: b"Continue" in answer
    )
    assert again == lost, "the same page of the same iterator, not the next one nor a new start"
    steps = [r.count('iterator="Start"') + 2 * r.count('iterator="Continue"') for r in recorder.work]
    assert steps == [1, 2, 2], "QuickBooks saw the iterator started once and continued twice"
    with engine.connect() as conn:
        names = conn.execute(text("SELECT name FROM customers ORDER BY name")).scalars().all()
    assert names == [f"Customer {n:02d}" for n in range(12)], "every customer, once"
    assert job(engine, job_id)["status"] == "done"
