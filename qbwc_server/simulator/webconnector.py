"""One Web Connector update session, call by call, as Intuit's QBWC runs it (PROTOCOL.md §0, §2).
Knows the order of calls and what each answer means; the wire is in `wire`, QuickBooks in `processor`.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from qbwc_server.simulator.faults import QUICKBOOKS_NOT_RUNNING, Faults, HresultDecider, RequestDecider
from qbwc_server.simulator.processor import (
    QuickBooksConnectionError,
    QuickBooksRequestError,
    RequestProcessor,
)
from qbwc_server.simulator.wire import (
    Arguments,
    SoapConnection,
    WebConnectorError,
    WebConnectorProtocolError,
)

REDACTED = "********"


class Outcome(StrEnum):
    """How a session ended; values are what `SessionReport.outcome` holds."""

    #: receiveResponseXML reached 100 and closeConnection was called.
    OK = "ok"
    #: clientVersion answered E: or O:.
    REJECTED = "rejected by server version check"
    #: authenticate answered nvu.
    INVALID_USER = "invalid user"
    #: authenticate answered none.
    NO_WORK = "no work"
    #: authenticate answered busy.
    BUSY = "busy"
    #: QuickBooks could not be opened and connectionError gave up.
    NO_CONNECTION = "could not connect to QuickBooks"
    #: the server reported an error (empty request or negative progress); getLastError says which.
    ERROR = "error"
    #: the simulator's max_requests bound stopped the session.
    REQUEST_LIMIT = "request limit reached"
    #: a WebConnectorError ended the session; only seen on the report attached to that exception.
    ABORTED = "aborted"
    #: lose_responses: QuickBooks answered a request but the server never got it.
    RESPONSE_LOST = "response lost"
    #: abandon_after: the Web Connector vanished mid-session (no closeConnection), like a PC switched off.
    ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class Call:
    """One SOAP call as sent and answered; the password is stored redacted."""

    operation: str
    arguments: Mapping[str, str | int]
    result: str | tuple[str, ...] | int
    seconds: float


@dataclass(frozen=True, slots=True)
class SessionReport:
    """What happened in one session, in call order."""

    calls: tuple[Call, ...]
    outcome: str
    ticket: str | None
    requests_processed: int
    progress: tuple[int, ...]
    close_message: str | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    postpone_seconds: int | None
    seconds: float = 0.0
    #: The request QuickBooks processed whose response never reached the server (lost or abandoned).
    unanswered_request: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK


class SimulatedWebConnector:
    """Drives a QBWC server over HTTP exactly as Intuit's Web Connector does; `processor` plays QuickBooks.

    Fault switches (faults.py; deterministic, seeded by `fault_seed`), for exactly-once tests:

    - `lose_responses`: a probability, or a decider `(request_number, request_xml) -> bool` (e.g.
      `faults.lose_writes(0.2)`): QuickBooks processes the request, its response never reaches the
      server. Then `after_lost_response="close"` (default) calls closeConnection and ends the session;
      `"stop"` just ends it, as the real Web Connector may when receiveResponseXML fails at the HTTP
      level (it logs the error; whether it still calls closeConnection is not documented).
    - `abandon_after=N`: each session answers N requests, then vanishes at the next one without
      closeConnection (a PC switched off); QuickBooks processed that request iff `abandon_processed`.
    - `hresults`: {request_number: (hresult, message)} or a decider returning one or None: that request
      is not processed; receiveResponseXML carries the HRESULT and an empty response.
    - `quickbooks_not_running`: openConnection fails, connectionError gets 0x80040408 "Could not
      start QuickBooks." (the processor's own `fail_connection` does the same).

    Requests are numbered from 1 across every session this connector runs (`requests_seen`).
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        processor: RequestProcessor,
        *,
        client_version: str = "2.3.0.215",
        noop_delay: float = 5.0,
        max_requests: int = 10_000,
        timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        lose_responses: float | RequestDecider = 0.0,
        after_lost_response: Literal["close", "stop"] = "close",
        abandon_after: int | None = None,
        abandon_processed: bool = False,
        hresults: Mapping[int, tuple[str, str]] | HresultDecider | None = None,
        quickbooks_not_running: bool = False,
        fault_seed: int = 0,
    ) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.processor = processor
        self.client_version = client_version
        self.noop_delay = noop_delay
        self.max_requests = max_requests
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.faults = Faults(
            lose_responses,
            after_lost_response,
            abandon_after,
            abandon_processed,
            hresults,
            quickbooks_not_running,
            fault_seed,
        )
        #: Requests handed out by sendRequestXML so far, over every session (numbers the faults see).
        self.requests_seen = 0

    def run_session(self) -> SessionReport:
        """Run one update session; a WebConnectorError propagates with the partial report as `.report`."""
        session = _Session(self, SoapConnection(self.url, timeout=self.timeout, ssl_context=self.ssl_context))
        try:
            return session.report(session.run())
        except WebConnectorError as exc:
            session.errors.append(str(exc))
            exc.report = session.report(Outcome.ABORTED)
            raise
        finally:
            session.connection.close()


