"""What a query asks for, and how a `*QueryRq` is written: the two query shapes
(`build_list_query` for a `ListQuery`, `write_txn_query_rq` for a `TxnQuery`). Examples of both
that exercise every option live in `registry.py`, where the query builders register.

Entity modules (`customers.py`, `invoices.py`, …) name their request and what it supports; this
module knows no entity. Text goes out escaped and Windows-1252-safe (`write.py`), and what the
schema forbids is a `BuildError`, so nothing we send can make QuickBooks answer 0x80040400.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from qbwc_server.qbxml.core import QbxmlVersion
from qbwc_server.qbxml.write import ID_MAX, BuildError
from qbwc_server.qbxml.write import element as element  # these four lived here before write.py
from qbwc_server.qbxml.write import elements as elements
from qbwc_server.qbxml.write import open_tag as open_tag
from qbwc_server.qbxml.write import qb_text as qb_text

ActiveStatus = Literal["ActiveOnly", "InactiveOnly", "All"]
IteratorStep = Literal["Start", "Continue"]

#: When elements of the queries appeared ("vX.Y" in qbxmlops130.xml).
INCLUDE_RET_ELEMENT_SINCE = QbxmlVersion(4, 0)
OWNER_ID_SINCE = QbxmlVersion(2, 0)
ENTITY_FILTER_LIST_ID_SINCE = QbxmlVersion(2, 0)
#: Iterators came with qbXML 5.0 (Intuit's SDK guide; the schema comments do not say).
ITERATOR_SINCE = QbxmlVersion(5, 0)
#: IncludeRetElement values are element names; the schema caps them at 50 characters.
RET_ELEMENT_MAX = 50

_GUID = re.compile(r"0|\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}")


@dataclass(frozen=True, kw_only=True)
class Iteration:
    """One step of a qbXML iterator: Start (no id) or Continue `iterator_id`."""

    max_returned: int
    iterator_id: str | None = None

    @property
    def step(self) -> IteratorStep:
        return "Start" if self.iterator_id is None else "Continue"


@dataclass(frozen=True, kw_only=True)
class ListQuery:
    """A list query (customers, items, price levels, …). Empty means "everything active"."""

    list_ids: tuple[str, ...] = ()
    full_names: tuple[str, ...] = ()
    max_returned: int | None = None
    active_status: ActiveStatus | None = None
    from_modified: dt.datetime | None = None
    to_modified: dt.datetime | None = None
    #: Return only these elements (qbXML 4.0+), e.g. a lean quantity refresh.
    include_ret_elements: tuple[str, ...] = ()
    #: "0" asks for custom fields (DataExtRet).
    owner_ids: tuple[str, ...] = ()
    iteration: Iteration | None = None
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class TxnQuery:
    """A transaction query (sales orders, invoices, payments)."""

    txn_ids: tuple[str, ...] = ()
    ref_numbers: tuple[str, ...] = ()
    max_returned: int | None = None
    modified_from: dt.datetime | None = None
    modified_to: dt.datetime | None = None
    #: TxnDateRangeFilter (the schema allows it or the modified-date filter, not both).
    txn_date_from: dt.date | None = None
    txn_date_to: dt.date | None = None
    #: Customers' ListIDs (EntityFilter).
    entity_list_ids: tuple[str, ...] = ()
    include_line_items: bool | None = None
    include_linked_txns: bool | None = None
    include_ret_elements: tuple[str, ...] = ()
    owner_ids: tuple[str, ...] = ()
    iteration: Iteration | None = None
    request_id: str | None = None


# -- the two query shapes --------------------------------------------------------------------


def build_list_query(
    rq_tag: str,
    query: ListQuery,
    version: QbxmlVersion,
    *,
    iterator: bool = False,
    owner_id: bool = False,
    iterator_needs_version: bool = True,
) -> str:
    """A `*QueryRq` of the schema's ListQuery shape, in schema order: (ListID | FullName |
    MaxReturned, ActiveStatus, From/ToModifiedDate), IncludeRetElement, OwnerID.

    `iterator` / `owner_id` say whether this request has the iterator attributes / OwnerID at all:
    asking for them elsewhere is a BuildError, as is any combination the schema's choice forbids.
    `iterator_needs_version=False` skips the qbXML 5.0 check on iterators (the item queries never
    made it).
    """
    _check_list_query(rq_tag, query, version, iterator, owner_id, iterator_needs_version)
    parts = [open_tag(rq_tag, request_id=query.request_id, iteration=query.iteration)]
    if query.list_ids:
        parts.append(elements("ListID", query.list_ids))
    elif query.full_names:
        parts.append(elements("FullName", query.full_names))
    else:
        parts.append(_max_returned(query.max_returned, query.iteration))
        if query.active_status is not None:
            parts.append(element("ActiveStatus", query.active_status))
        if query.from_modified is not None:
            parts.append(element("FromModifiedDate", query.from_modified))
        if query.to_modified is not None:
            parts.append(element("ToModifiedDate", query.to_modified))
    parts.append(_ret_elements_and_owners(query.include_ret_elements, query.owner_ids, version))
    return "".join([*parts, f"</{rq_tag}>"])


def write_txn_query_rq(
    tag: str,
    query: TxnQuery,
    version: QbxmlVersion,
    *,
    since: QbxmlVersion,
    linked_txns_since: QbxmlVersion | None,
) -> str:
    """A transaction `*QueryRq` in schema order: (TxnID | RefNumber | MaxReturned,
    ModifiedDateRangeFilter | TxnDateRangeFilter, EntityFilter), IncludeLineItems, IncludeLinkedTxns,
    IncludeRetElement, OwnerID.

    `since` is the version the request appeared in; `linked_txns_since` the one that added
    IncludeLinkedTxns, or None where the request has no such element (ReceivePaymentQueryRq).
    """
    _check_txn_query(tag, query, version, since=since, linked_txns_since=linked_txns_since)
    parts = [open_tag(tag, request_id=query.request_id, iteration=query.iteration)]
    if query.txn_ids:
        parts.append(elements("TxnID", query.txn_ids))
    elif query.ref_numbers:
        parts.append(elements("RefNumber", query.ref_numbers))
    else:
        parts.append(_max_returned(query.max_returned, query.iteration))
        if query.modified_from is not None or query.modified_to is not None:
            parts.append("<ModifiedDateRangeFilter>")
            if query.modified_from is not None:
                parts.append(element("FromModifiedDate", query.modified_from))
            if query.modified_to is not None:
                parts.append(element("ToModifiedDate", query.modified_to))
            parts.append("</ModifiedDateRangeFilter>")
        elif query.txn_date_from is not None or query.txn_date_to is not None:
            parts.append("<TxnDateRangeFilter>")
            if query.txn_date_from is not None:
                parts.append(element("FromTxnDate", query.txn_date_from))
            if query.txn_date_to is not None:
                parts.append(element("ToTxnDate", query.txn_date_to))
            parts.append("</TxnDateRangeFilter>")
        if query.entity_list_ids:
            parts.append(f"<EntityFilter>{elements('ListID', query.entity_list_ids)}</EntityFilter>")
    if query.include_line_items is not None:
        parts.append(element("IncludeLineItems", query.include_line_items))
    if query.include_linked_txns is not None and linked_txns_since is not None:
        parts.append(element("IncludeLinkedTxns", query.include_linked_txns))
    parts.append(_ret_elements_and_owners(query.include_ret_elements, query.owner_ids, version))
    return "".join([*parts, f"</{tag}>"])


def _max_returned(max_returned: int | None, iteration: Iteration | None) -> str:
    """MaxReturned: the iteration's page size when iterating."""
    value = iteration.max_returned if iteration else max_returned
    return element("MaxReturned", value) if value is not None else ""


