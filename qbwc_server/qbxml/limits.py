"""QuickBooks Desktop's limits on the elements we write: each element's max length, the qbXML
version it appeared in, and whether QuickBooks Desktop has it at all, for the Add/Mod requests.

Transcribed from Intuit's qbxmlops130.xml (its "max length = N for QBD", "vX.Y" and "not in QBD"
comments); the package must work without that file, so the table is code, and a test holds it
to the file in both directions. Knows no request's meaning, only its shape.

A path starts at the request's body (`CustomerAdd/BillAddress/City`); what sits beside the body
is under the request's name (`CustomerAddRq/IncludeRetElement`), and the request itself is its
name (`SalesOrderAddRq`, which needs qbXML 2.1).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from qbwc_server.qbxml.core import QbxmlVersion


@dataclass(frozen=True, slots=True)
class Limit:
    """What qbxmlops130.xml says of one request element, for QuickBooks Desktop (QBD)."""

    #: The value's qbXML type ("STRTYPE", "AMTTYPE", …); None for an aggregate.
    type: str | None
    #: The most characters QBD stores; None where the file gives none for QBD.
    max_length: int | None = None
    #: The version the element itself appeared in; None where the file says nothing (it is as old
    #: as what holds it).
    since: QbxmlVersion | None = None
    #: False where the file says "not in QBD": QuickBooks Desktop has no such element.
    in_qbd: bool = True


@dataclass(frozen=True, slots=True)
class _Node:
    limit: Limit
    children: Mapping[str, _Node] = field(default_factory=dict)


def _version(text: str | None) -> QbxmlVersion | None:
    return QbxmlVersion.parse(text) if text is not None else None


def _leaf(type_: str, since: str | None = None, *, qbd: bool = True) -> _Node:
    return _Node(Limit(type_, since=_version(since), in_qbd=qbd))


def _s(max_length: int | None = None, since: str | None = None, *, qbd: bool = True) -> _Node:
    """A STRTYPE element."""
    return _Node(Limit("STRTYPE", max_length, _version(since), qbd))


def _agg(children: Mapping[str, _Node], since: str | None = None, *, qbd: bool = True) -> _Node:
    return _Node(Limit(None, since=_version(since), in_qbd=qbd), children)


def _ref(full_name_max: int | None = None, since: str | None = None, *, qbd: bool = True) -> _Node:
    """A list reference (`XxxRef`): ListID or FullName, the FullName's max length depending on the list."""
    return _agg({"ListID": _ID, "FullName": _s(full_name_max)}, since, qbd=qbd)


_ID, _BOOL, _INT, _ENUM, _GUID = (_leaf(t) for t in ("IDTYPE", "BOOLTYPE", "INTTYPE", "ENUMTYPE", "GUIDTYPE"))
_DATE, _DATETIME, _AMT = (_leaf(t) for t in ("DATETYPE", "DATETIMETYPE", "AMTTYPE"))
_PRICE, _QUAN, _PCT = (_leaf(t) for t in ("PRICETYPE", "QUANTYPE", "PERCENTTYPE"))
#: BillAddress, ShipAddress: the same parts wherever they appear.
_ADDRESS_PARTS: Mapping[str, _Node] = {
    "Addr1": _s(41), "Addr2": _s(41), "Addr3": _s(41), "Addr4": _s(41, "2.0"), "Addr5": _s(41, "6.0"),
    "City": _s(31), "State": _s(21), "PostalCode": _s(13), "Country": _s(31), "Note": _s(41, "6.0"),
}  # fmt: skip


def _address(since: str | None = None) -> _Node:
    return _agg(_ADDRESS_PARTS, since)


def _ship_to(since: str | None = None) -> _Node:
    """A customer's named ship-to address: Name, the address parts, DefaultShipTo."""
    return _agg({"Name": _s(41), **_ADDRESS_PARTS, "DefaultShipTo": _BOOL}, since)


def _data_ext(since: str | None = None) -> _Node:
    """A custom field's value on a line (DataExt)."""
    return _agg({"OwnerID": _GUID, "DataExtName": _s(31), "DataExtValue": _s()}, since)


