"""Default list entries pushed into the simulated QuickBooks (`lists.push`): looked up first, added
once when missing, landed in the mirror; a refusal ends the job done with why, and a lost Add is
looked up, never added twice. And a customer push that lacks a default gets it next time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from lxml import etree
from sqlalchemy import Engine, text

from qbwc_server.simulator import changes
from qbwc_server.simulator import quickbooks as simulated
from qbwc_server.simulator.change_checks import StatusError
from qbwc_server.simulator.change_fields import read_fields
from qbwc_server.simulator.company import Class, Company, CustomerType, StandardTerms
from qbwc_server.simulator.list_changes import list_add
from qbwc_server.simulator.list_generator import add_lists
from qbwc_server.simulator.list_rets import SIMPLE
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.sync import defaults
from qbwc_server.testing import BackgroundServer
from tests.conftest import TenantCredentials
from tests.pushing import (
    Recorder,
    job,
    jobs_of,
    pulled_tenant,
    put_customer,
    run_session,
    run_session_losing,
    set_push_settings,
)
from tests.xsd import assert_valid_qbxml

pytestmark = [pytest.mark.slow, pytest.mark.protocol]


@pytest.fixture(autouse=True)
def list_adds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """ClassAdd, StandardTermsAdd and CustomerTypeAdd in the simulated QuickBooks, where it does not
    answer them yet (the simulator's own rules replace these once they are there)."""
    if "ClassAddRq" not in simulated.CHANGES:
        handlers = dict(changes._HANDLERS)
        for kind, collection, record in (
            ("Class", "classes", Class),
            ("CustomerType", "customer_types", CustomerType),
        ):
            spec = [f for f in SIMPLE[record][1] if f[0] not in ("FullName", "Sublevel", "ParentRef")]
            handlers[(kind, "Add")] = list_add(collection, spec, record)
        handlers[("StandardTerms", "Add")] = _add_terms
        monkeypatch.setattr(changes, "_HANDLERS", handlers)
        monkeypatch.setattr(simulated, "CHANGES", frozenset(f"{k}{op}Rq" for k, op in handlers))
    yield


def _add_terms(company: Company, body: etree._Element) -> StandardTerms:
    values = read_fields(company, body, SIMPLE[StandardTerms][1])
    name = values["name"]
    if company.name_taken("terms", name):
        raise StatusError(3100, f'The name "{name}" of the list element is already in use.')
    return company.add(StandardTerms(**values))


@pytest.fixture
def company() -> Company:
    company = Company()
    add_lists(company)
    return company


@pytest.fixture
def quickbooks(company: Company) -> SimulatedQuickBooks:
    return SimulatedQuickBooks(company)


@pytest.fixture
def tenant(
    make_tenant: Callable[..., TenantCredentials],
    engine: Engine,
    server: BackgroundServer,
    quickbooks: SimulatedQuickBooks,
) -> TenantCredentials:
    return pulled_tenant(make_tenant, engine, server, quickbooks)


def plan(engine: Engine, tenant_id: int, **push: str) -> list[int]:
    set_push_settings(engine, tenant_id, **push)
    with engine.begin() as conn:
        return defaults.plan_missing_defaults(conn, tenant_id, ["terms", "customer_types", "classes"])


def mirrored(engine: Engine, table: str, column: str, name: str) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT qb_list_id FROM {table} WHERE {column} = :n"), {"n": name}).all()
    return [r[0] for r in rows]


def test_a_default_quickbooks_has_is_found_and_mirrored_not_added(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    channels = company.add(Class(name="Channels"))  # added in QuickBooks after the last pull
    [job_id] = plan(engine, tenant.id, default_class="channels")
    recorder = Recorder(quickbooks)

    assert run_session(server, tenant, recorder).ok

    assert not any("ClassAddRq" in r for r in recorder.requests)
    assert mirrored(engine, "classes", "full_name", "Channels") == [channels.list_id]
    done = job(engine, job_id)
    assert done["status"] == "done" and "found in QuickBooks" in done["last_message"]


def test_missing_defaults_are_added_once_with_what_their_names_say(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    jobs = plan(
        engine,
        tenant.id,
        default_class="Web Orders",
        default_terms="net 45",
        default_customer_type="Key Accounts",
    )
    assert len(jobs) == 3
    recorder = Recorder(quickbooks)

    assert run_session(server, tenant, recorder).ok

    terms = [t for t in company.terms.values() if t.name == "net 45"]
    assert len(terms) == 1 and isinstance(terms[0], StandardTerms) and terms[0].std_due_days == 45
    assert [c.name for c in company.classes.values()].count("Web Orders") == 1
    assert [t.name for t in company.customer_types.values()].count("Key Accounts") == 1
    assert mirrored(engine, "terms", "name", "net 45") == [terms[0].list_id]
    assert len(mirrored(engine, "classes", "full_name", "Web Orders")) == 1
    assert len(mirrored(engine, "customer_types", "full_name", "Key Accounts")) == 1
    for job_id in jobs:
        assert job(engine, job_id)["status"] == "done"
        assert "added to QuickBooks" in job(engine, job_id)["last_message"]
    for request in recorder.requests:
        assert_valid_qbxml(request)
    assert (
        plan(
            engine,
            tenant.id,
            default_class="Web Orders",
            default_terms="net 45",
            default_customer_type="Key Accounts",
        )
        == []
    )


def test_a_refused_add_ends_done_with_why_and_holds_nothing(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    [job_id] = plan(engine, tenant.id, default_customer_type="Nowhere:Key Accounts")  # no such parent
    _, customer_job = put_customer(engine, tenant.id, "c-1", {"name": "Depends Inc"}, depends_on=(job_id,))

    assert run_session(server, tenant, quickbooks).ok

    refused = job(engine, job_id)
    assert refused["status"] == "done"
    assert refused["last_status_code"] == 3140 and "left out" in refused["last_message"]
    assert job(engine, customer_job)["status"] == "done", "a default never holds what depends on it"
    depends = next(c for c in company.customers.values() if c.name == "Depends Inc")
    assert depends.customer_type_ref is None


def test_a_lost_add_is_looked_up_not_added_twice(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    [job_id] = plan(engine, tenant.id, default_class="Web Orders")
    run_session_losing(server, tenant, Recorder(quickbooks, lose=lambda r: "ClassAddRq" in r))
    assert job(engine, job_id)["status"] == "unconfirmed"
    recorder = Recorder(quickbooks)

    assert run_session(server, tenant, recorder).ok

    assert not any("ClassAddRq" in r for r in recorder.requests)
    assert [c.name for c in company.classes.values()].count("Web Orders") == 1
    assert len(mirrored(engine, "classes", "full_name", "Web Orders")) == 1
    assert job(engine, job_id)["status"] == "done"


def test_a_customer_push_without_its_default_plans_it_and_the_next_push_sends_it(
    server: BackgroundServer,
    tenant: TenantCredentials,
    company: Company,
    quickbooks: SimulatedQuickBooks,
    engine: Engine,
) -> None:
    set_push_settings(engine, tenant.id, default_customer_type="Key Accounts")
    put_customer(engine, tenant.id, "c-1", {"name": "First Shop"})

    assert run_session(server, tenant, quickbooks).ok

    first = next(c for c in company.customers.values() if c.name == "First Shop")
    assert first.customer_type_ref is None, "omitted, never failed over"
    [planned] = jobs_of(engine, "lists.push")
    assert planned["status"] == "done" and planned["entity_ref"] == "customer_types:Key Accounts"
    put_customer(engine, tenant.id, "c-2", {"name": "Second Shop"})

    assert run_session(server, tenant, quickbooks).ok

    second = next(c for c in company.customers.values() if c.name == "Second Shop")
    assert second.customer_type_ref is not None and second.customer_type_ref.full_name == "Key Accounts"
