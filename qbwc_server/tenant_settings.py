"""Each tenant's settings (the `tenants.settings` jsonb) as a frozen, checked object.

Re-exported by config.py, where they lived before the environment's settings grew; knows no
environment and no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from qbwc_server.errors import QbwcError

#: Bounds of a tenant's pull settings. A pull rarer than monthly is better turned off (0).
MAX_PULL_INTERVAL_SECONDS = 31 * 86400
MAX_PULL_PAGE_SIZE = 10_000


class TenantSettingsError(QbwcError, ValueError):
    """A tenant setting of the wrong type or out of bounds; the message names it."""

    code = "validation_failed"


#: The settings key whose presence (any value but JSON null) marks a tenant disabled; its value is
#: when. Authenticate's lookup tests it in SQL (`settings->>'disabled_at' IS NULL`), which never fails.
DISABLED_KEY = "disabled_at"


def _interval_problem(name: str, seconds: object) -> str | None:
    """Why `seconds` cannot be `name`'s pull interval, or None when it can."""
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        return f"{name}: an interval is a whole number of seconds, got {seconds!r}"[:200]
    if seconds < 0:
        return f"{name}: an interval cannot be negative"
    if seconds > MAX_PULL_INTERVAL_SECONDS:
        return f"{name}: an interval cannot exceed 31 days; turn the pull off instead"
    return None


def _page_size_problem(size: object) -> str | None:
    if size is None or (
        isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= MAX_PULL_PAGE_SIZE
    ):
        return None
    return f"the page size must be between 1 and {MAX_PULL_PAGE_SIZE} records"


@dataclass(frozen=True)
class TenantSettings:
    """One tenant's settings, typed: the `tenants.settings` jsonb, whose shape stays as it is.

    Keys this release does not read are kept in `other` and written back unchanged, so settings
    a newer release added survive an older one's change.
    """

    #: Seconds between pulls per entity, or "default" for every entity without its own; 0 turns
    #: a pull off. An entity in neither uses its pull's own interval (sync/pulls.py).
    pull_intervals: Mapping[str, int] = field(default_factory=dict)
    #: Records per page of a pull (MaxReturned); None: the pull's own (500).
    pull_page_size: int | None = None
    other: Mapping[str, Any] = field(default_factory=dict)
    #: When an admin disabled the tenant (as stored); None while it is enabled.
    disabled_at: str | None = None
    #: Stored values `from_stored` left out (the default applies instead), each with the reason.
    ignored: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for name, seconds in self.pull_intervals.items():
            problem = _interval_problem(name, seconds)
            if problem:
                raise TenantSettingsError(problem)
        problem = _page_size_problem(self.pull_page_size)
        if problem:
            raise TenantSettingsError(problem)
        object.__setattr__(self, "pull_intervals", MappingProxyType(dict(self.pull_intervals)))
        object.__setattr__(self, "other", MappingProxyType(dict(self.other)))

    @classmethod
    def from_stored(cls, raw: object) -> TenantSettings:
        """From the stored jsonb, never raising: a value of the wrong type or out of bounds (an
        older release, a hand edit) is left out, its default applies, and `ignored` says why.
        Authenticate reads settings through this, so no stored value can stop a tenant."""
        ignored: list[str] = []
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            return cls(ignored=(f"the settings are not a JSON object: {raw!r}"[:200],))
        rest = dict(raw)
        stored_intervals = rest.pop("pull_intervals", None) or {}
        intervals: dict[str, int] = {}
        if isinstance(stored_intervals, Mapping):
            for name, seconds in stored_intervals.items():
                problem = _interval_problem(str(name), seconds)
                if problem:
                    ignored.append(problem)
                else:
                    intervals[str(name)] = seconds
        else:
            ignored.append(f"pull_intervals must map entities to seconds, got {stored_intervals!r}"[:200])
        page_size = rest.pop("pull_page_size", None)
        problem = _page_size_problem(page_size)
        if problem:
            ignored.append(f"{problem}, got {page_size!r}"[:200])
            page_size = None
        disabled = rest.pop(DISABLED_KEY, None)
        return cls(
            pull_intervals=intervals,
            pull_page_size=page_size,
            other=rest,
            disabled_at=None if disabled is None else str(disabled),
            ignored=tuple(ignored),
        )

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> TenantSettings:
        """From the stored jsonb, strictly: TenantSettingsError for the first value out of bounds."""
        settings = cls.from_stored(raw)
        if settings.ignored:
            raise TenantSettingsError(settings.ignored[0])
        return settings

    def to_json(self) -> dict[str, Any]:
        """The jsonb to store: the same shape `from_json` reads (what was ignored is left out)."""
        stored: dict[str, Any] = dict(self.other)
        if self.pull_intervals:
            stored["pull_intervals"] = dict(self.pull_intervals)
        if self.pull_page_size is not None:
            stored["pull_page_size"] = self.pull_page_size
        if self.disabled_at is not None:
            stored[DISABLED_KEY] = self.disabled_at
        return stored

    def pull_interval(self, entity: str) -> int | None:
        """Seconds between pulls of `entity` (0: off), or None when the tenant set none."""
        return self.pull_intervals.get(entity, self.pull_intervals.get("default"))

    def with_pulls(
        self, *, intervals: Mapping[str, int] | None = None, page_size: int | None = None
    ) -> TenantSettings:
        """These settings with `intervals` merged over the current ones, and `page_size` if given."""
        return replace(
            self,
            pull_intervals={**self.pull_intervals, **(intervals or {})},
            pull_page_size=self.pull_page_size if page_size is None else page_size,
        )
