"""A raw job's answer as an admin reads it back: kept gzipped since migration 0009, whole through
`qbwc-server jobs show --response` and `GET /api/v1/jobs/{id}`, old text rows still readable, and
a rollback of 0009 writing them back as text. The memory a large answer costs is measured in
bench/edge_memory.py, not here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from qbwc_server import queue
from qbwc_server.admin import tenants, tokens
from qbwc_server.admin.jobs import get_job
from qbwc_server.config import normalize_database_url
from qbwc_server.db import alembic_config, upgrade_to_head
from qbwc_server.qbxml.core import QbxmlError
from qbwc_server.queue.stored import compress
from qbwc_server.sync import raw
from qbwc_server.sync.raw import read_statuses
from qbwc_server.testing import BackgroundServer
from tests.api_http import call as api_call
from tests.conftest import Run, TenantCredentials
from tests.test_protocol import authenticate, enqueue_raw, hcp, receive, send_request

pytestmark = pytest.mark.protocol


def customers_answer(count: int) -> str:
    """A CustomerQueryRs of `count` customers, names not all ASCII, as QuickBooks sends it."""
    rets = "".join(
        f"<CustomerRet><ListID>{800000 + i:X}-1234567890</ListID><Name>Caf\u00e9 {i} &amp; S\u00f6hne</Name>"
        f"<Notes>{'Deliver before noon. ' * (i % 7)}</Notes></CustomerRet>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerQueryRs requestID="1" statusCode="0"'
        f' statusSeverity="Info" statusMessage="Status OK">{rets}</CustomerQueryRs>\n'
        "</QBXMLMsgsRs>\n</QBXML>\n"
    )


def read_back(
    cli: Run, server: BackgroundServer, engine: Engine, tenant: TenantCredentials, job_id: int
) -> tuple[str, str]:
    """The job's answer as `jobs show --response` prints it and as the API returns it."""
    shown = cli("jobs", "show", str(job_id), "--response")
    assert shown.returncode == 0, shown.stderr
    token = tokens.issue_tenant_token(engine, tenant.name)
    reply = api_call(server.base_url, "GET", f"/api/v1/jobs/{job_id}", token=token)
    assert reply.status == 200, reply.text
    return shown.stdout, reply.json["response"]


def test_a_raw_answer_is_kept_compressed_and_read_back_whole(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials, cli: Run
) -> None:
    answer = customers_answer(2_000)
    job_id = enqueue_raw(engine, tenant.id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    assert receive(server.url, ticket, answer) == 100

    with engine.connect() as conn:
        kept_as_text, stored_bytes, status = conn.execute(
            text("SELECT response_xml, octet_length(response_gz), status FROM jobs WHERE id = :id"),
            {"id": job_id},
        ).one()
    assert status == "done" and kept_as_text is None
    assert stored_bytes < len(answer.encode()) / 10, "qbXML compresses tenfold or more"
    printed, served = read_back(cli, server, engine, tenant, job_id)
    assert answer in printed
    assert served == answer


def test_an_answer_stored_as_text_before_0009_still_reads_back(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials, cli: Run
) -> None:
    answer = customers_answer(3)
    job_id = enqueue_raw(engine, tenant.id)
    with engine.begin() as conn:  # what the previous release wrote
        conn.execute(
            text("UPDATE jobs SET status = 'done', finished_at = now(), response_xml = :r WHERE id = :id"),
            {"r": answer, "id": job_id},
        )

    printed, served = read_back(cli, server, engine, tenant, job_id)
    assert answer in printed and served == answer


def test_a_job_answered_again_keeps_only_the_new_answer(
    server: BackgroundServer, engine: Engine, tenant: TenantCredentials
) -> None:
    """A job answered as text before the upgrade, retried and answered after it: the old text
    goes, so the job never shows one answer while holding another."""
    job_id = enqueue_raw(engine, tenant.id)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE jobs SET status = 'failed', finished_at = now(), response_xml = 'old' WHERE id = :id"
            ),
            {"id": job_id},
        )
        queue.retry_job(conn, job_id)
    ticket = authenticate(server.url, tenant)[0]
    assert send_request(server.url, ticket, hcp())
    answer = customers_answer(1)
    assert receive(server.url, ticket, answer) == 100

    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT response_xml FROM jobs WHERE id = :id"), {"id": job_id}).scalar()
            is None
        )
        assert get_job(conn, job_id).response_xml == answer


