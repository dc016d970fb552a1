"""Hostile qbXML answers through receiveResponseXML: a number, a settled job, no exception.

For a raw read, a raw write and every kind of pull, a job is queued, a session opened, its
request sent; the simulated QuickBooks answers it properly, and Hypothesis then spoils the
answer: status codes and attributes of any shape (huge, negative, non-ASCII digits, missing),
records with garbage values (impossible dates, 1e400, overlong text), required elements
dropped, unknown elements added, records repeated many times, deep nesting, declared encodings,
DTDs and entities, or the whole text replaced (empty, HTML, truncated); sometimes with an
HRESULT as QuickBooks' request processor sends one. Each goes through receiveResponseXML over
HTTP. Every call must return an int in [-1, 100] (-1 only when QuickBooks itself failed and the
session cannot go on), and the job must end settled: done, failed (or dead or blocked) with a
reason, or unconfirmed for a write; queued again only to continue an iterator or to retry with
the reason recorded, never as if its answer had not come. The app logs no exception and nothing
at ERROR. Seeded (derandomize), no example database. bench/campaign.py runs thousands.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import Engine, text

from qbwc_server.simulator import build_envelope, host_response, parse_response
from qbwc_server.simulator.generator import generate_company
from qbwc_server.simulator.quickbooks import SimulatedQuickBooks
from qbwc_server.sync import raw, schedule
from qbwc_server.sync.pulls import PULLS
from qbwc_server.testing import BackgroundServer
from tests.campaign import (
    Exchange,
    Expect,
    Violation,
    log_violations,
    logged_cause,
    post,
    raise_first,
    soap_violations,
)
from tests.conftest import TenantCredentials

pytestmark = [pytest.mark.campaign, pytest.mark.protocol]

CI = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

RAW_READ = '<CustomerQueryRq requestID="1"><MaxReturned>3</MaxReturned></CustomerQueryRq>'
RAW_WRITE = '<CustomerAddRq requestID="1"><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>'
#: What a job can be: the two raw kinds and every pull.
KINDS = ("raw read", "raw write", *(spec.entity for spec in PULLS))
HCP = host_response(company_file=r"C:\Company Files\Fuzz.QBW", supported_versions=["13.0"], country="US")
XML_CHARS = st.characters(
    exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff", include_characters="\t\n\r\x7f\x85"
)
GARBAGE = [
    "", " ", "-1", "0", "99999999999", "-2147483649", "4294967296", "1e400", "-1e400", "NaN", "Infinity",
    "\u00b2", "\u0661\u0663", "1_3", "0x10", " 12 ", "12.345678901234567890123", "1,000.00", "$5", "-0.00",
    "9999-99-99T99:99:99", "2024-02-30", "2024-13-01", "0000-00-00", "2024-01-01T10:00:00+25:00",
    "2024-03-10T02:30:00", "yesterday", "2024-01-01", "true", "false", "TRUE", "yes", "1",
    "80000001-1234567890", "{x}", "&", "<", "]]>", "\u202e", "\U0001f600",
]  # fmt: skip
STATUS_CODES = [
    "0", "1", "500", "530", "3000", "3100", "3120", "3140", "3170", "3175", "3176", "3180", "3200",
    "3231", "3250", "3391", "9001", "-1",
]  # fmt: skip
STATUS_ATTRIBUTES = [
    "statusCode", "statusSeverity", "statusMessage", "requestID", "iteratorRemainingCount", "iteratorID",
    "retCount",
]  # fmt: skip
ELEMENT_NAMES = [
    "CustomerRet", "ListID", "TxnID", "Name", "FullName", "TimeModified", "Unknown", "DataExtRet",
    "QBXMLMsgsRs", "CustomerQueryRs", "ItemInventoryRet", "Deep", "x",
]  # fmt: skip
REPLACEMENTS = [
    "empty", "blank", "not-xml", "html", "truncated", "bare-root", "no-messages", "soap-fault",
    "declaration-only", "comment-only",
]  # fmt: skip
HRESULTS = ["0x80040400", "0x80040401", "0x80040402", "0x80040408", "0x8004041A", "0xFFFFFFFF", "banana", " "]


@dataclass(frozen=True)
class Plan:
    """How to spoil a proper answer: edits of its tree, then how the text is dressed or replaced."""

    edits: tuple[tuple[Any, ...], ...]
    declaration: str
    doctype: str
    replace: tuple[str, float] | None
    hresult: str
    message: str


def garbage(huge: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(GARBAGE),
        st.text(XML_CHARS, max_size=30),
        st.builds(
            lambda unit, n: unit * n, st.sampled_from(["9", "a", "\u00e9", "\u65e5"]), st.integers(100, huge)
        ),
    )


def edits(huge: int, copies: int, depth: int) -> st.SearchStrategy[tuple[Any, ...]]:
    index = st.integers(0, 10_000)
    name = st.one_of(
        st.sampled_from(ELEMENT_NAMES), st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True)
    )
    status = st.one_of(st.sampled_from(STATUS_CODES), garbage(huge), st.none())
    return st.one_of(
        st.tuples(st.just("status"), index, st.sampled_from(STATUS_ATTRIBUTES), status),
        st.tuples(st.just("attribute"), index, name, st.one_of(garbage(huge), st.none())),
        st.tuples(st.just("text"), index, garbage(huge)),
        st.tuples(st.just("drop"), index),
        st.tuples(st.just("insert"), index, name, st.one_of(garbage(100), st.none())),
        st.tuples(st.just("duplicate"), index, st.integers(1, copies)),
        st.tuples(st.just("nest"), index, st.integers(2, depth)),
        st.tuples(st.just("rename"), index, name),
    )


@st.composite
def plans(draw: st.DrawFn, huge: int = 50_000, copies: int = 30, depth: int = 300) -> Plan:
    declaration = draw(st.sampled_from([
        '<?xml version="1.0" ?>', "", '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0" encoding="windows-1252"?>', '<?xml version="1.0" encoding="ISO-8859-1"?>',
        '<?xml version="1.0" encoding="UTF-16"?>', '<?xml version="1.0" encoding="x-bogus"?>',
        '<?xml version="1.1"?>', '<?xml version="1.0" ?><?qbxml version="13.0"?>',
    ]))  # fmt: skip
    doctype = draw(st.sampled_from(["none"] * 6 + ["internal", "external", "laughs"]))
    replace = None
    if draw(st.integers(0, 7)) == 0:
        replace = (
            draw(st.sampled_from(REPLACEMENTS)),
            draw(st.floats(0, 1)),
        )  # fmt: skip
    hresult = draw(st.sampled_from([""] * 9 + HRESULTS))
    return Plan(
        edits=tuple(draw(st.lists(edits(huge, copies, depth), max_size=5))),
        declaration=declaration,
        doctype=doctype,
        replace=replace,
        hresult=hresult,
        message=draw(st.sampled_from(["", "QuickBooks found an error.", "\u00e9" * 300])) if hresult else "",
    )


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def spoil(answer: str, plan: Plan) -> str:
    """The proper `answer` spoiled as `plan` says."""
    root = etree.fromstring(answer.split("?>", 1)[1].encode(), _PARSER)
    for edit in plan.edits:
        elements = list(root.iter())
        target = elements[edit[1] % len(elements)]
        kind = edit[0]
        if kind == "status":
            answers = [e for e in elements if str(e.tag).endswith("Rs")] or elements
            target = answers[edit[1] % len(answers)]
        if kind in ("status", "attribute"):
            if edit[3] is None:
                target.attrib.pop(edit[2], None)
            else:
                target.set(edit[2], edit[3])
        elif kind == "text":
            target.text = edit[2]
        elif kind == "drop" and target is not root:
            target.getparent().remove(target)
        elif kind == "insert":
            child = etree.Element(edit[2])
            child.text = edit[3]
            target.insert(edit[1] % (len(target) + 1), child)
        elif kind == "duplicate" and target is not root:
            parent = target.getparent()
            at = parent.index(target)
            for _ in range(edit[2]):
                parent.insert(at, copy.deepcopy(target))
        elif kind == "nest":
            inner = target
            for _ in range(edit[2]):
                inner = etree.SubElement(inner, "Deep")
            inner.text = "bottom"
        elif kind == "rename":
            target.tag = edit[2]
    body = str(etree.tostring(root, encoding="unicode"))
    prolog = plan.declaration
    if plan.doctype != "none":
        entities = {
            "internal": '<!ENTITY e "expanded-entity">',
            "external": '<!ENTITY e SYSTEM "file:///etc/passwd">',
            "laughs": '<!ENTITY l0 "lol">'
            + "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 9))
            + '<!ENTITY e "&l8;">',
        }[plan.doctype]
        prolog += f"<!DOCTYPE {root.tag} [{entities}]>"
        body = body.replace("</", "&e;</", 1)
    spoiled = prolog + body
    if plan.replace is None:
        return spoiled
    how, fraction = plan.replace
    replacements: dict[str, str] = {
        "empty": "",
        "blank": " \r\n\t ",
        "not-xml": "QuickBooks said no",
        "html": "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "truncated": spoiled[: int(len(spoiled) * fraction)],
        "bare-root": "<QBXML/>",
        "no-messages": '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs/></QBXML>',
        "soap-fault": '<soap:Fault xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>',
        "declaration-only": '<?xml version="1.0" ?>',
        "comment-only": "<!-- nothing -->",
    }
    return replacements[how]


# -- one job through one spoiled answer ------------------------------------------------------------


def call(url: str, operation: str, **arguments: Any) -> tuple[Exchange, Any]:
    """One operation; the reply and its result as the real client reads it (None if it cannot)."""
    reply = post(url, build_envelope(operation, arguments))
    try:
        return reply, parse_response(operation, reply.status, reply.content_type, reply.body)
    except Exception:
        return reply, None


def queue_job(engine: Engine, tenant_id: int, kind: str, serial: int) -> int:
    """A fresh job of `kind` (the tenant's earlier work cleared); its id."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs WHERE tenant_id = :t"), {"t": tenant_id})
        conn.execute(text("DELETE FROM sync_cursors WHERE tenant_id = :t"), {"t": tenant_id})
        if kind == "raw read":
            return raw.enqueue_raw(conn, tenant_id, RAW_READ)
        if kind == "raw write":
            return raw.enqueue_raw(conn, tenant_id, RAW_WRITE.format(name=f"Fuzz {serial}"))
        schedule.request_refresh(conn, tenant_id, [kind])
        return int(
            conn.execute(text("SELECT id FROM jobs WHERE tenant_id = :t"), {"t": tenant_id}).scalar_one()
        )


def job_state(engine: Engine, job: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT status, last_message, last_status_code, iterator_id FROM jobs WHERE id = :id"),
            {"id": job},
        ).mappings()
        return dict(row.one())


def settle_violations(state: dict[str, Any], writes: bool, quickbooks_failed: bool) -> list[Violation]:
    """An answered job is settled (done, failed with a reason, unconfirmed for a write), never
    queued again as if unanswered, never left in flight. Queued again is right only to continue an
    iterator, when QuickBooks' own status asks for it (busy, iterator expired), or when QuickBooks'
    request processor failed instead of answering (an HRESULT)."""
    status, message = state["status"], (state["last_message"] or "").strip()
    found = []
    if status in ("failed", "dead", "blocked", "unconfirmed") and not message:
        found.append(Violation("settled-without-reason", status))
    if "<cyfunction" in message or " object at 0x" in message or "Traceback" in message:
        found.append(Violation("reason-shows-python-internals", message[:200]))
    if status == "unconfirmed" and not writes:
        found.append(Violation("read-unconfirmed", message))
    if status == "sent":
        found.append(Violation("left-in-flight", message))
    if status == "queued":
        if "before QuickBooks answered" in message:
            found.append(Violation("answer-treated-as-unanswered", message))
        elif state["iterator_id"] is None and state["last_status_code"] is None and not quickbooks_failed:
            restart = "starting this pull over" in message
            if not restart:
                found.append(Violation("answer-requeued", f"queued again after an answer: {message[:160]!r}"))
    return found


_serial = iter(range(10**9))


def answer_job(url: str, engine: Engine, tenant: Any, kind: str, plan: Plan) -> tuple[list[Violation], float]:
    """Queue a job, send it, answer it with the spoiled answer, close: what did not hold, and the
    slowest call."""
    serial = next(_serial)
    job = queue_job(engine, tenant.id, kind, serial)
    found: list[Violation] = []
    reply, answer = call(url, "authenticate", strUserName=tenant.username, strPassword=tenant.password)
    assert isinstance(answer, list) and answer[0], f"no session opened: {answer!r} {reply.body[:300]!r}"
    ticket = answer[0]
    arguments = {"strCompanyFileName": "", "qbXMLCountry": "US", "qbXMLMajorVers": 13, "qbXMLMinorVers": 0}
    sent, request = call(url, "sendRequestXML", ticket=ticket, strHCPResponse=HCP, **arguments)
    assert isinstance(request, str) and "Rq" in request, f"nothing sent for {kind}: {sent.body[:300]!r}"
    company = generate_company(seed=serial % 7, customers=6, items=3, invoices=4, payments=2)
    quickbooks = SimulatedQuickBooks(company, validate=False)
    quickbooks.open_company("")
    spoiled = spoil(quickbooks.process(request), plan)
    received, progress = call(
        url, "receiveResponseXML", ticket=ticket, response=spoiled, hresult=plan.hresult, message=plan.message
    )
    found += soap_violations("receiveResponseXML", Expect.OK, received)
    quickbooks_failed = bool(plan.hresult.strip()) and plan.hresult.strip().lower() != "0x80040400"
    if isinstance(progress, int) and not (0 <= progress <= 100 or (progress == -1 and quickbooks_failed)):
        found.append(Violation("progress-out-of-range", f"{progress} (hresult {plan.hresult!r})"))
    closed, _ = call(url, "closeConnection", ticket=ticket)
    found += soap_violations("closeConnection", Expect.OK, closed)
    found += settle_violations(job_state(engine, job), kind == "raw write", quickbooks_failed)
    return found, max(received.seconds, closed.seconds, sent.seconds)


@pytest.fixture
def fuzz_tenant(make_tenant: Callable[..., TenantCredentials]) -> TenantCredentials:
    return make_tenant("fuzz")


@CI
@given(kind=st.sampled_from(KINDS), plan=plans())
def test_any_answer_settles_its_job_and_the_call_returns_progress(
    server: BackgroundServer,
    engine: Engine,
    fuzz_tenant: TenantCredentials,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    plan: Plan,
) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        violations, _ = answer_job(server.url, engine, fuzz_tenant, kind, plan)
    raise_first(violations + log_violations(caplog.records), logged_cause(caplog.records))
