"""`POST /sync` (Sync Now): every pull due at the Web Connector's next poll; pushes go then anyway.

The work is admin/pulls.py's `sync_now`, the same as the CLI's.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from qbwc_server.admin import pulls
from qbwc_server.api.routing import ApiReply, Call, Route


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
    message = f"{len(done.due)} pulls and {done.queued_jobs} queued jobs go at the Web Connector's next poll"
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


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/sync",
        sync_now,
        "Sync Now: every pull due at the next poll (pending pushes go then too)",
        response=SyncNowReply,
        statuses=(202,),
    ),
)
