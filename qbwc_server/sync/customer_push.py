"""Customers from the commerce side into QuickBooks: CustomerAdd, or CustomerMod of the fields the
body holds, recovering by itself from what QuickBooks answers wherever a person is not needed.

    write     no ListID: CustomerAdd (with our ExternalGUID); a ListID and EditSequence: CustomerMod.
              A ListID without an EditSequence (a row bound by `qb_list_id`): first CustomerQuery
              by ListID, bind and land it, then the Mod.
    3100      the name is in use: read QuickBooks' customer of that name. The same person (emails,
              else phones: customer_fields.py's rule) -> bind to it and Mod our fields onto it;
              else `needs_mapping` with the fix, and the job fails for an admin (what depends on it,
              the customer's orders, is held with that reason).
    3200      stale EditSequence: read it by ListID, merge (QuickBooks is master for customer
              details: a field QuickBooks changed since our last sync keeps QuickBooks' value and is
              left out of our Mod), Mod again.
    3120/3000 on a Mod (deleted in QuickBooks, id not valid): with `readd_deleted` the ids are
              cleared and the customer goes as an Add; otherwise `failed` with the fix.
    3140      a list entry we referred to is gone: sent again without that reference.
    look-up   an answer was lost. Add: CustomerQuery by our Name — ours (ExternalGUID equal) is
              adopted; the same person is bound and modified; nothing there -> the Add again.
              Mod: read by ListID and merge as after 3200 (a Mod sets the same values: once the
              EditSequence is current, sending it again is harmless).

Job params: `reread` ("name" | "merge") for the read steps, `keep_quickbooks` (fields left to
QuickBooks by a merge), `omit` (references refused with 3140), `readd` (ignore the body's
`qb_list_id`: the customer it named was deleted). The body's `qb_list_id` binds only a row that
has no ListID yet; re-linking is what `POST /customers/{id}/link` is for.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from lxml import etree
from sqlalchemy import text

from qbwc_server.models import SyncState
from qbwc_server.qbxml.core import ResponseStatus
from qbwc_server.qbxml.customer_writes import build_customer_add_rq, build_customer_mod_rq, customer_guid
from qbwc_server.qbxml.customers import Customer, build_customer_query_rq, parse_customer_ret
from qbwc_server.qbxml.errors import Outcome
from qbwc_server.qbxml.query import ListQuery
from qbwc_server.queue import JobResult
from qbwc_server.queue.jobs import Action
from qbwc_server.sync import customer_fields as fields
from qbwc_server.sync.push import PushContext, PushHandler, set_sync_state

#: Read-and-write-again steps one job may take before it backs off like a transient failure.
MAX_STEPS = 6
_DELETED = (3120, 3000)
_INVALID_REFERENCE = re.compile(r'invalid reference to QuickBooks (\w+) "')


class CustomerPushHandler(PushHandler):
    kind = "customers.push"
    nouns = ("customer sent to QuickBooks", "customers sent to QuickBooks")
    table = "customers"

    # -- requests ---------------------------------------------------------------------------------

    def build_write(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        params = ctx.job.params or {}
        request_id = str(ctx.job.id)
        to_read = _list_id_to_read(row, params)
        if to_read:
            return _query(ctx, request_id, list_id=to_read)
        adding = not row["qb_list_id"]
        customer = fields.fields_to_send(
            ctx,
            row,
            adding=adding,
            keep=set(params.get("keep_quickbooks", ())),
            omit=set(params.get("omit", ())),
        )
        assert ctx.version is not None
        if adding:
            return build_customer_add_rq(customer, ctx.version, request_id)
        return build_customer_mod_rq(
            row["qb_list_id"], row["edit_sequence"], customer, ctx.version, request_id
        )

    def build_reread(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        if (ctx.job.params or {}).get("reread") == "name":
            return _query(ctx, str(ctx.job.id), full_names=(_name(row),))
        return _query(ctx, str(ctx.job.id), list_id=row["qb_list_id"])

    def build_lookup(self, ctx: PushContext, row: Mapping[str, Any]) -> str:
        params = ctx.job.params or {}
        if params.get("reread"):
            return self.build_reread(ctx, row)  # a lost read: read again
        to_read = _list_id_to_read(row, params) or row["qb_list_id"]
        if to_read:
            return _query(ctx, str(ctx.job.id), list_id=to_read)
        # the name sent may differ from the body's now (a PUT renamed it meanwhile): ask for both
        names = tuple(dict.fromkeys(n for n in (_name(row), row["name"]) if n))
        return _query(ctx, str(ctx.job.id), full_names=names)

    # -- answers ----------------------------------------------------------------------------------

    def apply_written(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        if rs.tag == "CustomerQueryRs":  # the read before binding a ListID
            return self._bound_read(ctx, row, _first(rs))
        customer = _first(rs)
        if customer is None:
            raise ValueError(f"{rs.tag} with status {status.code} but no CustomerRet")
        return self._adopt(ctx, row, customer)

    def apply_reread(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        if status.is_error:
            return self.refused(ctx, row, status)
        params = ctx.job.params or {}
        found = _first(rs)
        if params.get("reread") == "name":
            return self._name_in_use(ctx, row, found)
        if found is None:
            return self._deleted(ctx, row, f"QuickBooks has no customer {row['qb_list_id']} any more")
        return self._merge(ctx, row, found)

    def apply_lookup(
        self, ctx: PushContext, row: Mapping[str, Any], rs: etree._Element, status: ResponseStatus
    ) -> JobResult:
        params = ctx.job.params or {}
        if status.is_error:
            return self.refused(ctx, row, status)
        if params.get("reread"):
            return self.apply_reread(ctx, row, rs, status)
        if _list_id_to_read(row, params):
            return self._bound_read(ctx, row, _first(rs))
        if row["qb_list_id"]:  # a Mod whose answer was lost
            found = _first(rs)
            if found is None:
                return self._deleted(ctx, row, f"QuickBooks has no customer {row['qb_list_id']} any more")
            return self._merge(ctx, row, found)
        return self._lost_add(ctx, row, [parse_customer_ret(ret) for ret in rs.iter("CustomerRet")])

    def refused(self, ctx: PushContext, row: Mapping[str, Any], status: ResponseStatus) -> JobResult:
        code, said = status.code, f"QuickBooks {status.code}: {status.message}"
        params = dict(ctx.job.params or {})
        params.pop("reread", None)
        if code == 3100:
            return self._step(
                ctx, f"{said}; reading QuickBooks' customer of that name", {**params, "reread": "name"}
            )
        if code == 3200:
            return self._step(ctx, f"{said}; reading it again to merge", {**params, "reread": "merge"})
        if code in _DELETED and row["qb_list_id"]:
            return self._deleted(ctx, row, said)
        missing = _INVALID_REFERENCE.search(status.message or "")
        label = fields.REFERENCE_LABELS.get(missing.group(1)) if missing else None
        if code == 3140 and label and label not in params.get("omit", ()):
            omit = [*params.get("omit", ()), label]
            return self._step(ctx, f"{said}; sent again without it", {**params, "omit": omit})
        result = super().refused(ctx, row, status)
        return result if result.outcome is Outcome.RETRY else _start_over(result)

    # -- steps ------------------------------------------------------------------------------------

    def _lost_add(self, ctx: PushContext, row: Mapping[str, Any], found: list[Customer]) -> JobResult:
        """What QuickBooks has under our name(s): ours by ExternalGUID is adopted; the same person
        is bound and modified; another customer of our name needs a person; nothing: the Add."""
        guid = customer_guid(ctx.tenant_id, str(row.get("commerce_id") or row["id"])).lower()
        ours = next((c for c in found if (c.external_guid or "").lower() == guid), None)
        if ours is not None:
            return self._adopt(ctx, row, ours)
        name = _name(row).upper()
        found.sort(key=lambda c: c.name.upper() != name)  # the one of our current name first
        body = dict(row.get("commerce_body") or {})
        same = next((c for c in found if fields.same_person(body, c)), None)
        if same is not None or (found and found[0].name.upper() == name):
            return self._name_in_use(ctx, row, same or found[0])
        return self.again_as_write("the lost CustomerAdd is not in QuickBooks: added now", ctx.job.params)

    def _adopt(self, ctx: PushContext, row: Mapping[str, Any], customer: Customer) -> JobResult:
        """QuickBooks has our customer as `customer`: bind, land, synced."""
        conflict = fields.bind(ctx.conn, ctx.tenant_id, int(row["id"]), customer.list_id)
        if conflict:
            return self._needs_mapping(ctx, row, conflict, fix=_link_fix(ctx, row, customer.list_id))
        fields.land(ctx.conn, ctx.tenant_id, int(row["id"]), customer)
        return self.synced(ctx, int(row["id"]))

    def _bind_then_modify(
        self, ctx: PushContext, row: Mapping[str, Any], customer: Customer, why: str
    ) -> JobResult:
        conflict = fields.bind(ctx.conn, ctx.tenant_id, int(row["id"]), customer.list_id)
        if conflict:
            return self._needs_mapping(ctx, row, conflict, fix=_link_fix(ctx, row, customer.list_id))
        fields.land(ctx.conn, ctx.tenant_id, int(row["id"]), customer)
        params = {k: v for k, v in (ctx.job.params or {}).items() if k not in ("keep_quickbooks", "readd")}
        return self._step(ctx, why, params, write=True)

    def _bound_read(self, ctx: PushContext, row: Mapping[str, Any], customer: Customer | None) -> JobResult:
        list_id = _list_id_to_read(row, ctx.job.params or {})
        if customer is None:
            if row["qb_list_id"]:
                return self._deleted(ctx, row, f"QuickBooks has no customer {list_id}")
            message = f"QuickBooks has no customer with ListID {list_id}"
            fix = "Correct qb_list_id (the QuickBooks customer's ListID), or leave it out to add it."
            set_sync_state(ctx.conn, self.table, int(row["id"]), SyncState.FAILED, message=message, fix=fix)
            return _start_over(JobResult.fail(Outcome.NEEDS_ADMIN, f"{message}. {fix}"))
        return self._bind_then_modify(ctx, row, customer, f"bound to QuickBooks customer {customer.list_id}")

    def _name_in_use(self, ctx: PushContext, row: Mapping[str, Any], found: Customer | None) -> JobResult:
        name = _name(row)
        body = dict(row.get("commerce_body") or {})
        if found is not None and not row["qb_list_id"] and fields.same_person(body, found):
            why = f'linked to QuickBooks customer "{found.full_name}" ({found.list_id}): same contact details'
            return self._bind_then_modify(ctx, row, found, why)
        if found is None:
            message = f'QuickBooks already uses the name "{name}" for a vendor, employee or other name'
            return self._needs_mapping(
                ctx,
                row,
                message,
                fix="Rename this customer (names are unique across QuickBooks' name lists).",
            )
        message = f'A different QuickBooks customer is already named "{name}"'
        return self._needs_mapping(ctx, row, message, fix=_link_fix(ctx, row, found.list_id))

    def _merge(self, ctx: PushContext, row: Mapping[str, Any], customer: Customer) -> JobResult:
        """QuickBooks' fresh record: its changes win, our other fields go in a Mod with its EditSequence."""
        keep = set((ctx.job.params or {}).get("keep_quickbooks", ())) | fields.changed_in_quickbooks(
            ctx.conn, row, customer
        )
        fields.land(ctx.conn, ctx.tenant_id, int(row["id"]), customer)
        params = {**(ctx.job.params or {}), "keep_quickbooks": sorted(keep)}
        kept = f" (QuickBooks' {', '.join(sorted(keep))} kept)" if keep else ""
        return self._step(ctx, f"merged with QuickBooks' customer{kept}; modifying it", params, write=True)

    def _deleted(self, ctx: PushContext, row: Mapping[str, Any], said: str) -> JobResult:
        row_id = int(row["id"])
        if ctx.settings.readd_deleted:
            ctx.conn.execute(
                text("UPDATE customers SET qb_list_id = NULL, edit_sequence = NULL WHERE id = :id"),
                {"id": row_id},
            )
            params = {
                k: v for k, v in (ctx.job.params or {}).items() if k not in ("keep_quickbooks", "reread")
            }
            return self._step(ctx, f"{said}; added again", {**params, "readd": True}, write=True)
        message = f"{said}: the QuickBooks customer was deleted, or its id is not valid"
        commerce_id = row.get("commerce_id") or row_id
        tenant = ctx.conn.execute(
            text("SELECT name FROM tenants WHERE id = :t"), {"t": ctx.tenant_id}
        ).scalar()
        fix = (
            f"Link this customer to an existing QuickBooks customer (POST /customers/{commerce_id}/link),"
            " or let deleted customers be added again"
            f" (`qbwc-server tenant set {tenant} --readd-deleted yes`)."
        )
        set_sync_state(ctx.conn, self.table, row_id, SyncState.FAILED, message=message, fix=fix)
        return _start_over(JobResult.fail(Outcome.NEEDS_ADMIN, f"{message}. {fix}"))

    def _needs_mapping(
        self, ctx: PushContext, row: Mapping[str, Any], message: str, *, fix: str
    ) -> JobResult:
        set_sync_state(ctx.conn, self.table, int(row["id"]), SyncState.NEEDS_MAPPING, message=message,
                       quickbooks_code=3100, fix=fix)  # fmt: skip
        return _start_over(JobResult.fail(Outcome.NEEDS_ADMIN, f"{message}. {fix}", 3100))

    def _step(
        self, ctx: PushContext, message: str, params: Mapping[str, Any], *, write: bool = False
    ) -> JobResult:
        """The job goes again at once with `params` (a write when `write`); after MAX_STEPS it backs off."""
        kept = {k: v for k, v in params.items() if k != "looking_up" and not (write and k == "reread")}
        if ctx.job.attempts >= MAX_STEPS:
            return JobResult(Action.FAIL, Outcome.RETRY, f"{message} (backing off)", params=kept)
        return JobResult(Action.RESTART, message=message, params=kept)


