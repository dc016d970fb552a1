"""Names fixed by Intuit's Web Connector WSDL: namespaces, operations and their arguments.

Shared by the server's fast path and the simulated Web Connector; Spyne's service definition
(service.py) spells the same names, and tests/test_fastpath.py holds the two to each other.
"""

import re

#: Intuit's target namespace, trailing slash included.
TNS = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

#: Request children of the eight WSDL operations, in WSDL order.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "serverVersion": (),
    "clientVersion": ("strVersion",),
    "authenticate": ("strUserName", "strPassword"),
    "sendRequestXML": (
        "ticket",
        "strHCPResponse",
        "strCompanyFileName",
        "qbXMLCountry",
        "qbXMLMajorVers",
        "qbXMLMinorVers",
    ),
    "receiveResponseXML": ("ticket", "response", "hresult", "message"),
    "connectionError": ("ticket", "hresult", "message"),
    "getLastError": ("ticket",),
    "closeConnection": ("ticket",),
}

#: The only arguments typed s:int (minOccurs=1); every other argument is an optional s:string.
INT_ARGUMENTS = frozenset({"qbXMLMajorVers", "qbXMLMinorVers"})

#: xs:int's lexical form: an optional sign and ASCII digits, with XML whitespace around (Python's
#: int() also takes "1_3", Arabic-Indic digits and Unicode spaces, which no schema allows).
XS_INT = re.compile(r"[ \t\r\n]*[+-]?[0-9]+[ \t\r\n]*")
