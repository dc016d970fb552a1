"""`status` tells the whole truth: the problem line agrees with everything else it shows (jobs
needing help, a lockout, failing sessions, a cursor without data), as `qbwc-server status`
prints it (admin/status.py, cli/tenant.py)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from tests.conftest import Run, TenantCredentials


def problem_lines(out: str) -> list[str]:
    """The Problem(s) field of `status TENANT`: its first line and any continuation lines."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Problem"))
    found = [lines[start].split(":", 1)[1].strip()]
    found += [line.strip() for line in lines[start + 1 :] if line.startswith(" ")]
    return found


def shown(cli: Run, name: str = "acme") -> str:
    result = cli("status", name)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


def test_a_healthy_tenant_has_no_problem(cli: Run, tenant: TenantCredentials) -> None:
    assert problem_lines(shown(cli)) == ["none"]


def test_jobs_needing_help_are_a_problem_not_none(
    cli: Run, tenant: TenantCredentials, engine: Engine
) -> None:
    with engine.begin() as conn:
        for status in ("failed", "dead", "failed"):
            conn.execute(
                text(
                    "INSERT INTO jobs (tenant_id, kind, status, finished_at, last_message)"
                    " VALUES (:t, 'customers.pull', :s, now(), '3250: not available')"
                ),
                {"t": tenant.id, "s": status},
            )

    out = shown(cli)
    listing = cli("status").stdout

    [problem] = problem_lines(out)
    assert "3 jobs need help" in problem and "qbwc-server jobs list --tenant acme" in problem
    assert "acme: 3 jobs need help" in listing and "NEED HELP" in listing


def test_a_lockout_is_a_problem_and_an_expired_one_is_not_shown(
    cli: Run, tenant: TenantCredentials, engine: Engine
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tenants SET locked_until = now() + interval '1 hour' WHERE id = :t"),
            {"t": tenant.id},
        )
    [problem] = problem_lines(shown(cli))
    assert "locked" in problem and "rotate-password" in problem

    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tenants SET locked_until = now() - interval '1 hour' WHERE id = :t"),
            {"t": tenant.id},
        )
    assert problem_lines(shown(cli)) == ["none"]
    assert "Locked until:   -" in cli("tenant", "show", "acme").stdout


def test_a_failing_last_session_is_a_problem(cli: Run, tenant: TenantCredentials, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO qbwc_sessions (ticket, tenant_id, state, started_at, closed_at, last_error)"
                " VALUES ('a', :t, 'closed', now() - interval '2 hours', now() - interval '2 hours', NULL),"
                " ('b', :t, 'expired', now() - interval '1 hour', now() - interval '50 minutes',"
                " 'This Web Connector session is unknown or has expired.')"
            ),
            {"t": tenant.id},
        )
    [problem] = problem_lines(shown(cli))
    assert "last Web Connector session" in problem and "expired" in problem

    with engine.begin() as conn:  # a later session closed normally: all is well again
        conn.execute(
            text(
                "INSERT INTO qbwc_sessions (ticket, tenant_id, state, started_at, closed_at)"
                " VALUES ('c', :t, 'closed', now() - interval '5 minutes', now())"
            ),
            {"t": tenant.id},
        )
    assert problem_lines(shown(cli)) == ["none"]


def test_a_cursor_without_data_is_a_problem_with_the_refresh_to_run(
    cli: Run, make_tenant: Callable[..., TenantCredentials], engine: Engine
) -> None:
    tenant = make_tenant("acme")
    with engine.begin() as conn:
        for entity in ("customers", "classes"):
            conn.execute(
                text(
                    "INSERT INTO sync_cursors (tenant_id, entity, last_modified, last_completed_at)"
                    " VALUES (:t, :e, now() - interval '1 day', now())"
                ),
                {"t": tenant.id, "e": entity},
            )
        conn.execute(
            text("INSERT INTO classes (tenant_id, name, full_name, qb_list_id) VALUES (:t, 'A', 'A', '1')"),
            {"t": tenant.id},
        )

    [problem] = problem_lines(shown(cli))

    assert problem == (
        "customers: the cursor says synced but the mirror is empty; run `qbwc-server refresh acme customers`"
    )


def test_several_problems_are_each_on_a_line(cli: Run, tenant: TenantCredentials, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE tenants SET locked_until = now() + interval '1 hour',"
                " connection_error = 'Could not start QuickBooks. Open it on the PC.' WHERE id = :t"
            ),
            {"t": tenant.id},
        )
    problems = problem_lines(shown(cli))
    assert len(problems) == 2 and any("Could not start QuickBooks" in p for p in problems)