def _ret_elements_and_owners(
    names: tuple[str, ...], owner_ids: tuple[str, ...], version: QbxmlVersion
) -> str:
    # Older versions drop these: without IncludeRetElement QuickBooks returns whole records (a
    # superset), and before 2.0 there are no custom fields (DataExt) to ask for.
    ret_elements = elements("IncludeRetElement", names) if version >= INCLUDE_RET_ELEMENT_SINCE else ""
    return ret_elements + (elements("OwnerID", owner_ids) if version >= OWNER_ID_SINCE else "")


# -- what the schema (or QuickBooks) refuses -------------------------------------------------


def _check_list_query(
    tag: str,
    query: ListQuery,
    version: QbxmlVersion,
    iterator: bool,
    owner_id: bool,
    iterator_needs_version: bool,
) -> None:
    by_id = {"list_ids": bool(query.list_ids), "full_names": bool(query.full_names)}
    _check_choice(tag, by_id, {
        "max_returned": query.max_returned is not None,
        "active_status": query.active_status is not None,
        "from_modified": query.from_modified is not None,
        "to_modified": query.to_modified is not None,
        "iteration": query.iteration is not None,
    })  # fmt: skip
    if any(len(value) > ID_MAX for value in query.list_ids):
        raise BuildError(
            f"{tag}: a ListID is at most {ID_MAX} characters", field=f"{tag}/ListID", limit=ID_MAX
        )
    _check_page_size(tag, query.max_returned, query.iteration)
    if query.from_modified and query.to_modified and query.from_modified > query.to_modified:
        raise BuildError(
            f"{tag}: from_modified is after to_modified",
            field=f"{tag}/FromModifiedDate",
            limit="ToModifiedDate",
        )
    if query.iteration is not None and not iterator:
        raise BuildError(
            f"{tag} has no iterator in qbXML; page it by modified dates instead",
            field=tag,
            limit="no iterator",
        )
    if query.iteration is not None and iterator_needs_version and version < ITERATOR_SINCE:
        raise BuildError(
            f"{tag}: iterators need qbXML {ITERATOR_SINCE}, QuickBooks speaks {version}",
            field=tag,
            limit=ITERATOR_SINCE,
        )
    if query.owner_ids and not owner_id:
        raise BuildError(
            f"{tag} has no OwnerID: this list has no custom fields",
            field=f"{tag}/OwnerID",
            limit="no OwnerID",
        )
    if not all(_GUID.fullmatch(value) for value in query.owner_ids):
        raise BuildError(
            f"{tag}: an OwnerID is '0' or a GUID in braces", field=f"{tag}/OwnerID", limit="GUIDTYPE"
        )
    _check_ret_elements(tag, query.include_ret_elements)


