"""Bad input is one line and exit 2, a failure while running one line and exit 1: never a
traceback, never a wall of text (`qbwc-server` in this process, against a real database)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from sqlalchemy import Engine

from qbwc_server.app import create_app
from qbwc_server.config import Settings
from qbwc_server.testing import BackgroundServer
from tests.conftest import Run, TenantCredentials
from tests.test_cli import jobs_in_db, ok, refused


def failed(result: subprocess.CompletedProcess[str], reason: str) -> None:
    """Exit status 1 and one line on stderr that names the reason."""
    assert result.returncode == 1, f"exit {result.returncode}: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line reason, got:\n{result.stderr}"
    assert lines[0].startswith("qbwc-server: ") and reason in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["jobs", "list", "--limit", "99999999999999999999"], "--limit"),
        (["jobs", "list", "--limit", "0"], "--limit"),
        (["jobs", "list", "--limit", "many"], "--limit"),
        (["jobs", "show", "99999999999999999999"], "id"),
        (["jobs", "retry", "0"], "id"),
        (["jobs", "enqueue-raw", "acme", "-", "--priority", "40000"], "--priority"),
        (["jobs", "enqueue-raw", "acme", "-", "--priority", "-1"], "--priority"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--port", "-1"], "--port"),
        (["serve", "--workers", "0"], "--workers"),
        (["qwc", "acme", "--every", "0"], "--every"),
        (["qwc", "acme", "--every", "1441"], "--every"),
        (["tenant", "set", "acme", "--page-size", "99999999999999999999"], "--page-size"),
        (["simulate", "--url", "http://127.0.0.1:1/qbwc", "--user", "x", "--customers", "-5"], "--customers"),
        (["tenant", "frobnicate"], "invalid choice"),
        (["jobs", "list", "--status", "lost"], "--status"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_out_of_range_and_malformed_arguments_are_one_line(
    cli: Run, tenant: TenantCredentials, args: list[str], reason: str
) -> None:
    result = cli(*args)

    refused(result, reason)
    assert len(result.stderr) < 300, "the reason, not a list of every accepted value"
    assert "--help" in result.stderr


def test_nothing_was_queued_for_a_refused_priority(
    cli: Run, tenant: TenantCredentials, engine: Engine
) -> None:
    refused(
        cli("jobs", "enqueue-raw", "acme", "-", "--priority", "40000", stdin="<CustomerQueryRq/>"),
        "--priority",
    )
    assert jobs_in_db(engine) == []


def test_jobs_list_of_an_unknown_tenant_is_refused(cli: Run, tenant: TenantCredentials) -> None:
    refused(cli("jobs", "list", "--tenant", "nosuch"), "no tenant named 'nosuch'")
    assert "No jobs match." in ok(cli("jobs", "list", "--tenant", "acme"))
    assert "No jobs match." in ok(cli("jobs", "list", "--tenant", "acme-qbwc"))  # usernames too


@pytest.mark.parametrize("url", ["garbage", "mysql://qbwc:s3cret@db.example.com/qbwc"])
def test_a_database_url_that_is_not_postgres_is_one_line(url: str, tmp_path: Path) -> None:
    from tests.console import cli_environment, run_in_process

    result = run_in_process(["tenant", "list"], cli_environment(url, tmp_path))

    refused(result, "DATABASE_URL must be a PostgreSQL URL")
    assert "s3cret" not in result.stderr


# -- serve ------------------------------------------------------------------------------------


def test_serve_on_a_port_in_use_says_so_in_one_line_before_gunicorn_starts(cli: Run) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = cli("serve", "--port", str(port))

    failed(result, f"127.0.0.1:{port}")
    assert "in use" in result.stderr
    assert "Web Connector endpoint" not in result.stdout, "no endpoint printed as if it worked"


def test_serve_help_states_the_real_worker_default(cli: Run) -> None:
    shown = " ".join(ok(cli("serve", "--help")).split())
    assert "2 per core" in shown and "cores + 1" not in shown


# -- simulate ---------------------------------------------------------------------------------


def simulate(
    cli: Run, url: str, *extra: str, stdin: str = "secret-password\n"
) -> subprocess.CompletedProcess[str]:
    return cli("simulate", "--url", url, "--user", "acme-qbwc", "--password-stdin", *extra, stdin=stdin)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_simulate_against_nothing_listening_is_one_line(cli: Run) -> None:
    failed(simulate(cli, f"http://127.0.0.1:{free_port()}/qbwc"), "connection refused")


def test_simulate_against_a_name_that_does_not_resolve_is_one_line(cli: Run) -> None:
    failed(simulate(cli, "http://qbwc.example.invalid/qbwc"), "qbwc.example.invalid")


def test_simulate_https_against_a_plain_http_server_is_one_line(cli: Run, server: BackgroundServer) -> None:
    plain = server.url.replace("http://", "https://")

    failed(simulate(cli, plain), "TLS")


@pytest.mark.parametrize("url", ["notaurl", "ftp://127.0.0.1/qbwc", "http://[::1/qbwc", "http:///qbwc"])
def test_simulate_with_a_bad_url_is_refused(cli: Run, url: str) -> None:
    refused(simulate(cli, url), "--url")


def test_simulate_without_a_password_on_a_closed_stdin_is_refused(cli: Run) -> None:
    result = cli("simulate", "--url", "http://127.0.0.1:1/qbwc", "--user", "x", stdin="")
    refused(result, "password")
    refused(simulate(cli, "http://127.0.0.1:1/qbwc", stdin=""), "no password arrived")


def test_simulate_cafile_must_be_a_readable_certificate(cli: Run, tmp_path: Path) -> None:
    refused(simulate(cli, "https://127.0.0.1:1/qbwc", "--cafile", str(tmp_path / "missing.pem")), "--cafile")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    refused(simulate(cli, "https://127.0.0.1:1/qbwc", "--cafile", str(junk)), "--cafile")


@pytest.fixture
def private_ca_server(settings: Settings, engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The app over HTTPS on 127.0.0.1 with a self-signed certificate: (url, certificate)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = make_server("127.0.0.1", 0, create_app(settings, engine), WSGIServer, Quiet)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/qbwc", cert
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_simulate_trusts_a_private_ca_given_with_cafile(
    cli: Run, make_tenant: Callable[..., TenantCredentials], private_ca_server: tuple[str, Path]
) -> None:
    tenant = make_tenant("acme")
    url, cert = private_ca_server

    untrusted = simulate(cli, url, stdin=tenant.password + "\n")
    trusted = simulate(cli, url, "--cafile", str(cert), stdin=tenant.password + "\n")

    failed(untrusted, "--cafile")
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert "authenticate" in trusted.stdout
