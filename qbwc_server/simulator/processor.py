"""The request processor: what stands in for QuickBooks behind the simulated Web Connector.
Knows qbXML documents as QuickBooks sees them; knows nothing of SOAP or of our server.

Exceptions::

    QuickBooksError
     ├── QuickBooksConnectionError   QuickBooks or the company file could not be opened (-> connectionError)
     └── QuickBooksRequestError      QuickBooks refused a whole request document (-> hresult)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path, PureWindowsPath
from typing import Protocol
from xml.sax.saxutils import escape

from lxml import etree

CANNED_DIRECTORY = Path(__file__).parent / "canned"
DEFAULT_COMPANY_FILE = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\Sample Wholesale.QBW"
DEFAULT_VERSIONS = (
    *("1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "7.0"),
    *("8.0", "9.0", "10.0", "11.0", "12.0", "13.0"),
)
PRODUCT_NAME = "QuickBooks Desktop Enterprise Solutions: Wholesale and Distribution Edition 24.0"
PARSE_ERROR = ("0x80040400", "QuickBooks found an error when parsing the provided XML text stream.")
NOT_AVAILABLE = "This feature is not enabled or not available in this version of QuickBooks."

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
_XML_DECLARATION = re.compile(r"\A\s*<\?xml\s[^?]*\?>")
_VERSION = re.compile(r"([0-9]+)\.([0-9]+)")
_ON_ERROR = frozenset({"continueOnError", "stopOnError", "rollbackOnError"})


class QuickBooksError(Exception):
    """A failure QuickBooks reports as an HRESULT and a message."""

    def __init__(self, hresult: str, message: str) -> None:
        super().__init__(f"{hresult}: {message}")
        self.hresult = hresult
        self.message = message


class QuickBooksConnectionError(QuickBooksError):
    """Opening QuickBooks or the company file failed, e.g. 0x80040408 "Could not start QuickBooks."."""


class QuickBooksRequestError(QuickBooksError):
    """QuickBooks refused a request document, e.g. 0x80040400 when it cannot parse it."""


class RequestProcessor(Protocol):
    """What the Web Connector asks of QuickBooks during one session."""

    country: str
    qbxml_version: tuple[int, int]

    def open_company(self, path: str) -> str:
        """Open `path` ("" = whatever is open) and return the path actually open."""
        ...

    def host_response(self) -> str:
        """The Host/Company/Preferences query response sent once per session as strHCPResponse."""
        ...

    def process(self, request_xml: str) -> str:
        """Answer one qbXML request document with a response document."""
        ...


class CannedProcessor:
    """Answers each `XxxRq` with the file `XxxRs.xml` from a directory, as QuickBooks would frame it.

    Not thread-safe: use one per concurrent session.
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        company_file: str = DEFAULT_COMPANY_FILE,
        supported_versions: Sequence[str] = DEFAULT_VERSIONS,
        country: str = "US",
        fail_connection: tuple[str, str] | None = None,
        fail_requests: tuple[str, str] | None = None,
    ) -> None:
        versions = [parse_version(v) for v in supported_versions]
        numeric = [v for v in versions if v is not None]
        if not numeric:
            raise ValueError(f"no X.Y version among {supported_versions!r}")
        self.directory = directory if directory is not None else CANNED_DIRECTORY
        self.company_file = company_file
        self.supported_versions = tuple(supported_versions)
        self.country = country
        self.qbxml_version: tuple[int, int] = max(numeric)
        self.fail_connection = fail_connection
        self.fail_requests = fail_requests
        #: Request documents answered (not counting those refused with QuickBooksRequestError).
        self.requests_processed = 0
        self._canned: dict[str, etree._Element | None] = {}

    def open_company(self, path: str) -> str:
        if self.fail_connection is not None:
            raise QuickBooksConnectionError(*self.fail_connection)
        if path:
            self.company_file = path
        return self.company_file

    def host_response(self) -> str:
        return host_response(
            company_file=self.company_file, supported_versions=self.supported_versions, country=self.country
        )

    def process(self, request_xml: str) -> str:
        if self.fail_requests is not None:
            raise QuickBooksRequestError(*self.fail_requests)
        root = read_request_document(request_xml, self.qbxml_version)
        requests, on_error = request_messages(root)
        if any(not request.tag.endswith("Rq") for request in requests):
            raise QuickBooksRequestError(*PARSE_ERROR)
        answers: list[str] = []
        for request in requests:
            answer = self._answer(request)
            answers.append(etree.tostring(answer, encoding="unicode"))
            # With stopOnError QuickBooks leaves the rest of the message unprocessed after an error.
            if on_error != "continueOnError" and answer.get("statusSeverity") == "Error":
                break
        self.requests_processed += 1
        return (
            '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n'
            + "\n".join(answers)
            + "\n</QBXMLMsgsRs>\n</QBXML>\n"
        )

    def _answer(self, request: etree._Element) -> etree._Element:
        name = request.tag[:-2] + "Rs"
        canned = self._load(name)
        if canned is None:
            # 3250: QuickBooks has no such request (or it is off in this edition/version).
            answer = etree.Element(
                name, statusCode="3250", statusSeverity="Error", statusMessage=NOT_AVAILABLE
            )
        else:
            answer = copy.deepcopy(canned)
        # QuickBooks echoes requestID as the first attribute, and omits it when the request had none.
        attributes = {k: v for k, v in answer.attrib.items() if k != "requestID"}
        answer.attrib.clear()
        request_id = request.get("requestID")
        if request_id is not None:
            answer.set("requestID", request_id)
        answer.attrib.update(attributes)
        return answer

    def _load(self, name: str) -> etree._Element | None:
        if name not in self._canned:
            path = self.directory / f"{name}.xml"
            if not path.is_file():
                self._canned[name] = None
            else:
                element = etree.parse(str(path), _PARSER).getroot()
                if element.tag != name:
                    raise ValueError(f"{path} holds <{element.tag}>, expected <{name}>")
                self._canned[name] = element
        return self._canned[name]


