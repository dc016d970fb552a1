"""The SOAP face of the Web Connector protocol (Spyne), exactly as Intuit's WSDL names it.

Thin on purpose: element names, namespace and types live here; every decision lives in
`session.WebConnectorSessions`, reached through the Spyne context's `udc`.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from lxml import etree
from spyne import BODY_STYLE_WRAPPED, AnyXml, Application, Array, Fault, Integer32, ServiceBase, Unicode, rpc
from spyne.interface.wsdl import Wsdl11
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from qbwc_server.webconnector import faults
from qbwc_server.webconnector.names import TNS, XS_INT
from qbwc_server.webconnector.session import WebConnectorSessions

# Intuit's WSDL: strings are minOccurs=0; ints minOccurs=1; ArrayOfString holds nillable <string>.
String = Unicode(min_occurs=0)
Int = Integer32(min_occurs=1, nillable=False)
ArrayOfString = Array(Unicode(nillable=True), type_name="ArrayOfString")


def _xs_int_text(cls: Any, value: str | None) -> bool:
    # Spyne reads an int with Python's int(), which takes "1_3" and Arabic-Indic digits as 13;
    # soft validation calls this on the text first (a Client fault when False), as the fast path.
    return bool(Integer32.validate_string(cls, value)) and (
        value is None or XS_INT.fullmatch(value) is not None
    )


Int.validate_string = staticmethod(_xs_int_text)


def _sessions(ctx: Any) -> WebConnectorSessions:
    return ctx.udc  # type: ignore[no-any-return]


class QBWebConnectorSvc(ServiceBase):
    """The eight WSDL operations plus the three interactive-mode ones (answered with "")."""

    @rpc(String, _returns=String, _out_variable_name="serverVersionResult")
    def serverVersion(ctx, strVersion):
        return _sessions(ctx).server_version()

    @rpc(String, _returns=String, _out_variable_name="clientVersionResult")
    def clientVersion(ctx, strVersion):
        return _sessions(ctx).client_version(strVersion)

    @rpc(String, String, _returns=ArrayOfString, _out_variable_name="authenticateResult")
    def authenticate(ctx, strUserName, strPassword):
        return _sessions(ctx).authenticate(strUserName, strPassword)

    @rpc(String, String, String, String, Int, Int, _returns=String, _out_variable_name="sendRequestXMLResult")
    def sendRequestXML(
        ctx, ticket, strHCPResponse, strCompanyFileName, qbXMLCountry, qbXMLMajorVers, qbXMLMinorVers
    ):
        return _sessions(ctx).send_request_xml(
            ticket, strHCPResponse, strCompanyFileName, qbXMLCountry, qbXMLMajorVers, qbXMLMinorVers
        )

    @rpc(String, String, String, String, _returns=Int, _out_variable_name="receiveResponseXMLResult")
    def receiveResponseXML(ctx, ticket, response, hresult, message):
        return _sessions(ctx).receive_response_xml(ticket, response, hresult, message)

    @rpc(String, String, String, _returns=String, _out_variable_name="connectionErrorResult")
    def connectionError(ctx, ticket, hresult, message):
        return _sessions(ctx).connection_error(ticket, hresult, message)

    @rpc(String, _returns=String, _out_variable_name="getLastErrorResult")
    def getLastError(ctx, ticket):
        return _sessions(ctx).get_last_error(ticket)

    @rpc(String, _returns=String, _out_variable_name="closeConnectionResult")
    def closeConnection(ctx, ticket):
        return _sessions(ctx).close_connection(ticket)

    # Interactive mode (QBWC 2.x) is not in Intuit's public WSDLs and we never start it; its
    # argument names vary between sources, so accept anything and answer "".
    @rpc(AnyXml, AnyXml, _returns=String, _out_variable_name="getInteractiveURLResult")
    def getInteractiveURL(ctx, wcTicket, sessionID):
        return ""

    @rpc(AnyXml, _returns=String, _out_variable_name="interactiveDoneResult")
    def interactiveDone(ctx, wcTicket):
        return ""

    @rpc(AnyXml, AnyXml, _returns=String, _out_variable_name="interactiveRejectedResult")
    def interactiveRejected(ctx, wcTicket, reason):
        return ""


def build_soap_application(sessions: WebConnectorSessions) -> Application:
    """The Spyne application answering with `sessions`; built once per process."""
    application = Application(
        [QBWebConnectorSvc],
        tns=TNS,
        name="QBWebConnectorSvc",
        # huge_tree: one receiveResponseXML may carry a response of many megabytes in one text node.
        in_protocol=Soap11(validator="soft", huge_tree=True),
        out_protocol=Soap11(),
    )

    def attach_sessions(ctx: Any) -> None:
        if ctx.in_object is None and ctx.descriptor.body_style is BODY_STYLE_WRAPPED:
            # xsi:nil on the operation element: no arguments at all (Spyne would fail on it).
            raise Fault("Client.SchemaValidation", "the operation element must not be nil")
        ctx.udc = sessions

    application.event_manager.add_listener("method_call", attach_sessions)
    application.event_manager.add_listener("method_exception_object", _remember_cause)
    return application


def build_soap_server(
    application: Application,
    max_body: int,
    on_outcome: Callable[[bool], None],
    observe: Callable[[str, str, float], None] | None = None,
) -> WsgiApplication:
    """Spyne's WSGI face for `application`, reading bodies up to `max_body` bytes (the edge's limit,
    not Spyne's 2 MB). Each fault is logged on one line; `on_outcome(False)` after a Server
    fault, `on_outcome(True)` after an answer; `observe(operation, outcome, seconds)` after each."""
    server = WsgiApplication(application, max_content_length=max_body)

    def tell(ctx: Any, operation: str, outcome: str) -> None:
        if observe is not None:
            observe(operation, outcome, time.time() - ctx.call_start)  # Spyne's clock: time.time()

    def report_fault(ctx: Any) -> None:
        fault = ctx.out_error or ctx.in_error
        operation = _operation(ctx)
        if str(getattr(fault, "faultcode", "Server")).startswith("Client"):
            faults.log_client_fault(operation, getattr(fault, "faultstring", fault))
            tell(ctx, operation, "client_fault")
            return
        cause = getattr(ctx.transport, "req_env", {}).pop(_CAUSE, None)
        faults.log_server_error(operation, cause or fault)
        on_outcome(False)
        tell(ctx, operation, "server_fault")

    def report_return(ctx: Any) -> None:
        on_outcome(True)
        tell(ctx, _operation(ctx), "ok")

    server.event_manager.add_listener("wsgi_exception", report_fault)
    server.event_manager.add_listener("wsgi_return", report_return)
    return server


def _operation(ctx: Any) -> str:
    """The operation Spyne read ("{namespace}name"), else the one the SOAPAction names (an
    envelope Spyne could not read still says what it was for)."""
    if ctx.method_request_string:
        return str(ctx.method_request_string).rsplit("}", 1)[-1]
    action = getattr(ctx.transport, "req_env", {}).get("HTTP_SOAPACTION", "")
    return str(action).strip().strip('"').rsplit("/", 1)[-1]


# Spyne logs every fault itself, malformed requests with a full traceback; build_soap_server's
# one line per fault says it better.
logging.getLogger("spyne").setLevel(logging.CRITICAL + 1)


#: Where the exception behind a fault waits for its log line: the request's environ (Spyne's
#: method context takes no attributes of ours, and its `udc` holds the sessions).
_CAUSE = "qbwc.fault_cause"


def _remember_cause(ctx: Any) -> None:
    """Spyne fires this event inside its `except` block: the exception being handled is the cause."""
    environ = getattr(ctx.transport, "req_env", None)
    if isinstance(environ, dict):
        environ[_CAUSE] = sys.exc_info()[1]


def build_wsdl(application: Application, url: str) -> bytes:
    """Our WSDL with `url` as the address, and SOAPActions spelled as Intuit's (namespace + name).

    Spyne writes the bare operation name as soapAction; Intuit's WSDL has the full URI.
    """
    document = Wsdl11(application.interface)
    document.build_interface_document(url)
    root = etree.fromstring(document.get_interface_document())
    for operation in root.iter("{http://schemas.xmlsoap.org/wsdl/soap/}operation"):
        action = operation.get("soapAction") or ""
        if not action.startswith(TNS):
            operation.set("soapAction", TNS + action)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")  # type: ignore[no-any-return]