def test_the_worst_status_of_an_answer_is_the_jobs_and_records_never_count_as_answers() -> None:
    answer = (
        "<QBXML><QBXMLMsgsRs>"
        '<CustomerQueryRs statusCode="0" statusSeverity="Info" statusMessage="OK">'
        '<CustomerRet><DataExtRs statusCode="9" statusSeverity="Error"/></CustomerRet></CustomerQueryRs>'
        '<ItemQueryRs statusCode="1" statusSeverity="Warn" statusMessage="nothing"/>'
        '<InvoiceAddRs statusCode="3120" statusSeverity="Error" statusMessage="not found"/>'
        "</QBXMLMsgsRs></QBXML>"
    )

    statuses = read_statuses(answer)

    assert [(s.name, s.code, s.severity) for s in statuses] == [
        ("CustomerQueryRs", 0, "Info"),
        ("ItemQueryRs", 1, "Warn"),
        ("InvoiceAddRs", 3120, "Error"),
    ]


@pytest.mark.parametrize(
    "answer",
    [
        customers_answer(3),
        '<?xml version="1.0" encoding="windows-1252"?><QBXML><QBXMLMsgsRs>'
        '<CustomerAddRs statusCode="3100" statusSeverity="Error" statusMessage="in use"/>'
        "</QBXMLMsgsRs></QBXML>",
        "<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode='0'><CustomerRet></QBXMLMsgsRs></QBXML>",
        "<QBXML><QBXMLMsgsRs></QBXMLMsgsRs></QBXML>",
        "<QBXML><Other/></QBXML>",
        "<HTML><body>Service unavailable</body></HTML>",
        "<QBXML><QBXMLMsgsRs><a:CustomerQueryRs statusCode='0'/></QBXMLMsgsRs></QBXML>",
        "",
        "not xml at all",
    ],
)
def test_a_small_answer_read_whole_gives_the_statuses_and_errors_of_the_streamed_read(
    answer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers up to raw.SMALL_ANSWER are parsed whole; an admin must see the same statuses, and
    for a broken answer the same reason, as when the answer is read as a stream."""

    def read(small: int) -> object:
        monkeypatch.setattr(raw, "SMALL_ANSWER", small)
        try:
            return [(s.name, s.code, s.severity, s.message) for s in read_statuses(answer)]
        except QbxmlError as exc:
            return (type(exc), str(exc))

    assert read(1 << 20) == read(-1)


def test_rolling_back_0009_writes_compressed_answers_back_as_text(fresh_database: Callable[..., str]) -> None:
    url = fresh_database(None)
    upgrade_to_head(url)
    answer = customers_answer(50)
    engine = create_engine(normalize_database_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            info, _ = tenants.add_tenant(conn, "acme", "acme-qb")
            job_id = conn.execute(
                text("""INSERT INTO jobs (tenant_id, kind, status, finished_at, response_gz)
                        VALUES (:t, 'qbxml.raw', 'done', now(), :gz) RETURNING id"""),
                {"t": info.id, "gz": compress(answer)},
            ).scalar_one()

        command.downgrade(alembic_config(url), "0008")
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT response_xml FROM jobs WHERE id = :id"), {"id": job_id}).scalar()
        assert kept == answer

        upgrade_to_head(url)
        with engine.connect() as conn:
            assert get_job(conn, job_id).response_xml == answer
    finally:
        engine.dispose()