def host_response(
    *,
    company_file: str,
    supported_versions: Sequence[str],
    country: str,
    product_name: str = PRODUCT_NAME,
    class_tracking: bool = True,
    sales_tax: bool = True,
    estimates: bool = True,
) -> str:
    """A realistic strHCPResponse: QuickBooks' answer to QBWC's own Host, Company and Preferences queries.

    The product name tells the edition; the preferences tell class tracking, estimates and sales
    tax (SalesTaxPreferences is absent when the company does not use sales tax). qbXML 13's
    PreferencesRet has no sales-order preference: only the edition says whether there are any.
    """
    versions = "".join(
        f"<SupportedQBXMLVersion>{escape(v)}</SupportedQBXMLVersion>" for v in supported_versions
    )
    company = escape(PureWindowsPath(company_file).stem[:59])
    ok = 'statusCode="0" statusSeverity="Info" statusMessage="Status OK"'
    return (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>'
        f'<HostQueryRs requestID="0" {ok}><HostRet><ProductName>{escape(product_name)}</ProductName>'
        f"<MajorVersion>34</MajorVersion><MinorVersion>0</MinorVersion><Country>{escape(country)}</Country>"
        f"{versions}<IsAutomaticLogin>false</IsAutomaticLogin><QBFileMode>SingleUser</QBFileMode>"
        "</HostRet></HostQueryRs>"
        f'<CompanyQueryRs requestID="1" {ok}><CompanyRet><IsSampleCompany>false</IsSampleCompany>'
        f"<CompanyName>{company}</CompanyName><LegalCompanyName>{company}</LegalCompanyName>"
        "<Address><Addr1>500 Commerce Pkwy</Addr1><City>Atlanta</City><State>GA</State>"
        f"<PostalCode>30318</PostalCode><Country>{escape(country)}</Country></Address>"
        "<Phone>404-555-0100</Phone><FirstMonthFiscalYear>January</FirstMonthFiscalYear>"
        "<FirstMonthIncomeTaxYear>January</FirstMonthIncomeTaxYear><TaxForm>Form1120S</TaxForm>"
        "</CompanyRet></CompanyQueryRs>"
        f'<PreferencesQueryRs requestID="2" {ok}><PreferencesRet>'
        "<AccountingPreferences><IsUsingAccountNumbers>false</IsUsingAccountNumbers>"
        f"<IsRequiringAccounts>true</IsRequiringAccounts><IsUsingClassTracking>{_bool(class_tracking)}"
        "</IsUsingClassTracking><IsUsingAuditTrail>true</IsUsingAuditTrail>"
        "<IsAssigningJournalEntryNumbers>true</IsAssigningJournalEntryNumbers></AccountingPreferences>"
        "<FinanceChargePreferences><GracePeriod>0</GracePeriod>"
        "<IsAssessingForOverdueCharges>false</IsAssessingForOverdueCharges>"
        "<CalculateChargesFrom>DueDate</CalculateChargesFrom>"
        "<IsMarkedToBePrinted>false</IsMarkedToBePrinted></FinanceChargePreferences>"
        f"<JobsAndEstimatesPreferences><IsUsingEstimates>{_bool(estimates)}</IsUsingEstimates>"
        "<IsUsingProgressInvoicing>false</IsUsingProgressInvoicing>"
        "<IsPrintingItemsWithZeroAmounts>false</IsPrintingItemsWithZeroAmounts></JobsAndEstimatesPreferences>"
        "<MultiCurrencyPreferences><IsMultiCurrencyOn>false</IsMultiCurrencyOn></MultiCurrencyPreferences>"
        "<PurchasesAndVendorsPreferences><IsUsingInventory>true</IsUsingInventory>"
        "<DaysBillsAreDue>10</DaysBillsAreDue>"
        "<IsAutomaticallyUsingDiscounts>false</IsAutomaticallyUsingDiscounts></PurchasesAndVendorsPreferences>"
        "<ReportsPreferences><AgingReportBasis>AgeFromDueDate</AgingReportBasis>"
        "<SummaryReportBasis>Accrual</SummaryReportBasis></ReportsPreferences>"
        "<SalesAndCustomersPreferences>"
        "<IsTrackingReimbursedExpensesAsIncome>false</IsTrackingReimbursedExpensesAsIncome>"
        "<IsAutoApplyingPayments>true</IsAutoApplyingPayments>"
        "<PriceLevels><IsUsingPriceLevels>true</IsUsingPriceLevels></PriceLevels>"
        "</SalesAndCustomersPreferences>"
        + (_SALES_TAX_PREFERENCES if sales_tax else "")
        + "<CurrentAppAccessRights><IsAutomaticLoginAllowed>false</IsAutomaticLoginAllowed>"
        "<IsPersonalDataAccessAllowed>false</IsPersonalDataAccessAllowed></CurrentAppAccessRights>"
        "</PreferencesRet></PreferencesQueryRs>"
        "</QBXMLMsgsRs></QBXML>"
    )


