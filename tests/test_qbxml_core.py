"""The qbXML core every pull relies on: the streaming response reader and the status-code table."""

from __future__ import annotations

import pytest

from qbwc_server.qbxml.core import QbxmlParseError, ResponseStream
from qbwc_server.qbxml.errors import Outcome, explain_status
from qbwc_server.qbxml.query import element, qb_text

PAGE = (
    '<?xml version="1.0" encoding="windows-1252"?>\n'
    "<QBXML><QBXMLMsgsRs>"
    '<CustomerQueryRs requestID="7" statusCode="0" statusSeverity="Info" statusMessage="Status OK"'
    ' iteratorRemainingCount="1200" iteratorID="{6C5E0C2D-0F38-4B1F-9E27-8F0B6D3E2A11}">'
    "{records}</CustomerQueryRs>"
    '<ItemInventoryQueryRs requestID="8" statusCode="1" statusSeverity="Info"'
    ' statusMessage="A query request did not find a matching object in QuickBooks"/>'
    "</QBXMLMsgsRs></QBXML>"
)


def page(n: int) -> str:
    return PAGE.replace(
        "{records}", "".join(f"<CustomerRet><Name>Caf\u00e9 &amp; {i}</Name></CustomerRet>" for i in range(n))
    )


@pytest.mark.parametrize("tags", [None, {"CustomerRet"}])
def test_records_stream_in_order_with_their_status_and_every_status_is_kept(tags: set[str] | None) -> None:
    stream = ResponseStream(page(3))
    seen = [
        (status.name, status.iterator_remaining, record.findtext("Name"))
        for status, record in stream.records(tags)
    ]
    assert seen == [("CustomerQueryRs", 1200, f"Caf\u00e9 & {i}") for i in range(3)]
    assert [(s.name, s.code, s.request_id) for s in stream.statuses] == [
        ("CustomerQueryRs", 0, "7"),
        ("ItemInventoryQueryRs", 1, "8"),
    ]
    assert stream.statuses[0].iterator_id == "{6C5E0C2D-0F38-4B1F-9E27-8F0B6D3E2A11}"


@pytest.mark.parametrize("tags", [None, {"CustomerRet"}])
def test_a_large_response_is_never_held_whole_as_a_tree(tags: set[str] | None) -> None:
    total = 60_000  # about 3 MB of text: the parser is fed 1 MB at a time
    held = [len(record.getparent()) for _, record in ResponseStream(page(total)).records(tags)]
    assert len(held) == total
    assert max(held) < total / 2, "records read are dropped as the text streams in"
    assert held[-1] <= 2


@pytest.mark.parametrize("tags", [None, {"CustomerRet"}])
def test_broken_or_foreign_documents_raise_our_parse_error(tags: set[str] | None) -> None:
    with pytest.raises(QbxmlParseError, match="not well-formed"):
        list(ResponseStream(page(3)[:-30]).records(tags))
    with pytest.raises(QbxmlParseError, match="expected a <QBXML> document"):
        list(ResponseStream("<html><body>Proxy error</body></html>").records(tags))


def test_entities_and_dtds_are_never_resolved() -> None:
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode="0" statusSeverity="Info" statusMessage="OK">'
        "<CustomerRet><Name>&x;</Name></CustomerRet></CustomerQueryRs></QBXMLMsgsRs></QBXML>"
    )
    names = [record.findtext("Name") for _, record in ResponseStream(hostile).records({"CustomerRet"})]
    assert all("root:" not in (name or "") for name in names)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (0, Outcome.DONE),
        (1, Outcome.DONE),
        (500, Outcome.DONE),
        (3000, Outcome.NEEDS_ADMIN),
        (3100, Outcome.NEEDS_ADMIN),
        (3120, Outcome.NEEDS_ADMIN),
        (3140, Outcome.WAIT_FOR_DEPENDENCY),
        (3170, Outcome.RETRY),
        (3175, Outcome.RETRY),
        (3180, Outcome.RETRY),
        (3200, Outcome.RETRY),
        (3231, Outcome.RETRY),
        (3250, Outcome.NEEDS_ADMIN),
        (3391, Outcome.RETRY),
        (9999, Outcome.NEEDS_ADMIN),
    ],
)
def test_every_status_code_has_one_outcome_and_errors_have_a_fix(code: int, outcome: Outcome) -> None:
    explanation = explain_status(code, "QuickBooks' own words")
    assert explanation.outcome is outcome
    if outcome is not Outcome.DONE:
        assert explanation.fix and explanation.meaning
    if code == 9999:
        assert "QuickBooks' own words" in explanation.meaning


def test_text_we_send_is_escaped_and_windows_1252_safe() -> None:
    assert (
        element("Name", 'Smith & Sons <"Wholesale">') == '<Name>Smith &amp; Sons &lt;"Wholesale"&gt;</Name>'
    )
    assert (
        qb_text("Caf\u00e9 \u2013 M\u00fcller \u4e2d\u6587 \U0001f600") == "Caf\u00e9 \u2013 M\u00fcller ?? ?"
    )
    assert qb_text("A\x00B\x1fC") == "ABC"
    assert qb_text("x" * 50, 41) == "x" * 41
