"""The SOAP face of the Web Connector protocol (Spyne), exactly as Intuit's WSDL names it.

Thin on purpose: element names, namespace and types live here; every decision lives in
`session.WebConnectorSessions`, reached through the Spyne context's `udc`.
"""

from __future__ import annotations

import logging
from typing import Any

from lxml import etree
from spyne import AnyXml, Application, Array, Integer32, ServiceBase, Unicode, rpc
from spyne.interface.wsdl import Wsdl11
from spyne.protocol.soap import Soap11

from qbwc_server.webconnector.names import TNS
from qbwc_server.webconnector.session import WebConnectorSessions

log = logging.getLogger(__name__)


# Intuit's WSDL: strings are minOccurs=0; ints minOccurs=1; ArrayOfString holds nillable <string>.
String = Unicode(min_occurs=0)
Int = Integer32(min_occurs=1, nillable=False)
ArrayOfString = Array(Unicode(nillable=True), type_name="ArrayOfString")


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
        ctx.udc = sessions

    application.event_manager.add_listener("method_call", attach_sessions)
    application.event_manager.add_listener("method_exception_object", _log_client_fault)
    return application


# Spyne logs every malformed request with a full traceback; one warning line says it better.
for _name in ("spyne.protocol.soap.soap11.invalid", "spyne.server._base", "spyne.application.client"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def _log_client_fault(ctx: Any) -> None:
    fault = ctx.out_error or ctx.in_error
    if fault is not None and str(getattr(fault, "faultcode", "")).startswith("Client"):
        log.warning("SOAP fault returned for a malformed request: %s", getattr(fault, "faultstring", fault))


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