def _start_over(result: JobResult) -> JobResult:
    """A job that waits for a person forgets its steps: once the admin links or renames the
    customer, its retry starts from the row as it is then."""
    return dataclasses.replace(result, params={})


def _list_id_to_read(row: Mapping[str, Any], params: Mapping[str, Any]) -> str | None:
    """The ListID to read before writing: a bound row without an EditSequence, or the body's
    `qb_list_id` for a row without a ListID (unless re-adding a deleted customer)."""
    if row["qb_list_id"]:
        return None if row["edit_sequence"] else str(row["qb_list_id"])
    wanted = (row.get("commerce_body") or {}).get("qb_list_id")
    return str(wanted) if wanted and not params.get("readd") else None


def _query(
    ctx: PushContext, request_id: str, *, list_id: str | None = None, full_names: tuple[str, ...] = ()
) -> str:
    assert ctx.version is not None
    query = ListQuery(list_ids=(list_id,) if list_id else (), full_names=full_names, request_id=request_id)
    return build_customer_query_rq(query, ctx.version)


def _first(rs: etree._Element) -> Customer | None:
    ret = rs.find("CustomerRet")
    return parse_customer_ret(ret) if ret is not None else None


def _name(row: Mapping[str, Any]) -> str:
    return str((row.get("commerce_body") or {}).get("name") or row["name"])


def _link_fix(ctx: PushContext, row: Mapping[str, Any], list_id: str) -> str:
    tenant = ctx.conn.execute(text("SELECT name FROM tenants WHERE id = :t"), {"t": ctx.tenant_id}).scalar()
    commerce_id = row.get("commerce_id") or row["id"]
    return (
        "Rename this customer, or link it to the existing QuickBooks customer"
        f" (POST /customers/{commerce_id}/link"
        f" or `qbwc-server customers link {tenant} {commerce_id} {list_id}`)"
    )
