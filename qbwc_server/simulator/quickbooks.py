"""A simulated QuickBooks Desktop: a RequestProcessor answering qbXML from an in-memory company.
Knows qbXML documents, statuses and faults; independent of our own qbXML builders and parsers.

Every request document is validated against Intuit's XSD (invalid -> 0x80040400, as QuickBooks
does) and so is every response it writes (invalid -> SimulatorBug: the simulator's own fault).

Exceptions::

    QuickBooksError (processor.py)
     ├── QuickBooksConnectionError   fail_connection: open_company refuses
     └── QuickBooksRequestError      fail_requests / fail_next_requests, or an unparsable request
    SimulatorBug (AssertionError)    a response the simulator wrote does not validate
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from lxml import etree

from qbwc_server.simulator import render, schema
from qbwc_server.simulator.change_checks import StatusError
from qbwc_server.simulator.changes import CHANGES, answer_change
from qbwc_server.simulator.company import Company
from qbwc_server.simulator.preferences import Preferences
from qbwc_server.simulator.processor import (
    DEFAULT_COMPANY_FILE,
    DEFAULT_VERSIONS,
    NOT_AVAILABLE,
    PARSE_ERROR,
    QuickBooksConnectionError,
    QuickBooksRequestError,
    host_response,
    parse_version,
    read_request_document,
    request_messages,
)
from qbwc_server.simulator.queries import DELETED_QUERIES, SOURCES, Answer, Iterators, answer_query

NOT_PROCESSED = (3231, "Error", "The request has not been processed.")
_QUERY_RS_ATTRIBUTES = frozenset({"retCount", "iteratorRemainingCount", "iteratorID"})


class SimulatorBug(AssertionError):
    """The simulator wrote a response that does not validate against Intuit's XSD."""


