"""The status page's HTML: Jinja2 templates shipped in the package (api/templates/), escaped.

Autoescaping is on for every template, so whatever a tenant, QuickBooks or a commerce record
put in a name or a message is shown as text, never as markup. Undefined names fail loudly in
tests instead of rendering as blanks.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from typing import Any

import jinja2
import markupsafe

#: The states' names as the page shows them (admin/health.py STATES).
STATE_LABELS = {
    "disabled": "Disabled",
    "never_connected": "Never connected",
    "inactive": "Inactive",
    "quickbooks_unavailable": "QuickBooks unavailable",
    "needs_attention": "Needs attention",
    "healthy": "Healthy",
    "idle": "Idle",
}


def urlpart(value: object) -> str:
    """`value` percent-encoded as one path segment (a '/' in a name included)."""
    return urllib.parse.quote(str(value), safe="")


def when(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """A moment in UTC with how long ago it was: "2026-11-29 14:03 UTC (5 min ago)"."""
    if value is None:
        return "never"
    now = now or dt.datetime.now(dt.UTC)
    stamp = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    seconds = (now - value).total_seconds()
    if seconds < 0:
        return stamp
    return f"{stamp} ({duration(seconds)} ago)" if seconds >= 60 else f"{stamp} (just now)"


def duration(seconds: float | None) -> str:
    """Seconds in the largest units that read well: "45 s", "12 min", "3 h 5 min", "4 days"."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = s // 86400
    return f"{days} day{'' if days == 1 else 's'}"


_TICKS = re.compile(r"`([^`]+)`")


def commands(value: object) -> markupsafe.Markup:
    """`value` escaped, its `backticked` commands set in code type (escaped first, so nothing in
    the text can become markup)."""
    escaped = str(markupsafe.escape(value))
    return markupsafe.Markup(_TICKS.sub(r"<code>\1</code>", escaped))  # safe: escaped above


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("qbwc_server.api", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        urlpart=urlpart, when=when, duration=duration, state_label=state_label, commands=commands
    )
    return env


class Renderer:
    """Templates loaded once per process; `render` fills one with the page's defaults."""

    def __init__(self) -> None:
        self.env = environment()

    def render(self, template: str, **context: Any) -> str:
        defaults: dict[str, Any] = {"home_url": "/status", "csrf_token": None, "flash": None}
        return self.env.get_template(template).render({**defaults, **context})
