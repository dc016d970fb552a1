"""Every public request builder (`build_*_rq`), registered with examples of the options it takes,
so that the schema test validates each one without anyone listing it, and a test fails when a
builder is not registered. Knows no entity: each entity module registers its own builders, the
query builders with the examples of the two query shapes below.

A builder takes its positional arguments, then the qbXML version, then its keyword arguments:
`build(*example.args, version, **example.kwargs)`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, TypeVar

from qbwc_server.qbxml.core import MAX_VERSION, QbxmlVersion
from qbwc_server.qbxml.query import Iteration, ListQuery, TxnQuery

Builder = TypeVar("Builder", bound=Callable[..., str])

#: The version examples are built at unless they say otherwise: the schema we validate against.
LATEST = QbxmlVersion(*MAX_VERSION)


@dataclass(frozen=True, slots=True)
class Example:
    """Arguments for one call of a builder, and the versions to build it at."""

    name: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    versions: tuple[QbxmlVersion, ...] = (LATEST,)


def example(name: str, *args: Any, versions: tuple[QbxmlVersion, ...] = (LATEST,), **kwargs: Any) -> Example:
    return Example(name, args, MappingProxyType(kwargs), versions)


@dataclass(frozen=True, slots=True)
class RegisteredBuilder:
    #: The request it writes, e.g. "CustomerQueryRq".
    tag: str
    build: Callable[..., str]
    examples: tuple[Example, ...]

    def run(self, case: Example, version: QbxmlVersion) -> str:
        return self.build(*case.args, version, **case.kwargs)


_BUILDERS: dict[str, RegisteredBuilder] = {}


def registered(tag: str, examples: Iterable[Example]) -> Callable[[Builder], Builder]:
    """Register the decorated builder of `tag` requests with `examples` (at least one; names
    unique) and return it unchanged.
    """
    cases = tuple(examples)
    names = [case.name for case in cases]
    if not cases or len(set(names)) != len(names):
        raise ValueError(f"{tag}: a builder needs examples, each with its own name; got {names}")

    def register(build: Builder) -> Builder:
        known = _BUILDERS.get(tag)
        if known is not None and known.build.__qualname__ != build.__qualname__:
            raise ValueError(f"{tag} already has a builder: {known.build.__qualname__}")
        _BUILDERS[tag] = RegisteredBuilder(tag, build, cases)
        return build

    return register


def builders() -> tuple[RegisteredBuilder, ...]:
    """Every registered builder, by request name, after importing every qbXML module."""
    _import_all()
    return tuple(_BUILDERS[tag] for tag in sorted(_BUILDERS))


def _import_all() -> None:
    package = importlib.import_module("qbwc_server.qbxml")
    for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
        importlib.import_module(module.name)


# -- examples of the two query shapes, for every query builder -------------------------------

_FROM = dt.datetime(2026, 3, 1, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
_TO = dt.datetime(2026, 3, 9, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
_OWNER = "{6B063959-81B0-4B43-9D5E-32B1DB6E0B9B}"
_ITERATOR_ID = "{8d2f9c7e-3b1a-4f6e-9a51-0c2d7e4b8f13}"
_LIST_ID = "80000001-1385061234"


def list_query_examples(*, iterator: bool, owner_id: bool) -> tuple[Example, ...]:
    """A `ListQuery` with each option and each combination the schema allows, the iterator and
    OwnerID ones only for the lists that have them.
    """
    cases = [
        example("everything", ListQuery()),
        example("list_ids", ListQuery(list_ids=(_LIST_ID, "80000002-1385061240"))),
        example("full_names", ListQuery(full_names=("Café Müller & Söhne", "Smith & Sons <Retail>"))),
        example("max_returned", ListQuery(max_returned=500)),
        example("active_only", ListQuery(active_status="ActiveOnly")),
        example("inactive_only", ListQuery(active_status="InactiveOnly")),
        example("all_statuses", ListQuery(active_status="All")),
        example("modified_window", ListQuery(from_modified=_FROM, to_modified=_TO)),
        example("modified_from_only", ListQuery(from_modified=_FROM)),
        example("inactive_modified_to", ListQuery(active_status="InactiveOnly", to_modified=_TO)),
        example("include_ret_elements", ListQuery(include_ret_elements=("ListID", "EditSequence", "Name"))),
        example("ids_with_request_id", ListQuery(list_ids=(_LIST_ID,), request_id="req-1")),
        example("names_with_ret_elements", ListQuery(full_names=("Net 30",), include_ret_elements=("Name",))),
        example("all_filters", ListQuery(
            max_returned=100, active_status="All", from_modified=_FROM, to_modified=_TO,
            include_ret_elements=("ListID", "TimeModified"), request_id="pull-7",
        )),
    ]  # fmt: skip
    start, go_on = Iteration(max_returned=100), Iteration(max_returned=100, iterator_id=_ITERATOR_ID)
    pull = ListQuery(active_status="All", from_modified=_FROM)
    if iterator:
        cases += [
            example("iterator_start", replace(pull, iteration=start)),
            example("iterator_continue", replace(pull, iteration=go_on)),
            example("iterator_same_max", ListQuery(max_returned=50, iteration=Iteration(max_returned=50))),
            example("iterator_lean", ListQuery(
                active_status="ActiveOnly", include_ret_elements=("ListID", "TimeModified"),
                iteration=Iteration(max_returned=500),
            )),
        ]  # fmt: skip
    if owner_id:
        cases += [
            example("owner_ids", ListQuery(owner_ids=("0", _OWNER))),
            example("ids_with_owner", ListQuery(list_ids=(_LIST_ID,), owner_ids=("0",))),
            example("owner_ids+request_id", ListQuery(owner_ids=("0",), request_id="r", active_status="All")),
            example("list_ids+ret_elements+owner", ListQuery(
                list_ids=(_LIST_ID,), include_ret_elements=("ListID", "EditSequence"), owner_ids=("0",),
            )),
        ]  # fmt: skip
    if iterator and owner_id:
        custom = replace(pull, owner_ids=("0",))
        cases += [
            example("iterator_start+owner", replace(custom, iteration=start, request_id="pull-1")),
            example("iterator_continue+owner", replace(custom, iteration=go_on, request_id="pull-2")),
        ]
    return tuple(cases)


def txn_query_examples(*, linked_txns: bool) -> tuple[Example, ...]:
    """A `TxnQuery` with each option and each combination the schema allows; IncludeLinkedTxns
    only where the request has it (`linked_txns`).
    """
    linked = True if linked_txns else None
    cases = [
        example("everything", TxnQuery()),
        example("txn_ids", TxnQuery(txn_ids=("2F41-1763051200", "2F90-1763600000"))),
        example("ref_numbers", TxnQuery(ref_numbers=("SO-1042", "A&B-7"))),
        example("max_returned+dates+customers", TxnQuery(
            max_returned=50, modified_from=_FROM, modified_to=_TO, entity_list_ids=("80000007-1709570000",),
        )),
        example("modified_to_only", TxnQuery(modified_to=_TO)),
        example("txn_dates+customer", TxnQuery(
            txn_date_from=dt.date(2026, 3, 1), txn_date_to=dt.date(2026, 3, 1), entity_list_ids=(_LIST_ID,),
        )),
        example("txn_date_from_only", TxnQuery(txn_date_from=dt.date(2026, 3, 1), max_returned=10)),
        example("iterator_start+lines+links", TxnQuery(
            modified_from=_FROM, include_line_items=True, include_linked_txns=linked,
            iteration=Iteration(max_returned=100),
        )),
        example("iterator_continue+no_lines+no_links", TxnQuery(
            modified_from=_FROM, include_line_items=False, include_linked_txns=False,
            iteration=Iteration(max_returned=100, iterator_id="{c0ffee00-1234}"),
        )),
        example("ret_elements+owner+request_id", TxnQuery(
            include_ret_elements=("TxnID", "BalanceRemaining", "IsPaid"), owner_ids=("0",), request_id="t-9",
        )),
        example("txn_ids+lines+owner", TxnQuery(
            txn_ids=("2F77-1763500000",), include_line_items=True, owner_ids=("0",),
        )),
    ]  # fmt: skip
    return tuple(cases)