def _check_txn_query(
    tag: str,
    query: TxnQuery,
    version: QbxmlVersion,
    *,
    since: QbxmlVersion,
    linked_txns_since: QbxmlVersion | None,
) -> None:
    if version < since:
        raise BuildError(
            f"{tag} needs qbXML {since} or later; this session negotiated {version}", field=tag, limit=since
        )
    by_id = {"txn_ids": bool(query.txn_ids), "ref_numbers": bool(query.ref_numbers)}
    _check_choice(tag, by_id, {
        "max_returned": query.max_returned is not None,
        "modified_from": query.modified_from is not None,
        "modified_to": query.modified_to is not None,
        "txn_date_from": query.txn_date_from is not None,
        "txn_date_to": query.txn_date_to is not None,
        "entity_list_ids": bool(query.entity_list_ids),
        "iteration": query.iteration is not None,
    })  # fmt: skip
    _check_page_size(tag, query.max_returned, query.iteration)
    if query.modified_from and query.modified_to and query.modified_from > query.modified_to:
        field = f"{tag}/ModifiedDateRangeFilter"
        raise BuildError(f"{tag}: modified_from is after modified_to", field=field, limit="ToModifiedDate")
    modified = query.modified_from is not None or query.modified_to is not None
    if modified and (query.txn_date_from is not None or query.txn_date_to is not None):
        field = f"{tag}/TxnDateRangeFilter"
        what = f"{tag}: filter by modified dates or by transaction dates, not both"
        raise BuildError(what, field=field, limit="one choice")
    if query.entity_list_ids and version < ENTITY_FILTER_LIST_ID_SINCE:
        # Dropping EntityFilter/ListID would return every customer's transactions.
        raise BuildError(
            f"{tag}: filtering by customer ListID needs qbXML 2.0; negotiated {version}",
            field=f"{tag}/EntityFilter/ListID",
            limit=ENTITY_FILTER_LIST_ID_SINCE,
        )
    if query.include_linked_txns:
        field = f"{tag}/IncludeLinkedTxns"
        if linked_txns_since is None:
            raise BuildError(f"{tag} has no IncludeLinkedTxns", field=field, limit="no IncludeLinkedTxns")
        if version < linked_txns_since:
            raise BuildError(
                f"{tag}: IncludeLinkedTxns needs qbXML {linked_txns_since}; negotiated {version}",
                field=field,
                limit=linked_txns_since,
            )
    _check_ret_elements(tag, query.include_ret_elements)


def _check_choice(tag: str, by_id: dict[str, bool], filters: dict[str, bool]) -> None:
    """The schema's choice: ask by ids, by names, or by filters, never two of them."""
    if all(by_id.values()):
        raise BuildError(f"{tag}: ask by {' or by '.join(by_id)}, not both", field=tag, limit="one choice")
    used = [name for name, present in filters.items() if present]
    if any(by_id.values()) and used:
        raise BuildError(
            f"{tag}: {'/'.join(by_id)} exclude {', '.join(used)} (the schema allows either)",
            field=tag,
            limit="one choice",
        )


def _check_page_size(tag: str, max_returned: int | None, iteration: Iteration | None) -> None:
    iteration_max = iteration.max_returned if iteration else None
    field = f"{tag}/MaxReturned"
    for value in (max_returned, iteration_max):
        if value is not None and value < 1:
            raise BuildError(f"{tag}: MaxReturned must be at least 1, got {value}", field=field, limit=1)
    if max_returned is not None and iteration_max is not None and max_returned != iteration_max:
        raise BuildError(
            f"{tag}: max_returned={max_returned} disagrees with the iteration's {iteration_max}",
            field=field,
            limit=iteration_max,
        )


def _check_ret_elements(tag: str, names: tuple[str, ...]) -> None:
    for name in names:
        if not name or len(name) > RET_ELEMENT_MAX:  # cutting a name would ask for something else
            raise BuildError(
                f"{tag}: IncludeRetElement {name!r} is not an element name of 1 to 50 characters",
                field=f"{tag}/IncludeRetElement",
                limit=RET_ELEMENT_MAX,
            )
