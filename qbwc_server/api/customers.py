"""The customers routes of API.md (placeholder: another helper writes them; the lead merges)."""

from __future__ import annotations

from qbwc_server.api.routing import Route

ROUTES: tuple[Route, ...] = ()
