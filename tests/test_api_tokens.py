"""API tokens: `tenant token NAME [--revoke]` and `admin-token [--revoke]` issue and revoke them,
only their digest is stored, and the served API takes exactly the live ones."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text

from qbwc_server.admin import tokens
from qbwc_server.models import TokenKind
from qbwc_server.testing import BackgroundServer
from tests.api_http import call
from tests.conftest import Run, TenantCredentials
from tests.console import cli_environment, run_process


def status_with(server: BackgroundServer, token: str, path: str = "/api/v1/jobs/999") -> int:
    return call(server.base_url, "GET", path, token=token).status


def test_tenant_token_prints_the_token_alone_and_stores_its_digest(
    cli: Run, engine: Engine, tenant: TenantCredentials, server: BackgroundServer
) -> None:
    issued = cli("tenant", "token", "acme")
    assert issued.returncode == 0, issued.stderr
    assert issued.stderr == ""
    token = issued.stdout.removesuffix("\n")
    assert "\n" not in token and token.startswith("qbwt_") and len(token) >= 40
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT tenant_id, kind, token_sha256 FROM api_tokens")).all()
        assert (
            conn.execute(
                text("SELECT count(*) FROM api_tokens WHERE position(CAST(:t AS bytea) IN token_sha256) > 0"),
                {"t": token.encode()},
            ).scalar_one()
            == 0
        )
    assert [(r.tenant_id, r.kind, bytes(r.token_sha256)) for r in rows] == [
        (tenant.id, "tenant", hashlib.sha256(token.encode()).digest())
    ]
    assert status_with(server, token) == 404  # authenticated: the job is simply not there
    identity = tokens.authenticate_token(engine, token)
    assert identity is not None and (identity.kind, identity.tenant_name) == (TokenKind.TENANT, "acme")


def test_tokens_accumulate_until_revoked(
    cli: Run, engine: Engine, tenant: TenantCredentials, server: BackgroundServer
) -> None:
    first, second = (cli("tenant", "token", "acme").stdout.strip() for _ in range(2))
    assert first != second
    assert status_with(server, first) == status_with(server, second) == 404  # earlier ones stay valid
    revoked = cli("tenant", "token", "acme", "--revoke")
    assert revoked.returncode == 0
    assert revoked.stdout == ""
    assert revoked.stderr.count("\n") == 1 and "Revoked 2 tokens of 'acme'" in revoked.stderr
    assert status_with(server, first) == status_with(server, second) == 401
    again = cli("tenant", "token", "acme", "--revoke")
    assert again.returncode == 0 and "Revoked 0 tokens" in again.stderr


def test_revoking_one_tenant_leaves_the_others(
    cli: Run, make_tenant: Callable[..., TenantCredentials], server: BackgroundServer, engine: Engine
) -> None:
    make_tenant("acme")
    make_tenant("globex")
    acme = tokens.issue_tenant_token(engine, "acme")
    globex = tokens.issue_tenant_token(engine, "globex")
    admin = tokens.issue_admin_token(engine)
    assert cli("tenant", "token", "acme", "--revoke").returncode == 0
    assert status_with(server, acme) == 401
    assert status_with(server, globex) == 404
    assert status_with(server, admin, "/api/v1/tenants/globex/jobs/999") == 404
    assert call(server.base_url, "GET", "/api/v1/tenants/globex/jobs/999", token=admin).error["message"] == (
        "no job 999"
    )


def test_a_token_for_an_unknown_tenant_is_refused(cli: Run, engine: Engine) -> None:
    result = cli("tenant", "token", "nobody")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("qbwc-server: ") and result.stderr.count("\n") == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 0


def test_admin_token_issue_and_revoke(cli: Run, engine: Engine, server: BackgroundServer) -> None:
    issued = cli("admin-token")
    assert issued.returncode == 0 and issued.stderr == ""
    token = issued.stdout.strip()
    assert issued.stdout == token + "\n" and token.startswith("qbwa_")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT tenant_id, kind, token_sha256 FROM api_tokens")).one()
    assert (row.tenant_id, row.kind) == (None, "admin")
    assert bytes(row.token_sha256) == hashlib.sha256(token.encode()).digest()
    assert status_with(server, token) == 400  # an admin token on a tenant route without /tenants/…
    revoked = cli("admin-token", "--revoke")
    assert revoked.returncode == 0 and revoked.stdout == ""
    assert "Revoked 1 token (admin)" in revoked.stderr
    assert status_with(server, token) == 401


def test_tampered_and_foreign_strings_are_not_tokens(engine: Engine, tenant: TenantCredentials) -> None:
    token = tokens.issue_tenant_token(engine, "acme")
    for candidate in (token[:-1], token + "x", token.upper(), "qbwa_" + token[5:], "", "x" * 10_000):
        assert tokens.authenticate_token(engine, candidate) is None, candidate[:20]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE name = 'acme'"))
    assert tokens.authenticate_token(engine, token) is None  # deleting the tenant deletes its tokens


def test_the_console_script_prints_the_token_alone(
    database_url: str, tmp_path: Path, tenant: TenantCredentials, engine: Engine
) -> None:
    environ = cli_environment(database_url, tmp_path)
    issued = run_process(["tenant", "token", "acme"], environ)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert issued.stdout == token + "\n"
    assert tokens.authenticate_token(engine, token) is not None
    revoked = run_process(["tenant", "token", "acme", "--revoke"], environ)
    assert (revoked.returncode, revoked.stdout) == (0, "")
    assert tokens.authenticate_token(engine, token) is None
