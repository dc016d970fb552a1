"""The idle poll at scale: every company's Web Connector polls about once a minute, work or not.

What an admin sees of it is last contact (`tenant show`, `status`): it must stay true although
idle polls no longer write it one by one (webconnector/seen.py). And the session that starts
when there is work starts from authenticate's one statement, exactly once.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, text

from tests.conftest import TenantCredentials
from tests.test_protocol import authenticate, enqueue_raw

#: Long enough for the once-a-second batch on a loaded test machine; the test returns as soon as it shows.
SHOWS_WITHIN_SECONDS = 15


def last_seen(engine: Engine, tenant_id: int):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text("SELECT last_seen_at FROM tenants WHERE id = :t"), {"t": tenant_id}).scalar()


def age_last_seen(engine: Engine, tenant_id: int, minutes: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tenants SET last_seen_at = now() - make_interval(mins => :m) WHERE id = :t"),
            {"m": minutes, "t": tenant_id},
        )


def test_a_first_contact_shows_as_soon_as_the_poll_is_answered(
    server, tenant: TenantCredentials, engine
) -> None:
    assert last_seen(engine, tenant.id) is None
    assert authenticate(server.url, tenant)[1] == "none"
    assert last_seen(engine, tenant.id) is not None


def test_an_idle_poll_a_minute_after_the_last_shows_as_last_contact(
    server, tenant: TenantCredentials, engine
) -> None:
    assert authenticate(server.url, tenant)[1] == "none"
    age_last_seen(engine, tenant.id, 1)
    before = last_seen(engine, tenant.id)
    assert authenticate(server.url, tenant)[1] == "none"
    deadline = time.monotonic() + SHOWS_WITHIN_SECONDS
    while (seen := last_seen(engine, tenant.id)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert seen > before, "the idle poll never showed as last contact"


def test_failed_logins_are_cleared_by_the_next_good_poll_at_once(
    server, tenant: TenantCredentials, engine
) -> None:
    assert authenticate(server.url, tenant)[1] == "none"
    with engine.begin() as conn:
        conn.execute(text("UPDATE tenants SET failed_logins = 3 WHERE id = :t"), {"t": tenant.id})
    assert authenticate(server.url, tenant)[1] == "none"
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT failed_logins FROM tenants WHERE id = :t"), {"t": tenant.id}).scalar()
            == 0
        )


def test_a_poll_with_work_starts_one_session_and_notes_the_contact(
    server, tenant: TenantCredentials, engine
) -> None:
    age_last_seen(engine, tenant.id, 10)
    enqueue_raw(engine, tenant.id)
    ticket, company = authenticate(server.url, tenant)[:2]
    assert len(ticket) == 32 and company == ""
    with engine.connect() as conn:
        sessions = conn.execute(
            text("SELECT ticket, state FROM qbwc_sessions WHERE tenant_id = :t"), {"t": tenant.id}
        ).all()
        seen_ago = conn.execute(
            text("SELECT extract(epoch FROM now() - last_seen_at) FROM tenants WHERE id = :t"),
            {"t": tenant.id},
        ).scalar()
    assert [(s.ticket, s.state) for s in sessions] == [(ticket, "open")]
    assert seen_ago < 60


def test_a_second_poll_while_a_session_is_open_takes_it_over(
    server, tenant: TenantCredentials, engine
) -> None:
    """The Web Connector runs one session at a time: a new authenticate means the old one is over."""
    enqueue_raw(engine, tenant.id)
    first = authenticate(server.url, tenant)[0]
    second = authenticate(server.url, tenant)[0]
    assert first and second and first != second
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                text("SELECT ticket, state FROM qbwc_sessions WHERE tenant_id = :t"), {"t": tenant.id}
            ).all()
        )
    assert states == {first: "expired", second: "open"}
