"""`POST /sync` (Sync Now: every pull due at the Web Connector's next poll; pushes go then
anyway), `POST /refresh/{entity}` (a full refresh) and `GET /qwc` (the tenant's .qwc file).

The work is admin/pulls.py's (`sync_now`, `refresh`) and admin/qwc.py's, the same as the CLI's.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from qbwc_server.admin import pulls
from qbwc_server.admin.qwc import MAX_EVERY, MIN_EVERY, write_qwc
from qbwc_server.api.routing import ApiError, ApiReply, Call, Route
from qbwc_server.webconnector.qwc import QwcError

#: API.md's refresh entities, and the pulls (sync/pulls.py: entities or groups) each one runs.
REFRESHES: dict[str, tuple[str, ...]] = {
    "customers": ("customers",),
    "items": ("items",),
    "inventory": ("inventory",),
    "orders": ("orders",),
    "invoices": ("invoices",),
    "payments": ("payments",),
    "lists": ("lists",),
    "all": ("all",),
}
#: What a .qwc download is served as: XML (RFC 7303), saved under the tenant's name.
QWC_MEDIA_TYPE = "application/xml; charset=utf-8"
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")


class SyncNowReply(BaseModel):
    """What Sync Now made due. Nothing is sent before the Web Connector's next poll."""

    pulls_due: list[str] = Field(description="Entities pulled from QuickBooks at the next poll.")
    pulls_off: list[str] = Field(description="Entities whose pull the tenant turned off.")
    pulls_stuck: list[str] = Field(
        description="Entities whose latest pull failed and waits for an admin: not pulled until retried."
    )
    queued_jobs: int = Field(description="Jobs (pushes included) already waiting for the next poll.")
    message: str


def sync_now(call: Call) -> ApiReply:
    assert call.tenant_id is not None  # a tenant route: the scope always names one
    with call.engine.begin() as conn:
        done = pulls.sync_now(conn, call.tenant_id)
    message = (
        f"{_count(len(done.due), 'pull')} and {_count(done.queued_jobs, 'queued job')}"
        " go at the Web Connector's next poll"
    )
    if done.stuck:
        message += f"; {', '.join(done.stuck)} wait for an admin (their last pull failed)"
    reply = SyncNowReply(
        pulls_due=list(done.due),
        pulls_off=list(done.off),
        pulls_stuck=list(done.stuck),
        queued_jobs=done.queued_jobs,
        message=message,
    )
    return ApiReply(202, reply.model_dump(mode="json"))


class RefreshReply(BaseModel):
    """What a full refresh queued. Nothing is sent before the Web Connector's next poll."""

    entity: str
    queued: list[str] = Field(description="The pulls queued (or widened) to read everything again.")
    message: str


def refresh(call: Call) -> ApiReply:
    """Queue a full refresh of one entity (or all): everything is read again, not only changes."""
    assert call.tenant_id is not None  # a tenant route: the scope always names one
    entity = call.path["entity"]
    if entity not in REFRESHES:
        raise ApiError(
            404,
            "not_found",
            f"no entity {entity[:40]!r} to refresh; choose from: {', '.join(REFRESHES)}",
            field="entity",
        )
    with call.engine.begin() as conn:
        queued = pulls.refresh(conn, call.tenant_id, REFRESHES[entity])
    message = f"{len(queued)} full pull(s) ({', '.join(queued)}) go at the Web Connector's next poll"
    return ApiReply(202, RefreshReply(entity=entity, queued=queued, message=message).model_dump(mode="json"))


def download_qwc(call: Call) -> ApiReply:
    """The tenant's .qwc, with QBWC_PUBLIC_URL as its AppURL; `every` is kept on the tenant."""
    assert call.tenant_name is not None and call.settings is not None
    raw = call.query.get("every")
    every = None
    if raw is not None:
        if not (raw.isascii() and raw.isdigit() and MIN_EVERY <= int(raw) <= MAX_EVERY):
            raise ApiError(
                400,
                "bad_request",
                f"every must be a whole number of minutes from {MIN_EVERY} to {MAX_EVERY}, not {raw[:20]!r}",
                field="every",
            )
        every = int(raw)
    try:
        with call.engine.begin() as conn:
            tenant, qwc = write_qwc(conn, call.tenant_name, app_url=call.settings.public_url, every=every)
    except QwcError as exc:  # QBWC_PUBLIC_URL is one the Web Connector refuses: the operator's to fix
        raise ApiError(
            500,
            "internal_error",
            f"no .qwc can be made: {exc}",
            fix="Set QBWC_PUBLIC_URL to the server's public https:// address (http:// only for localhost).",
        ) from None
    name = _UNSAFE_IN_FILE_NAME.sub("_", tenant.name)
    headers = {"Content-Disposition": f'attachment; filename="{name}.qwc"'}
    return ApiReply(200, qwc, content_type=QWC_MEDIA_TYPE, headers=headers)


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/sync",
        sync_now,
        "Sync Now: every pull due at the next poll (pending pushes go then too)",
        response=SyncNowReply,
        statuses=(202,),
    ),
    Route(
        "POST",
        "/refresh/{entity}",
        refresh,
        "Full refresh of one entity (customers, items, inventory, orders, invoices, payments, lists, all)"
        " at the next poll",
        response=RefreshReply,
        statuses=(202,),
    ),
    Route(
        "GET",
        "/qwc",
        download_qwc,
        "The tenant's .qwc file for the Web Connector (a download; AppURL is QBWC_PUBLIC_URL)",
        query={
            "every": f"How often the Web Connector runs, {MIN_EVERY} to {MAX_EVERY} minutes (default: as the"
            " last .qwc, else 1). Kept on the tenant: GET /status calls it inactive after 3 intervals"
            " without a call."
        },
        media_type=QWC_MEDIA_TYPE.split(";")[0],
        response_headers={"Content-Disposition": 'attachment; filename="<tenant>.qwc"'},
    ),
)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
