"""A simulated QuickBooks Web Connector: drives any QBWC server over HTTP as Intuit's client does,
with a request processor standing in for QuickBooks. Used by tests, the benchmark and `qbwc-server simulate`.
"""

from qbwc_server.simulator.faults import QUICKBOOKS_NOT_RUNNING, Faults, lose_writes
from qbwc_server.simulator.processor import (
    CannedProcessor,
    QuickBooksConnectionError,
    QuickBooksError,
    QuickBooksRequestError,
    RequestProcessor,
    host_response,
)
from qbwc_server.simulator.report import format_report
from qbwc_server.simulator.webconnector import Call, Outcome, SessionReport, SimulatedWebConnector
from qbwc_server.simulator.wire import (
    OPERATIONS,
    SoapConnection,
    SoapFault,
    SoapResult,
    WebConnectorError,
    WebConnectorProtocolError,
    WebConnectorTransportError,
    build_envelope,
    parse_response,
    request_headers,
    soap_call,
)

__all__ = [
    "OPERATIONS",
    "QUICKBOOKS_NOT_RUNNING",
    "Call",
    "CannedProcessor",
    "Faults",
    "Outcome",
    "QuickBooksConnectionError",
    "QuickBooksError",
    "QuickBooksRequestError",
    "RequestProcessor",
    "SessionReport",
    "SimulatedWebConnector",
    "SoapConnection",
    "SoapFault",
    "SoapResult",
    "WebConnectorError",
    "WebConnectorProtocolError",
    "WebConnectorTransportError",
    "build_envelope",
    "format_report",
    "host_response",
    "lose_writes",
    "parse_response",
    "request_headers",
    "soap_call",
]
