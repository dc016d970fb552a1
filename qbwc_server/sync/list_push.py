"""A default list entry (class, terms, customer type) into QuickBooks, once: looked up by FullName
first, added only when QuickBooks has none (ClassAdd, StandardTermsAdd, CustomerTypeAdd).

Job `lists.push`, entity_ref "{list}:{name}", params {"list", "name"} (+ "step": "add" once the
look-up found nothing). What QuickBooks has or adds lands in the mirror, where `defaults.py`
finds it for the next push. The job always ends done, even when QuickBooks refuses the Add: the
refusal is its message and the default is simply left out — a default never holds an order (only
a transient refusal is retried a few times first). A lost answer is looked up the same way.

Not a `PushHandler`: it has no mirror row of its own to read or to mark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from qbwc_server.qbxml import classes, customer_types, terms
from qbwc_server.qbxml.core import QbxmlError, QbxmlVersion, ResponseStatus
from qbwc_server.qbxml.errors import Outcome, explain_status
from qbwc_server.qbxml.list_writes import (
    build_class_add_rq,
    build_customer_type_add_rq,
    build_standard_terms_add_rq,
)
from qbwc_server.qbxml.query import ListQuery
from qbwc_server.queue import ClaimedJob, JobResult
from qbwc_server.queue.jobs import Action
from qbwc_server.sync import lists
from qbwc_server.sync.base import Database, Reply

#: A transient refusal is retried this many times before the job ends done without the entry.
TRANSIENT_TRIES = 3


class _ListKind:
    def __init__(
        self,
        what: str,
        query: Callable[[ListQuery, QbxmlVersion], str],
        add: Callable[[str, QbxmlVersion, str], str],
        ret_tags: tuple[str, ...],
        parse: Callable[[etree._Element], Any],
        apply: Callable[[Any, int, list[Any]], int],
    ) -> None:
        self.what, self.query, self.add, self.ret_tags = what, query, add, ret_tags
        self.parse, self.apply = parse, apply


_LISTS = {
    "classes": _ListKind("class", classes.build_class_query_rq, build_class_add_rq, (classes.RET_TAG,),
                         classes.parse_class_ret, lists.apply_classes),
    "terms": _ListKind("terms", terms.build_terms_query_rq, build_standard_terms_add_rq, terms.RET_TAGS,
                       terms.parse_terms_ret, lists.apply_terms),
    "customer_types": _ListKind("customer type", customer_types.build_customer_type_query_rq,
                                build_customer_type_add_rq, (customer_types.RET_TAG,),
                                customer_types.parse_customer_type_ret, lists.apply_customer_types),
}  # fmt: skip


class ListPushHandler:
    kind = "lists.push"
    nouns = ("default list entry", "default list entries")
    batch_size = 20
    counts_records = False

    def build_request(self, db: Database, job: ClaimedJob, version: QbxmlVersion) -> str:
        kind, name = _target(job)
        if _adding(job):
            return kind.add(name, version, str(job.id))
        return kind.query(ListQuery(full_names=(name,), request_id=str(job.id)), version)

    def receive(self, db: Database, job: ClaimedJob, reply: Reply) -> JobResult:
        messages = reply.messages()
        if not messages:
            raise QbxmlError(f"the answer has no response to request {job.id}")
        kind, name = _target(job)
        # Settled in this transaction, never by the one-statement finish: that counts what is left
        # before this job is done, and would miss the pushes waiting for this default.
        conn = db.conn
        rs = messages[0]
        status = ResponseStatus.from_element(rs)
        entry = f'{kind.what} "{name}"'
        if status.is_error:
            said = f"QuickBooks {status.code}: {status.message}"
            if explain_status(status.code).outcome is Outcome.RETRY and job.attempts < TRANSIENT_TRIES:
                return JobResult.fail(Outcome.RETRY, said, status.code)
            doing = "adding" if _adding(job) else "looking up"
            return JobResult(
                Action.DONE,
                message=f"{said} — {doing} {entry} failed; it is left out of what would use it",
                status_code=status.code,
            )
        records = [kind.parse(ret) for ret in rs if ret.tag in kind.ret_tags]
        if records:
            kind.apply(conn, job.tenant_id, records)
            how = "added to QuickBooks" if _adding(job) else "found in QuickBooks"
            return JobResult(Action.DONE, message=f"{entry} {how}", records=len(records))
        if _adding(job):
            raise QbxmlError(f"{rs.tag} answered {status.code} without the record")
        params = {k: v for k, v in (job.params or {}).items() if k != "looking_up"}
        return JobResult(
            Action.RESTART, message=f"QuickBooks has no {entry}: adding it", params={**params, "step": "add"}
        )


def _target(job: ClaimedJob) -> tuple[_ListKind, str]:
    params = job.params or {}
    kind = _LISTS.get(str(params.get("list")))
    name = params.get("name")
    if kind is None or not isinstance(name, str) or not name:
        raise ValueError(f"lists.push needs params list (one of {', '.join(_LISTS)}) and name; got {params}")
    return kind, name


def _adding(job: ClaimedJob) -> bool:
    """The Add step, unless its answer was lost: then the look-up (the same query) goes first."""
    return (job.params or {}).get("step") == "add" and not job.unconfirmed