# Generated from qbxmlops130.xml, then held to it by tests/test_qbxml_write.py; one request per entry.
# fmt: off
_REQUESTS: dict[str, _Node] = {
    "CustomerAddRq": _agg({
        "CustomerAdd": _agg({
            "Name": _s(41), "IsActive": _BOOL, "ClassRef": _ref(159, "12.0"), "ParentRef": _ref(),
            "CompanyName": _s(41), "Salutation": _s(15), "FirstName": _s(25), "MiddleName": _s(5),
            "LastName": _s(25), "Suffix": _s(None, qbd=False), "JobTitle": _s(41, "12.0"),
            "BillAddress": _address(), "ShipAddress": _address(), "ShipToAddress": _ship_to("12.0"),
            "PrintAs": _s(None, qbd=False), "Phone": _s(21), "Mobile": _s(None, qbd=False),
            "Pager": _s(None, qbd=False), "AltPhone": _s(21), "Fax": _s(21), "Email": _s(1023),
            "Cc": _s(1023, "12.0"), "Contact": _s(41), "AltContact": _s(41),
            "AdditionalContactRef": _agg({
                "ContactName": _s(40), "ContactValue": _s(255),
            }, "12.0"),
            "Contacts": _agg({
                "Salutation": _s(15), "FirstName": _s(25), "MiddleName": _s(5), "LastName": _s(25),
                "JobTitle": _s(41),
                "AdditionalContactRef": _agg({
                    "ContactName": _s(40), "ContactValue": _s(255),
                }),
            }, "12.0"),
            "CustomerTypeRef": _ref(159), "TermsRef": _ref(31), "SalesRepRef": _ref(5),
            "OpenBalance": _AMT, "OpenBalanceDate": _DATE, "SalesTaxCodeRef": _ref(3),
            "ItemSalesTaxRef": _ref(31), "SalesTaxCountry": _leaf("ENUMTYPE", "6.0", qbd=False),
            "ResaleNumber": _s(15), "AccountNumber": _s(99), "CreditLimit": _AMT,
            "PreferredPaymentMethodRef": _ref(31, "3.0"),
            "CreditCardInfo": _agg({
                "CreditCardNumber": _s(25), "ExpirationMonth": _INT, "ExpirationYear": _INT,
                "NameOnCard": _s(41), "CreditCardAddress": _s(41), "CreditCardPostalCode": _s(41),
            }, "3.0"),
            "JobStatus": _ENUM, "JobStartDate": _DATE, "JobProjectedEndDate": _DATE, "JobEndDate": _DATE,
            "JobDesc": _s(99), "JobTypeRef": _ref(159), "Notes": _s(4095, "3.0"),
            "AdditionalNotes": _agg({"Note": _s(4095)}, "12.0"),
            "IsStatementWithParent": _leaf("BOOLTYPE", qbd=False),
            "DeliveryMethod": _leaf("ENUMTYPE", qbd=False),
            "PreferredDeliveryMethod": _leaf("ENUMTYPE", "12.0"), "PriceLevelRef": _ref(31, "4.0"),
            "ExternalGUID": _leaf("GUIDTYPE", "8.0"), "TaxRegistrationNumber": _s(None, "8.0", qbd=False),
            "CurrencyRef": _ref(64, "8.0"),
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }),
    "CustomerModRq": _agg({
        "CustomerMod": _agg({
            "ListID": _ID, "EditSequence": _s(16), "Name": _s(41), "IsActive": _leaf("BOOLTYPE", "3.0"),
            "ClassRef": _ref(159, "12.0"), "ParentRef": _ref(None, "3.0"), "CompanyName": _s(41),
            "Salutation": _s(15), "FirstName": _s(25), "MiddleName": _s(5), "LastName": _s(25),
            "Suffix": _s(None, qbd=False), "JobTitle": _s(41, "12.0"), "BillAddress": _address(),
            "ShipAddress": _address(), "ShipToAddress": _ship_to("12.0"), "PrintAs": _s(None, qbd=False),
            "Phone": _s(21), "Mobile": _s(None, qbd=False), "Pager": _s(None, qbd=False),
            "AltPhone": _s(21), "Fax": _s(21), "Email": _s(1023), "Cc": _s(1023, "12.0"),
            "Contact": _s(41), "AltContact": _s(41),
            "AdditionalContactRef": _agg({
                "ContactName": _s(40), "ContactValue": _s(255),
            }, "12.0"),
            "ContactsMod": _agg({
                "ListID": _ID, "EditSequence": _s(16), "Salutation": _s(15), "FirstName": _s(25),
                "MiddleName": _s(5), "LastName": _s(25), "JobTitle": _s(41),
                "AdditionalContactRef": _agg({
                    "ContactName": _s(40), "ContactValue": _s(255),
                }),
            }, "12.0"),
            "CustomerTypeRef": _ref(159, "3.0"), "TermsRef": _ref(31, "3.0"),
            "SalesRepRef": _ref(5, "3.0"), "SalesTaxCodeRef": _ref(3, "3.0"),
            "ItemSalesTaxRef": _ref(31, "3.0"), "SalesTaxCountry": _leaf("ENUMTYPE", "6.0", qbd=False),
            "ResaleNumber": _s(15, "3.0"), "AccountNumber": _s(99), "CreditLimit": _leaf("AMTTYPE", "3.0"),
            "PreferredPaymentMethodRef": _ref(31, "3.0"),
            "CreditCardInfo": _agg({
                "CreditCardNumber": _s(25), "ExpirationMonth": _INT, "ExpirationYear": _INT,
                "NameOnCard": _s(41), "CreditCardAddress": _s(41), "CreditCardPostalCode": _s(41),
            }, "3.0"),
            "JobStatus": _leaf("ENUMTYPE", "3.0"), "JobStartDate": _leaf("DATETYPE", "3.0"),
            "JobProjectedEndDate": _leaf("DATETYPE", "3.0"), "JobEndDate": _leaf("DATETYPE", "3.0"),
            "JobDesc": _s(99, "3.0"), "JobTypeRef": _ref(159, "3.0"), "Notes": _s(4095, "3.0"),
            "AdditionalNotesMod": _agg({"NoteID": _INT, "Note": _s(4095)}, "12.0"),
            "IsStatementWithParent": _leaf("BOOLTYPE", "3.0", qbd=False),
            "DeliveryMethod": _leaf("ENUMTYPE", "3.0", qbd=False),
            "PreferredDeliveryMethod": _leaf("ENUMTYPE", "12.0"), "PriceLevelRef": _ref(31, "4.0"),
            "TaxRegistrationNumber": _s(None, "8.0", qbd=False), "CurrencyRef": _ref(64, "8.0"),
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }),
    "ClassAddRq": _agg({
        "ClassAdd": _agg({
            "Name": _s(31), "IsActive": _BOOL, "ParentRef": _ref(),
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }),
    "StandardTermsAddRq": _agg({
        "StandardTermsAdd": _agg({
            "Name": _s(31), "IsActive": _BOOL, "StdDueDays": _INT, "StdDiscountDays": _INT,
            "DiscountPct": _PCT,
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }),
    "CustomerTypeAddRq": _agg({
        "CustomerTypeAdd": _agg({
            "Name": _s(31), "IsActive": _BOOL, "ParentRef": _ref(),
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }),
    "SalesOrderAddRq": _agg({
        "SalesOrderAdd": _agg({
            "CustomerRef": _ref(209), "ClassRef": _ref(159), "TemplateRef": _ref(31, "3.0"),
            "TxnDate": _DATE, "RefNumber": _s(11), "BillAddress": _address(), "ShipAddress": _address(),
            "PONumber": _s(25), "TermsRef": _ref(31), "DueDate": _DATE, "SalesRepRef": _ref(5),
            "FOB": _s(13), "ShipDate": _DATE, "ShipMethodRef": _ref(15), "ItemSalesTaxRef": _ref(31),
            "IsManuallyClosed": _BOOL, "Memo": _s(4095), "CustomerMsgRef": _ref(101),
            "IsToBePrinted": _BOOL, "IsToBeEmailed": _leaf("BOOLTYPE", "6.0"),
            "IsTaxIncluded": _leaf("BOOLTYPE", "6.0", qbd=False), "CustomerSalesTaxCodeRef": _ref(3),
            "Other": _s(29, "6.0"), "ExchangeRate": _leaf("FLOATTYPE", "8.0"),
            "ExternalGUID": _leaf("GUIDTYPE", "9.0"),
            "SalesOrderLineAdd": _agg({
                "ItemRef": _ref(), "Desc": _s(4095), "Quantity": _QUAN, "UnitOfMeasure": _s(31, "7.0"),
                "Rate": _PRICE, "RatePercent": _PCT, "PriceLevelRef": _ref(31, "4.0"),
                "ClassRef": _ref(159), "Amount": _AMT, "TaxAmount": _leaf("AMTTYPE", "6.1", qbd=False),
                "OptionForPriceRuleConflict": _leaf("ENUMTYPE", "13.0"),
                "InventorySiteRef": _ref(31, "10.0"), "InventorySiteLocationRef": _ref(31, "12.0"),
                "SerialNumber": _s(4095, "11.0"), "LotNumber": _s(40, "11.0"), "SalesTaxCodeRef": _ref(3),
                "IsManuallyClosed": _BOOL, "Other1": _s(29, "6.0"), "Other2": _s(29, "6.0"),
                "DataExt": _data_ext("5.0"),
            }),
            "SalesOrderLineGroupAdd": _agg({
                "ItemGroupRef": _ref(31), "Desc": _s(None, qbd=False), "Quantity": _QUAN,
                "UnitOfMeasure": _s(31, "7.0"), "InventorySiteRef": _ref(31, "10.0"),
                "InventorySiteLocationRef": _ref(31, "12.0"), "DataExt": _data_ext("5.0"),
            }),
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }, "2.1"),
    "SalesOrderModRq": _agg({
        "SalesOrderMod": _agg({
            "TxnID": _ID, "EditSequence": _s(16), "CustomerRef": _ref(209), "ClassRef": _ref(159),
            "TemplateRef": _ref(31), "TxnDate": _DATE, "RefNumber": _s(11), "BillAddress": _address(),
            "ShipAddress": _address(), "PONumber": _s(25), "TermsRef": _ref(31), "DueDate": _DATE,
            "SalesRepRef": _ref(5), "FOB": _s(13), "ShipDate": _DATE, "ShipMethodRef": _ref(15),
            "ItemSalesTaxRef": _ref(31), "IsManuallyClosed": _BOOL, "Memo": _s(4095),
            "CustomerMsgRef": _ref(101), "IsToBePrinted": _BOOL, "IsToBeEmailed": _leaf("BOOLTYPE", "6.0"),
            "IsTaxIncluded": _leaf("BOOLTYPE", "6.0", qbd=False), "CustomerSalesTaxCodeRef": _ref(3),
            "Other": _s(29, "6.0"), "ExchangeRate": _leaf("FLOATTYPE", "8.0"),
            "SalesOrderLineMod": _agg({
                "TxnLineID": _ID, "ItemRef": _ref(), "Desc": _s(4095), "Quantity": _QUAN,
                "UnitOfMeasure": _s(31, "7.0"), "OverrideUOMSetRef": _ref(31, "7.0"), "Rate": _PRICE,
                "RatePercent": _PCT, "PriceLevelRef": _ref(31, "4.0"), "ClassRef": _ref(159),
                "Amount": _AMT, "TaxAmount": _leaf("AMTTYPE", "6.1", qbd=False),
                "OptionForPriceRuleConflict": _leaf("ENUMTYPE", "13.0"),
                "InventorySiteRef": _ref(31, "10.0"), "InventorySiteLocationRef": _ref(31, "12.0"),
                "SerialNumber": _s(4095, "11.0"), "LotNumber": _s(40, "11.0"), "SalesTaxCodeRef": _ref(3),
                "IsManuallyClosed": _BOOL, "Other1": _s(29, "6.0"), "Other2": _s(29, "6.0"),
            }),
            "SalesOrderLineGroupMod": _agg({
                "TxnLineID": _ID, "ItemGroupRef": _ref(31), "Quantity": _QUAN,
                "UnitOfMeasure": _s(31, "7.0"), "OverrideUOMSetRef": _ref(31, "7.0"),
                "SalesOrderLineMod": _agg({
                    "TxnLineID": _ID, "ItemRef": _ref(), "Desc": _s(4095), "Quantity": _QUAN,
                    "UnitOfMeasure": _s(31, "7.0"), "OverrideUOMSetRef": _ref(31, "7.0"), "Rate": _PRICE,
                    "RatePercent": _PCT, "PriceLevelRef": _ref(31, "4.0"), "ClassRef": _ref(159),
                    "Amount": _AMT, "TaxAmount": _leaf("AMTTYPE", "6.1", qbd=False),
                    "OptionForPriceRuleConflict": _leaf("ENUMTYPE", "13.0"),
                    "InventorySiteRef": _ref(31, "10.0"), "InventorySiteLocationRef": _ref(31, "12.0"),
                    "SerialNumber": _s(4095, "11.0"), "LotNumber": _s(40, "11.0"),
                    "SalesTaxCodeRef": _ref(3), "IsManuallyClosed": _BOOL, "Other1": _s(29, "6.0"),
                    "Other2": _s(29, "6.0"),
                }),
            }),
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }, "3.0"),
    "EstimateAddRq": _agg({
        "EstimateAdd": _agg({
            "CustomerRef": _ref(209), "ClassRef": _ref(159), "TemplateRef": _ref(31, "3.0"),
            "TxnDate": _DATE, "RefNumber": _s(11), "BillAddress": _address(),
            "ShipAddress": _address("7.0"), "IsActive": _leaf("BOOLTYPE", "3.0"), "PONumber": _s(25),
            "TermsRef": _ref(31), "DueDate": _DATE, "SalesRepRef": _ref(5), "FOB": _s(13),
            "ItemSalesTaxRef": _ref(31), "Memo": _s(4095), "CustomerMsgRef": _ref(101),
            "IsToBeEmailed": _leaf("BOOLTYPE", "6.0"),
            "IsTaxIncluded": _leaf("BOOLTYPE", "6.0", qbd=False), "CustomerSalesTaxCodeRef": _ref(3),
            "Other": _s(29, "6.0"), "ExchangeRate": _leaf("FLOATTYPE", "8.0"),
            "ExternalGUID": _leaf("GUIDTYPE", "9.0"),
            "EstimateLineAdd": _agg({
                "ItemRef": _ref(), "Desc": _s(4095), "Quantity": _QUAN, "UnitOfMeasure": _s(31, "7.0"),
                "Rate": _PRICE, "RatePercent": _PCT, "ClassRef": _ref(159), "Amount": _AMT,
                "TaxAmount": _leaf("AMTTYPE", "6.1", qbd=False),
                "OptionForPriceRuleConflict": _leaf("ENUMTYPE", "13.0"),
                "InventorySiteRef": _ref(31, "10.0"), "InventorySiteLocationRef": _ref(31, "12.0"),
                "SalesTaxCodeRef": _ref(3), "MarkupRate": _PRICE, "MarkupRatePercent": _PCT,
                "PriceLevelRef": _ref(31, "7.0"), "OverrideItemAccountRef": _ref(159, "2.0"),
                "Other1": _s(29, "6.0"), "Other2": _s(29, "6.0"), "DataExt": _data_ext("5.0"),
            }),
            "EstimateLineGroupAdd": _agg({
                "ItemGroupRef": _ref(31), "Desc": _s(None, qbd=False), "Quantity": _QUAN,
                "UnitOfMeasure": _s(31, "7.0"), "InventorySiteRef": _ref(31, "10.0"),
                "InventorySiteLocationRef": _ref(31, "12.0"), "DataExt": _data_ext("5.0"),
            }),
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }),
    "ReceivePaymentAddRq": _agg({
        "ReceivePaymentAdd": _agg({
            "CustomerRef": _ref(209), "ARAccountRef": _ref(159), "TxnDate": _DATE, "RefNumber": _s(20),
            "TotalAmount": _AMT, "ExchangeRate": _leaf("FLOATTYPE", "8.0"), "PaymentMethodRef": _ref(31),
            "Memo": _s(4095), "DepositToAccountRef": _ref(159),
            "CreditCardTxnInfo": _agg({
                "CreditCardTxnInputInfo": _agg({
                    "CreditCardNumber": _s(25), "ExpirationMonth": _INT, "ExpirationYear": _INT,
                    "NameOnCard": _s(41), "CreditCardAddress": _s(41), "CreditCardPostalCode": _s(18),
                    "CommercialCardCode": _s(24), "TransactionMode": _leaf("ENUMTYPE", "6.0"),
                    "CreditCardTxnType": _leaf("ENUMTYPE", "7.0"),
                }),
                "CreditCardTxnResultInfo": _agg({
                    "ResultCode": _INT, "ResultMessage": _s(60), "CreditCardTransID": _s(24),
                    "MerchantAccountNumber": _s(32), "AuthorizationCode": _s(12), "AVSStreet": _ENUM,
                    "AVSZip": _ENUM, "CardSecurityCodeMatch": _leaf("ENUMTYPE", "6.0"),
                    "ReconBatchID": _s(84), "PaymentGroupingCode": _INT, "PaymentStatus": _ENUM,
                    "TxnAuthorizationTime": _DATETIME, "TxnAuthorizationStamp": _INT,
                    "ClientTransID": _s(16, "6.0"),
                }),
            }, "4.1"),
            "ExternalGUID": _leaf("GUIDTYPE", "9.0"), "IsAutoApply": _BOOL,
            "AppliedToTxnAdd": _agg({
                "TxnID": _ID, "PaymentAmount": _AMT,
                "TxnLineDetail": _agg({"TxnLineID": _ID, "Amount": _AMT}, qbd=False),
                "SetCredit": _agg({
                    "CreditTxnID": _ID, "TxnLineID": _leaf("IDTYPE", qbd=False), "AppliedAmount": _AMT,
                    "Override": _leaf("BOOLTYPE", "10.0"),
                }),
                "DiscountAmount": _AMT, "DiscountAccountRef": _ref(159),
                "DiscountClassRef": _ref(159, "11.0"),
            }),
        }),
        "IncludeRetElement": _s(50, "4.0"),
    }, "1.1"),
}
# fmt: on


def _paths(path: str, node: _Node) -> Iterator[tuple[str, Limit]]:
    yield path, node.limit
    for tag, child in node.children.items():
        yield from _paths(f"{path}/{tag}", child)


def _flatten() -> Iterator[tuple[str, Limit]]:
    for rq_tag, request in _REQUESTS.items():
        yield rq_tag, request.limit
        body = rq_tag.removesuffix("Rq")
        for tag, child in request.children.items():
            yield from _paths(tag if tag == body else f"{rq_tag}/{tag}", child)


#: The requests the table covers, by name.
REQUESTS: tuple[str, ...] = tuple(_REQUESTS)
#: Every element of those requests by path (see the module's docstring).
LIMITS: Mapping[str, Limit] = MappingProxyType(dict(_flatten()))


def _holders(path: str) -> Iterator[str]:
    """`path` and every element that holds it, up to the request."""
    parts = path.split("/")
    for end in range(len(parts), 0, -1):
        yield "/".join(parts[:end])
    if not parts[0].endswith("Rq"):
        yield f"{parts[0]}Rq"


def _latest(versions: Iterator[QbxmlVersion | None]) -> QbxmlVersion | None:
    return max((v for v in versions if v is not None), default=None)


#: The version each element can be sent from: its own, or a later one of what holds it.
_SINCE = {path: _latest(LIMITS[p].since for p in _holders(path)) for path in LIMITS}
_IN_QBD = {path: all(LIMITS[p].in_qbd for p in _holders(path)) for path in LIMITS}


def limit_of(path: str) -> Limit:
    """The limits of the element at `path`; a KeyError names a path the table lacks (a typo)."""
    try:
        return LIMITS[path]
    except KeyError:
        raise KeyError(f"{path!r} is not an element of {', '.join(REQUESTS)}") from None


def since(path: str) -> QbxmlVersion | None:
    """The first version with the element and all that holds it; None: every version has it."""
    limit_of(path)
    return _SINCE[path]


def in_qbd(path: str) -> bool:
    """Whether QuickBooks Desktop has the element (and all that holds it)."""
    limit_of(path)
    return _IN_QBD[path]


def available(path: str, version: QbxmlVersion) -> bool:
    """Whether a request of qbXML `version` may carry the element at `path`."""
    first = since(path)
    return in_qbd(path) and (first is None or version >= first)