@dataclass
class _Session:
    """The mutable record of one run; becomes a SessionReport at the end."""

    connector: SimulatedWebConnector
    connection: SoapConnection
    calls: list[Call] = field(default_factory=list)
    ticket: str | None = None
    requests_processed: int = 0
    progress: list[int] = field(default_factory=list)
    close_message: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    postpone_seconds: int | None = None
    unanswered_request: str | None = None
    started: float = field(default_factory=time.perf_counter)

    def run(self) -> Outcome:
        self._call_str("serverVersion", {})
        verdict = self._call_str("clientVersion", {"strVersion": self.connector.client_version})
        if verdict.startswith(("E:", "O:")):
            self.errors.append(verdict)
            return Outcome.REJECTED
        if verdict.startswith("W:"):
            self.warnings.append(verdict)
        answer = self._authenticate()
        self.ticket = answer[0]
        status = answer[1].lower()  # QBWC's own log prints NONE; servers send lower case
        if status in ("nvu", "none", "busy"):
            return {"nvu": Outcome.INVALID_USER, "none": Outcome.NO_WORK, "busy": Outcome.BUSY}[status]
        company_file = self._open_company(answer[1])
        if company_file is None:
            return Outcome.NO_CONNECTION
        return self._exchange(company_file)

    def report(self, outcome: Outcome) -> SessionReport:
        return SessionReport(
            calls=tuple(self.calls),
            outcome=outcome,
            ticket=self.ticket,
            requests_processed=self.requests_processed,
            progress=tuple(self.progress),
            close_message=self.close_message,
            errors=tuple(self.errors),
            warnings=tuple(self.warnings),
            postpone_seconds=self.postpone_seconds,
            seconds=time.perf_counter() - self.started,
            unanswered_request=self.unanswered_request,
        )

    def _authenticate(self) -> list[str]:
        arguments = {"strUserName": self.connector.username, "strPassword": self.connector.password}
        answer = self._call("authenticate", arguments, {**arguments, "strPassword": REDACTED})
        if not isinstance(answer, list):
            raise WebConnectorProtocolError(f"authenticate: expected a string array, got {answer!r}")
        if len(answer) > 2 and answer[2]:
            if answer[2].strip().isdigit():
                self.postpone_seconds = int(answer[2])
            else:
                self.warnings.append(f"authenticate[2] (postpone seconds) is not a number: {answer[2]!r}")
        return answer

    def _open_company(self, path: str) -> str | None:
        """The company file QuickBooks has open, or None once connectionError gives up (after one retry)."""
        for attempt in (1, 2):
            try:
                if self.connector.faults.quickbooks_not_running:
                    raise QuickBooksConnectionError(*QUICKBOOKS_NOT_RUNNING)
                return self.connector.processor.open_company(path)
            except QuickBooksConnectionError as exc:
                self.errors.append(f"{exc.hresult}: {exc.message}")
                path = self._call_str(
                    "connectionError",
                    {"ticket": self.ticket or "", "hresult": exc.hresult, "message": exc.message},
                )
                if path.lower() == "done" or attempt == 2:
                    return None
        return None

    def _exchange(self, company_file: str) -> Outcome:
        processor = self.connector.processor
        ticket = self.ticket or ""
        major, minor = processor.qbxml_version
        answered = 0
        for sent in range(self.connector.max_requests):
            request = self._call_str(
                "sendRequestXML",
                {
                    "ticket": ticket,
                    "strHCPResponse": processor.host_response() if sent == 0 else "",
                    "strCompanyFileName": company_file,
                    "qbXMLCountry": processor.country,
                    "qbXMLMajorVers": major,
                    "qbXMLMinorVers": minor,
                },
            )
            if not request:
                message = self._call_str("getLastError", {"ticket": ticket})
                if message == "NoOp":  # "wait and ask again", not an error (PROTOCOL.md §2.6)
                    time.sleep(self.connector.noop_delay)
                    continue
                self.errors.append(message)
                return self._close(Outcome.ERROR)
            self.connector.requests_seen += 1
            number = self.connector.requests_seen
            injected = self.connector.faults.hresult(number, request)
            fault = self._fault(number, request, answered, injected is not None)
            if isinstance(fault, Outcome):
                return fault
            answered += 1
            percent = self._receive(ticket, request, fault or injected)
            if percent < 0:
                self.errors.append(self._call_str("getLastError", {"ticket": ticket}))
                return self._close(Outcome.ERROR)
            self.progress.append(percent)
            if percent >= 100:
                if percent > 100:
                    self.warnings.append(f"receiveResponseXML returned {percent}, above 100")
                return self._close(Outcome.OK)
        self.errors.append(f"stopped after {self.connector.max_requests} sendRequestXML calls (max_requests)")
        return self._close(Outcome.REQUEST_LIMIT)

    def _fault(
        self, number: int, request: str, answered: int, injected: bool
    ) -> Outcome | tuple[str, str] | None:
        """Abandon the session or lose this request's response, as the fault switches say; an
        (hresult, message) when QuickBooks refused the request whose response was to be lost."""
        faults = self.connector.faults
        if faults.abandons(answered):
            if faults.abandon_processed:
                self._process_unanswered(request)
            self.errors.append(f"abandoned after {answered} answered requests (abandon_after)")
            return Outcome.ABANDONED
        if not injected and faults.loses(number, request):
            refused = self._process_unanswered(request)
            if refused is not None:
                return refused  # nothing to lose: QuickBooks' HRESULT goes out as usual
            self.errors.append(f"response to request {number} lost (lose_responses)")
            if faults.after_lost_response == "close":
                return self._close(Outcome.RESPONSE_LOST)
            return Outcome.RESPONSE_LOST
        return None

    def _process_unanswered(self, request: str) -> tuple[str, str] | None:
        """Let QuickBooks process a request whose answer will never be sent; its HRESULT if it refused."""
        try:
            self.connector.processor.process(request)
        except QuickBooksRequestError as exc:
            return exc.hresult, exc.message
        self.requests_processed += 1
        self.unanswered_request = request
        return None

    def _receive(self, ticket: str, request: str, injected: tuple[str, str] | None = None) -> int:
        try:
            if injected is not None:  # hresults: QuickBooks never saw this request
                raise QuickBooksRequestError(*injected)
            response, hresult, message = self.connector.processor.process(request), "", ""
        except QuickBooksRequestError as exc:
            response, hresult, message = "", exc.hresult, exc.message
            self.errors.append(f"{hresult}: {message}")
        else:
            self.requests_processed += 1
        arguments = {"ticket": ticket, "response": response, "hresult": hresult, "message": message}
        result = self._call("receiveResponseXML", arguments)
        if not isinstance(result, int):
            raise WebConnectorProtocolError(f"receiveResponseXML: expected an int, got {result!r}")
        return result

    def _close(self, outcome: Outcome) -> Outcome:
        self.close_message = self._call_str("closeConnection", {"ticket": self.ticket or ""})
        return outcome

    def _call_str(self, operation: str, arguments: Arguments) -> str:
        result = self._call(operation, arguments)
        if not isinstance(result, str):
            raise WebConnectorProtocolError(f"{operation}: expected a string, got {result!r}")
        return result

    def _call(
        self, operation: str, arguments: Arguments, recorded: Arguments | None = None
    ) -> str | list[str] | int:
        started = time.perf_counter()
        result = self.connection.call(operation, arguments)
        self.calls.append(
            Call(
                operation=operation,
                arguments=dict(recorded if recorded is not None else arguments),
                result=tuple(result) if isinstance(result, list) else result,
                seconds=time.perf_counter() - started,
            )
        )
        return result