_SALES_TAX_PREFERENCES = (
    "<SalesTaxPreferences><DefaultItemSalesTaxRef><FullName>State Tax</FullName></DefaultItemSalesTaxRef>"
    "<PaySalesTax>Monthly</PaySalesTax>"
    "<DefaultTaxableSalesTaxCodeRef><FullName>Tax</FullName></DefaultTaxableSalesTaxCodeRef>"
    "<DefaultNonTaxableSalesTaxCodeRef><FullName>Non</FullName></DefaultNonTaxableSalesTaxCodeRef>"
    "</SalesTaxPreferences>"
)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def read_request_document(request_xml: str, max_version: tuple[int, int]) -> etree._Element:
    """The `<QBXML>` root of a request as QuickBooks accepts it, or 0x80040400: well-formed,
    with a `<?qbxml version?>` it supports, a QBXMLMsgsRq and a known onError."""
    # The document arrives as text: its declared encoding no longer applies, so drop the declaration.
    try:
        root = etree.fromstring(_XML_DECLARATION.sub("", request_xml, count=1), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise QuickBooksRequestError(*PARSE_ERROR) from exc
    instruction = root.getprevious()
    while instruction is not None and not isinstance(instruction, etree._ProcessingInstruction):
        instruction = instruction.getprevious()
    if instruction is None or instruction.target != "qbxml":
        raise QuickBooksRequestError(*PARSE_ERROR)
    version = parse_version(instruction.get("version") or "")
    if version is None or version > max_version:
        raise QuickBooksRequestError(*PARSE_ERROR)
    messages = root.find("QBXMLMsgsRq")
    if root.tag != "QBXML" or messages is None or messages.get("onError") not in _ON_ERROR:
        raise QuickBooksRequestError(*PARSE_ERROR)
    return root


def request_messages(root: etree._Element) -> tuple[list[etree._Element], str]:
    """The request elements of a document `read_request_document` accepted, and its onError."""
    messages = root.find("QBXMLMsgsRq")
    assert messages is not None
    return [child for child in messages if isinstance(child.tag, str)], messages.get("onError", "stopOnError")


def parse_version(text: str) -> tuple[int, int] | None:
    """'13.0' -> (13, 0); None for anything else (e.g. 'CA3.0')."""
    match = _VERSION.fullmatch(text.strip())
    return (int(match[1]), int(match[2])) if match else None
