"""Paging the mirror for the list endpoints: keyset on (updated_at, id), bounded by a horizon so
that a pass never skips a row a late-committing transaction wrote. Knows no HTTP.

Every writer stamps `updated_at = now()`, PostgreSQL's transaction start. A transaction that
began before rows a client already paged past, and commits after, lands *behind* the keyset: a
naive `(updated_at, id) > last` loses it. So the first page fixes a horizon H: the older of
now() and the start of the oldest transaction open in the database. Every write still to
commit carries `updated_at >= H`, so the rows below H are final; each page of the pass reads
only those. A row changed during the pass moves past H: it is not returned twice, and the next
sync (`updated_since` = the newest `updated_at` seen, inclusive) brings it.

The cursor carries H, the filters, the list, the tenant and the last key: base64url of compact
JSON, nothing stored server-side (any node can continue any pass). It is not signed; it is
checked: a cursor of another list or another tenant is refused, and whatever else a client
edits in it can only read that tenant's own rows of that list.

    QbwcError
     └── ListingError   bad_request   a query parameter or cursor that cannot be used (`field`)
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection, text

from qbwc_server.admin.list_views import LISTINGS, Listing
from qbwc_server.errors import QbwcError

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: The query parameters of a first page; a cursor page takes `cursor` alone.
PARAMETERS = ("updated_since", "limit")
_CURSOR_VERSION = 1
_CURSOR_KEYS = frozenset({"v", "l", "t", "h", "s", "n", "u", "i"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
#: RFC 3339 date-time; a space before the offset is a `+` that a query string turned into one.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+ -])(\d{2}):(\d{2}))"
)
_LIMIT = re.compile(r"\d{1,4}")


class ListingError(QbwcError, ValueError):
    """A query parameter or cursor the list cannot page with; `field` names it."""

    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Pass:
    """Where one page of a pass starts: the list, its filters, its horizon and the last key."""

    listing: str
    tenant_id: int
    limit: int
    since: dt.datetime | None
    #: None until the first page fixes it.
    horizon: dt.datetime | None = None
    #: (updated_at, id) of the last row returned; None on the first page.
    after: tuple[dt.datetime, int] | None = None


@dataclass(frozen=True)
class Page:
    #: The rows as the API shows them, by (updated_at, id).
    rows: list[dict[str, Any]]
    #: The cursor of the next page; None at the end of the pass.
    next_cursor: str | None


def start_pass(listing: str, tenant_id: int, query: Mapping[str, str]) -> Pass:
    """The first page's pass from its query parameters, or the cursor's when `cursor` is given
    (alone: the cursor carries the filters, so any other parameter beside it is refused)."""
    if listing not in LISTINGS:
        raise ListingError(f"no list {listing!r}", field="list")
    unknown = sorted(set(query) - {*PARAMETERS, "cursor"})
    if unknown:
        raise ListingError(
            f"{unknown[0]} is not a parameter of this list (use {', '.join(PARAMETERS)} or cursor)",
            field=unknown[0],
        )
    if "cursor" in query:
        extra = sorted(set(query) - {"cursor"})
        if extra:
            raise ListingError(
                f"{extra[0]} cannot be given with cursor: the cursor carries the filters of its pass;"
                " send it alone, or start a new pass without it",
                field=extra[0],
            )
        return decode_cursor(listing, tenant_id, query["cursor"])
    return Pass(listing, tenant_id, parse_limit(query.get("limit")), parse_since(query.get("updated_since")))


def read_page(conn: Connection, step: Pass) -> Page:
    """One page: at most `limit` rows after the last key and below the horizon, by one indexed
    keyset scan (`ix_<table>_tenant_id_updated_at_id`). On a first page, the connection's
    transaction is ended after the horizon is read."""
    listing = LISTINGS[step.listing]
    horizon = step.horizon
    if horizon is None:
        horizon = read_horizon(conn)
        # The page's snapshot must be taken after the horizon was read, whatever the isolation
        # level: end the transaction that read it (nothing was written in it).
        conn.rollback()
    params: dict[str, Any] = {"tenant": step.tenant_id, "horizon": horizon, "take": step.limit + 1}
    where = ["tenant_id = :tenant", "updated_at < :horizon"]
    if step.since is not None:
        where.append("updated_at >= :since")
        params["since"] = step.since
    if step.after is not None:
        where.append("(updated_at, id) > (:after_at, :after_id)")
        params["after_at"], params["after_id"] = step.after
    rows = [dict(row) for row in conn.execute(text(page_sql(listing, where)), params).mappings()]
    more = len(rows) > step.limit
    rows = rows[: step.limit]
    cursor = None
    if more:
        last = rows[-1]
        cursor = encode_cursor(
            Pass(
                step.listing,
                step.tenant_id,
                step.limit,
                step.since,
                horizon,
                (last["updated_at"], last["id"]),
            )
        )
    return Page([listing.view(row) for row in rows], cursor)


def page_sql(listing: Listing, where: list[str]) -> str:
    """The page's statement: the keyset scan picks the rows (LIMIT in the scan, so PostgreSQL
    walks the index and stops), then each row's children and looked-up values are added."""
    return f"""
        WITH page AS MATERIALIZED (
            SELECT * FROM {listing.table}
            WHERE {" AND ".join(where)}
            ORDER BY updated_at, id
            LIMIT :take
        )
        SELECT page.*{"".join(f", {extra}" for extra in listing.extras)}
        FROM page
        ORDER BY page.updated_at, page.id
    """


