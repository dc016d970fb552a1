"""A tenant's push settings: the defaults pushes fall back on, the live window, what orders become.

Stored under the tenant settings' "push" key (`TenantSettings.other`), so config.py's shape and
older releases are untouched. Read leniently like every stored setting: a bad value falls back to
its default (and `ignored` says why), so no stored value can stop a tenant's pushes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from qbwc_server.config import TenantSettings

KEY = "push"
#: An open session holds QuickBooks' connection (and the company file's multi-user slot), so the
#: window is bounded: 10 minutes at most, 2 by default — a push made meanwhile lands in seconds.
MAX_LIVE_WINDOW_SECONDS = 600
MAX_PAYMENT_WAIT_HOURS = 24 * 90

OrdersAs = Literal["sales-orders", "estimates"]


@dataclass(frozen=True)
class PushSettings:
    #: Seconds a session stays open with NoOp after its last work, so pushes go out within seconds.
    live_window_seconds: int = 120
    #: What a confirmed order becomes where the edition has no sales orders (QuickBooks Pro).
    orders_as: OrdersAs = "sales-orders"
    #: Sales tax code on customers, orders and lines; None: the company's non-taxable code.
    default_tax_code: str | None = None
    default_class: str = "Wizcommerce"
    #: The rep (initials, or the name they stand for) when a rep email maps to none.
    default_rep: str = "Admin"
    default_terms: str = "Net 30"
    default_customer_type: str = "Wholesale"
    #: Hours a payment for an order waits for the order's invoice before it goes unapplied (a credit).
    payment_wait_hours: int = 168
    #: Whether a record deleted in QuickBooks (3120/3000 on a Mod) is added again by the next push.
    readd_deleted: bool = True
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, settings: TenantSettings) -> PushSettings:
        return cls.from_stored(settings.other.get(KEY))

    @classmethod
    def from_stored(cls, raw: object) -> PushSettings:
        """Never raises: a stored value of the wrong type or out of bounds keeps its default."""
        if not isinstance(raw, Mapping):
            return cls()
        kept: dict[str, Any] = {}
        ignored: list[str] = []
        for spec in fields(cls):
            if spec.name == "ignored" or spec.name not in raw:
                continue
            problem = _problem(spec.name, raw[spec.name])
            if problem:
                ignored.append(problem)
            else:
                kept[spec.name] = raw[spec.name]
        return cls(**kept, ignored=tuple(ignored))

    def changed(self, **values: Any) -> PushSettings:
        """These settings with `values` (ValueError naming the first one out of bounds)."""
        for name, value in values.items():
            problem = _problem(name, value)
            if problem:
                raise ValueError(problem)
        return replace(self, **values)

    def to_json(self) -> dict[str, Any]:
        """Only what differs from the defaults, so a later release's new defaults still apply."""
        default = asdict(PushSettings())
        return {k: v for k, v in asdict(self).items() if k != "ignored" and v != default[k]}

    def store(self, settings: TenantSettings) -> TenantSettings:
        other = {k: v for k, v in settings.other.items() if k != KEY}
        if self.to_json():
            other[KEY] = self.to_json()
        return replace(settings, other=other)


def live_window_sql(settings: str) -> str:
    """SQL for the live window of the tenant whose settings column is `settings`, read as leniently
    as `from_stored` (a stored value of the wrong type or out of bounds is the default), so the
    Web Connector's statements need no extra round trip to learn it."""
    value = f"({settings} -> '{KEY}' -> 'live_window_seconds')"
    return f"""(CASE WHEN jsonb_typeof({value}) = 'number' AND {value}::text ~ '^[0-9]{{1,7}}$'
                 AND {value}::text::int <= {MAX_LIVE_WINDOW_SECONDS} THEN {value}::text::int
                 ELSE {PushSettings.live_window_seconds} END)"""


def _problem(name: str, value: object) -> str | None:
    if name == "live_window_seconds":
        ok = _whole(value) and 0 <= value <= MAX_LIVE_WINDOW_SECONDS  # type: ignore[operator]
        return None if ok else f"live window: 0 to {MAX_LIVE_WINDOW_SECONDS} seconds, got {value!r}"[:200]
    if name == "payment_wait_hours":
        ok = _whole(value) and 0 <= value <= MAX_PAYMENT_WAIT_HOURS  # type: ignore[operator]
        return None if ok else f"payment wait: 0 to {MAX_PAYMENT_WAIT_HOURS} hours, got {value!r}"[:200]
    if name == "orders_as":
        return None if value in ("sales-orders", "estimates") else f"orders as: {value!r}"[:200]
    if name == "readd_deleted":
        return None if isinstance(value, bool) else f"re-add deleted: true or false, got {value!r}"[:200]
    if name == "default_tax_code" and value is None:
        return None
    if name.startswith("default_"):
        if not isinstance(value, str) or not value.strip() or len(value) > 31:
            what = name.removeprefix("default_")
            return f"{what} default: a name of 1 to 31 characters, got {value!r}"[:200]
        return None
    return f"unknown push setting {name!r}"


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