class SimulatedQuickBooks:
    """QuickBooks Desktop with `company` open, as the Web Connector's request processor.

    Edition and preferences (the host response reports them; `preferences` holds them):
    `edition` "enterprise" (default), "premier" or "pro" (Pro answers SalesOrderAdd/Mod 3250);
    `class_tracking`, `sales_tax`, `estimates`, `sales_orders_enabled` (all True by default; off, a
    ClassRef / sales tax reference / EstimateAdd / SalesOrderAdd is refused with 3250).
    `validate`: every request document is checked against Intuit's XSD (0x80040400 when invalid).

    Fault switches for tests: `fail_connection`, `fail_requests` (an (hresult, message) pair),
    `fail_next_requests(n, …)`, `delay_seconds`, `expire_iterators()`. Thread-safe: one
    request document at a time, like QuickBooks.
    """

    def __init__(
        self,
        company: Company | None = None,
        *,
        company_file: str = DEFAULT_COMPANY_FILE,
        supported_versions: Sequence[str] = DEFAULT_VERSIONS,
        country: str = "US",
        validate: bool = True,
        iterator_idle_seconds: float = 1800.0,
        edition: str = "enterprise",
        class_tracking: bool = True,
        sales_tax: bool = True,
        estimates: bool = True,
        sales_orders_enabled: bool = True,
    ) -> None:
        numeric = [parse_version(v) for v in supported_versions]
        versions = [v for v in numeric if v is not None]
        if not versions:
            raise ValueError(f"no X.Y version among {supported_versions!r}")
        self.company = company if company is not None else Company()
        self.company_file = company_file
        self.supported_versions = tuple(supported_versions)
        self.country = country
        self.qbxml_version: tuple[int, int] = max(versions)
        #: Validate requests and responses against the XSD (when it was found: see schema.available()).
        self.validate = validate
        #: The edition and preferences; replace it to change them between sessions.
        self.preferences = Preferences(edition, class_tracking, sales_tax, estimates, sales_orders_enabled)
        self.fail_connection: tuple[str, str] | None = None
        self.fail_requests: tuple[str, str] | None = None
        #: Seconds to sleep (really) before answering each request document.
        self.delay_seconds = 0.0
        #: Request documents answered (not counting those refused with QuickBooksRequestError).
        self.requests_processed = 0
        self.iterators = Iterators(iterator_idle_seconds)
        self._failures_left = 0
        self._next_failure: tuple[str, str] | None = None
        self._lock = threading.Lock()

    def fail_next_requests(self, count: int, hresult: str, message: str) -> None:
        """Refuse the next `count` request documents with this HRESULT, then answer normally again."""
        self._failures_left, self._next_failure = count, (hresult, message)

    def expire_iterators(self) -> None:
        """Forget every live iterator: a Continue then gets 3391, as after QuickBooks restarts."""
        with self._lock:
            self.iterators.expire_all()

    def open_company(self, path: str) -> str:
        if self.fail_connection is not None:
            raise QuickBooksConnectionError(*self.fail_connection)
        if path:
            self.company_file = path
        # A new session: QuickBooks' iterators do not outlive the connection that started them.
        self.expire_iterators()
        return self.company_file

    def host_response(self) -> str:
        preferences = self.preferences
        return host_response(
            company_file=self.company_file,
            supported_versions=self.supported_versions,
            country=self.country,
            product_name=preferences.product_name,
            class_tracking=preferences.class_tracking,
            sales_tax=preferences.sales_tax,
            estimates=preferences.estimates,
        )

    def process(self, request_xml: str) -> str:
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        with self._lock:
            if self._failures_left > 0 and self._next_failure is not None:
                self._failures_left -= 1
                raise QuickBooksRequestError(*self._next_failure)
            if self.fail_requests is not None:
                raise QuickBooksRequestError(*self.fail_requests)
            requests, on_error = self._parse(request_xml)
            self.iterators.expire_idle(self.company.clock.now())
            root = etree.Element("QBXML")
            messages = etree.SubElement(root, "QBXMLMsgsRs")
            prune: list[tuple[etree._Element, set[str]]] = []
            failed = False
            for request in requests:
                if failed and on_error != "continueOnError":
                    # stopOnError (and rollbackOnError, which we do not roll back): the rest is skipped.
                    answer = _status(messages, request, NOT_PROCESSED)
                else:
                    answer = self._answer(messages, request)
                    included = {element.text or "" for element in request.findall("IncludeRetElement")}
                    if included:
                        prune.append((answer, included))
                failed = failed or answer.get("statusSeverity") == "Error"
            if self.validate:
                errors = schema.validate(root)
                if errors:
                    raise SimulatorBug("simulated response does not validate:\n" + "\n".join(errors[:10]))
            for answer, included in prune:
                # IncludeRetElement: QuickBooks sends only the named children (no longer schema-valid).
                for ret in answer:
                    for child in [child for child in ret if child.tag not in included]:
                        ret.remove(child)
            self.requests_processed += 1
            body = "\n".join(etree.tostring(answer, encoding="unicode") for answer in messages)
            return f'<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n{body}\n</QBXMLMsgsRs>\n</QBXML>\n'

    def _parse(self, request_xml: str) -> tuple[list[etree._Element], str]:
        root = read_request_document(request_xml, self.qbxml_version)
        # Over-long text is not a parse error in QuickBooks: that request is answered 3070 (change_checks.py).
        if self.validate and any("[facet 'maxLength']" not in error for error in schema.validate(root)):
            raise QuickBooksRequestError(*PARSE_ERROR)
        return request_messages(root)

    def _answer(self, messages: etree._Element, request: etree._Element) -> etree._Element:
        tag = request.tag
        rs_tag = tag[:-2] + "Rs"
        if tag in SOURCES or tag in DELETED_QUERIES:
            answer = answer_query(self.company, self.iterators, request)
            return _query_rs(messages, request, rs_tag, answer)
        if tag in CHANGES:
            try:
                self.preferences.check(request)
                record = answer_change(self.company, request)
            except StatusError as error:
                return _status(messages, request, (error.code, "Error", error.message))
            element = _status(messages, request, (0, "Info", "Status OK"))
            render.render(element, record, render.Options(line_items=True, linked_txns=True))
            return element
        # 3250: a request this simulated QuickBooks does not offer.
        return _status(messages, request, (3250, "Error", NOT_AVAILABLE))


def _status(
    messages: etree._Element, request: etree._Element, status: tuple[int, str, str]
) -> etree._Element:
    element = etree.SubElement(messages, request.tag[:-2] + "Rs")
    # QuickBooks echoes requestID as the first attribute, and omits it when the request had none.
    if request.get("requestID") is not None:
        element.set("requestID", request.get("requestID", ""))
    code, severity, message = status
    element.set("statusCode", str(code))
    element.set("statusSeverity", severity)
    element.set("statusMessage", message)
    return element


def _query_rs(
    messages: etree._Element, request: etree._Element, rs_tag: str, answer: Answer
) -> etree._Element:
    element = _status(messages, request, answer.status)
    allowed = schema.response_attributes().get(rs_tag, _QUERY_RS_ATTRIBUTES)
    if "retCount" in allowed:
        element.set("retCount", str(len(answer.records)))
    if answer.iterator is not None:
        element.set("iteratorRemainingCount", str(answer.iterator[0]))
        element.set("iteratorID", answer.iterator[1])
    for record in answer.records:
        render.render(element, record, answer.options)
    return element