def read_horizon(conn: Connection) -> dt.datetime:
    """H: now(), or the start of the oldest transaction open in this database when older.

    Read in a transaction of its own, before the page's: a transaction that commits between the
    two is then either still listed here (H is below its rows) or visible to the page's snapshot.
    Only this database's client backends count: other databases and PostgreSQL's own workers
    write no mirror rows. A long transaction (a session left idle in one, a pg_dump) holds H
    back, and lists stop advancing until it ends: nothing is lost, and
    `idle_in_transaction_session_timeout` bounds the forgotten ones. PostgreSQL shows a role the
    start of only its own sessions (and those of roles whose statistics it may read): writers
    under another role need `pg_read_all_stats` granted to the service's role. One case is left:
    PostgreSQL lists a transaction a few microseconds after it stamps its start, so a writer
    stalled in exactly that window while a first page reads H is not seen.
    """
    horizon: dt.datetime = conn.execute(
        text("""
            SELECT least(now(), min(xact_start)) FROM pg_stat_activity
            WHERE datname = current_database() AND backend_type = 'client backend'
              AND xact_start IS NOT NULL
        """)
    ).scalar_one()
    return horizon


# -- parameters -------------------------------------------------------------------------------


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ListingError(
            f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw[:40]!r}", field="limit"
        )
    return int(raw)


def parse_since(raw: str | None) -> dt.datetime | None:
    """An RFC 3339 date-time with its offset (`2026-11-29T08:15:00.123456Z`); finer than a
    microsecond is cut (the bound is inclusive, so nothing at it is missed)."""
    if raw is None:
        return None
    match = _RFC3339.fullmatch(raw)
    problem = "must be an RFC 3339 date-time with an offset, such as 2026-11-29T08:15:00Z"
    if match is None:
        raise ListingError(f"updated_since {problem}, got {raw[:60]!r}", field="updated_since")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    try:
        offset = dt.timedelta(0)
        if not zulu:
            offset = dt.timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=dt.timezone(offset),
        )
    except ValueError as exc:  # a day or an offset out of range
        raise ListingError(f"updated_since is not a real time: {exc}", field="updated_since") from None


# -- the cursor -------------------------------------------------------------------------------


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> dt.datetime:
    return _EPOCH + micros * _MICROSECOND


def encode_cursor(step: Pass) -> str:
    assert step.horizon is not None and step.after is not None
    fields = {
        "v": _CURSOR_VERSION,
        "l": step.listing,
        "t": step.tenant_id,
        "h": _micros(step.horizon),
        "s": None if step.since is None else _micros(step.since),
        "n": step.limit,
        "u": _micros(step.after[0]),
        "i": step.after[1],
    }
    packed = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def decode_cursor(listing: str, tenant_id: int, cursor: str) -> Pass:
    """The pass a cursor continues; ListingError (field `cursor`) for one that is not a cursor of
    this list for this tenant."""
    broken = ListingError(
        "cursor is not a cursor this list gave out (it is copied whole from next_cursor):"
        " start a new pass without it",
        field="cursor",
    )
    try:
        if len(cursor) > 512 or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
            raise ValueError
        fields = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise broken from None
    if not isinstance(fields, dict) or set(fields) != _CURSOR_KEYS or fields["v"] != _CURSOR_VERSION:
        raise broken
    numbers = ("t", "h", "n", "u", "i") + (() if fields["s"] is None else ("s",))
    if not isinstance(fields["l"], str) or any(type(fields[k]) is not int for k in numbers):
        raise broken
    if not 0 < fields["i"] < 2**63:  # a row id is a PostgreSQL bigint
        raise broken
    if fields["l"] != listing:
        raise ListingError(
            f"cursor pages another list ({fields['l'][:40]}), not {listing}: start a new pass without it",
            field="cursor",
        )
    if fields["t"] != tenant_id:
        raise ListingError(
            "cursor was not given out to this company: start a new pass without it", field="cursor"
        )
    try:
        if not 1 <= fields["n"] <= MAX_LIMIT:
            raise ValueError
        since = None if fields["s"] is None else _moment(fields["s"])
        return Pass(
            listing, tenant_id, fields["n"], since, _moment(fields["h"]), (_moment(fields["u"]), fields["i"])
        )
    except (ValueError, OverflowError):
        raise broken from None
