"""`qbwc-server …` as an admin runs it, against a real database.

Asserts what a person sees (exit status, stdout, the one-line reason on stderr) and what the
command left in the database. The commands run in this process (tests/console.py); a few smoke
tests at the end run the real console script and `python -m qbwc_server.cli` as processes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from qbwc_server.webconnector.auth import PasswordVerifier
from tests.conftest import Run, TenantCredentials
from tests.console import PUBLIC_URL, cli_environment, run_in_process, run_process

BRACED_GUID = re.compile(r"^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$")
SHOWN_ONCE = re.compile(r"\(shown only this once[^)]*\): (\S+)$", re.MULTILINE)
CUSTOMER_QUERY = '<CustomerQueryRq requestID="1"/>'
FULL_DOCUMENT = (
    '<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
    f'<QBXML><QBXMLMsgsRq onError="stopOnError">{CUSTOMER_QUERY}</QBXMLMsgsRq></QBXML>\n'
)


def run_cli(
    *args: str, database_url: str, data_dir: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`qbwc-server ARGS…` in this process against `database_url`."""
    return run_in_process(list(args), cli_environment(database_url, data_dir), stdin)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess[str], reason: str) -> None:
    """Exit status 2 and one line on stderr that names the reason."""
    assert result.returncode == 2, f"exit {result.returncode}: {result.stdout}{result.stderr}"
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line reason, got:\n{result.stderr}"
    assert lines[0].startswith("qbwc-server: ")
    assert reason in lines[0]


def password_on_file(engine: Engine, name: str) -> tuple[str, str]:
    with engine.connect() as conn:
        kind, stored = conn.execute(
            text("SELECT password_kind, password_hash FROM tenants WHERE name = :n"), {"n": name}
        ).one()
    return kind, stored


def accepts(engine: Engine, name: str, password: str) -> bool:
    return PasswordVerifier(fast_seconds=0).verify(*password_on_file(engine, name), password)


def jobs_in_db(engine: Engine) -> list[tuple[int, str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, kind, status, request_body FROM jobs ORDER BY id")).all()
    return [(row.id, row.kind, row.status, row.request_body) for row in rows]


# -- tenants ----------------------------------------------------------------------------------


def test_tenant_add_prints_the_password_once_and_the_next_step(cli: Run, engine: Engine) -> None:
    out = ok(cli("tenant", "add", "acme", "--username", "acme-qb"))

    match = SHOWN_ONCE.search(out)
    assert match, out
    password = match[1]
    assert len(password) >= 32
    assert "qbwc-server qwc acme" in out
    assert accepts(engine, "acme", password)
    assert password not in ok(cli("tenant", "show", "acme")) + ok(cli("tenant", "list"))


def test_tenant_add_refuses_a_name_or_username_already_taken(cli: Run) -> None:
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))

    again = cli("tenant", "add", "acme", "--username", "acme-qb")
    refused(again, "already exists")
    assert again.stdout == ""
    refused(cli("tenant", "add", "acme2", "--username", "acme-qb"), "username already exists")


def test_admin_chosen_password_must_be_long_enough(cli: Run) -> None:
    refused(
        cli("tenant", "add", "acme", "--username", "acme-qb", "--password-stdin", stdin="short\n"),
        "at least 12",
    )
    refused(cli("tenant", "show", "acme"), "no tenant named 'acme'")
    refused(
        cli("tenant", "add", "acme", "--username", "acme-qb", "--password-stdin", stdin=""),
        "no password arrived",
    )


def test_admin_chosen_password_is_stored_with_argon2id(cli: Run, engine: Engine) -> None:
    chosen = "correct horse battery staple"

    out = ok(cli("tenant", "add", "acme", "--username", "acme-qb", "--password-stdin", stdin=chosen + "\n"))

    assert "shown only this once" not in out
    assert "Password:       admin-chosen (argon2id)" in ok(cli("tenant", "show", "acme"))
    assert accepts(engine, "acme", chosen)
    assert not accepts(engine, "acme", chosen.upper())


def test_tenant_list_shows_every_tenant_with_its_queue(cli: Run) -> None:
    assert "No tenants yet" in ok(cli("tenant", "list"))
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))
    ok(cli("tenant", "add", "globex", "--username", "globex-qb"))

    lines = ok(cli("tenant", "list")).splitlines()

    assert lines[0].split()[:2] == ["NAME", "USERNAME"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["acme", "acme-qb", "never"],
        ["globex", "globex-qb", "never"],
    ]


def test_tenant_show_and_set_company_file(cli: Run) -> None:
    ok(cli("tenant", "add", "acme", "--username", "acme-qb"))
    shown = ok(cli("tenant", "show", "acme-qb"))  # found by username too
    assert "Name:           acme" in shown
    assert "Company file:   (whichever is open in QuickBooks)" in shown
    owner = re.search(r"^OwnerID:\s+(\S+)$", shown, re.MULTILINE)
    assert owner and BRACED_GUID.match(owner[1])

    company_file = r"C:\Users\Public\Documents\Intuit\QuickBooks\Acme Inc.qbw"
    ok(cli("tenant", "set", "acme", "--company-file", company_file))
    assert f"Company file:   {company_file}" in ok(cli("tenant", "show", "acme"))

    ok(cli("tenant", "set", "acme", "--company-file", ""))
    assert "(whichever is open in QuickBooks)" in ok(cli("tenant", "show", "acme"))
    refused(cli("tenant", "set", "acme"), "nothing to change")
    refused(cli("tenant", "show", "nobody"), "no tenant named 'nobody'")


def test_rotate_password_issues_a_new_one_and_the_old_one_stops_working(cli: Run, engine: Engine) -> None:
    match = SHOWN_ONCE.search(ok(cli("tenant", "add", "acme", "--username", "acme-qb")))
    assert match
    old = match[1]

    out = ok(cli("tenant", "rotate-password", "acme"))

    rotated = SHOWN_ONCE.search(out)
    assert rotated, out
    new = rotated[1]
    assert new != old and len(new) >= 32
    assert accepts(engine, "acme", new)
    assert not accepts(engine, "acme", old)
    refused(cli("tenant", "rotate-password", "nobody"), "no tenant named")


# -- .qwc -------------------------------------------------------------------------------------


def qwc_fields(xml: str) -> dict[str, str]:
    root = etree.fromstring(xml.encode())
    assert root.tag == "QBWCXML"
    return {el.tag: (el.text or "") for el in root.iter() if el is not root}


def test_qwc_is_a_complete_web_connector_file(
    cli: Run, make_tenant: Callable[..., TenantCredentials]
) -> None:
    tenant = make_tenant("acme")

    first = qwc_fields(ok(cli("qwc", "acme")))
    second = qwc_fields(ok(cli("qwc", "acme")))

    for tag in (
        "AppName",
        "AppID",
        "AppURL",
        "AppDescription",
        "AppSupport",
        "UserName",
        "OwnerID",
        "FileID",
    ):
        assert tag in first, f"<{tag}> missing"
    assert first["AppURL"] == PUBLIC_URL
    assert urlsplit(first["AppSupport"]).netloc == urlsplit(PUBLIC_URL).netloc
    assert urlsplit(first["AppSupport"]).scheme == "https"
    assert first["UserName"] == tenant.username
    assert BRACED_GUID.match(first["OwnerID"]) and BRACED_GUID.match(first["FileID"])
    assert first["OwnerID"] != first["FileID"]
    assert (first["OwnerID"], first["FileID"]) == (second["OwnerID"], second["FileID"])
    assert first["QBType"] == "QBFS"
    assert first["RunEveryNMinutes"] == "1"
    assert first["IsReadOnly"] == "false"


def test_qwc_url_must_be_https_except_on_localhost(
    cli: Run, make_tenant: Callable[..., TenantCredentials]
) -> None:
    make_tenant("acme")

    refused(cli("qwc", "acme", "--url", "http://remote.example.com/qbwc"), "https://")
    local = qwc_fields(ok(cli("qwc", "acme", "--url", "http://localhost:8000/qbwc", "--every", "15")))
    assert local["AppURL"] == "http://localhost:8000/qbwc"
    assert local["RunEveryNMinutes"] == "15"
    refused(cli("qwc", "nobody"), "no tenant named")


# -- jobs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", [CUSTOMER_QUERY, FULL_DOCUMENT], ids=["bare", "full-document"])
def test_enqueue_raw_queues_the_request(
    cli: Run, engine: Engine, make_tenant: Callable[..., TenantCredentials], tmp_path: Path, document: str
) -> None:
    make_tenant("acme")
    request = tmp_path / "request.xml"
    request.write_text(document, encoding="utf-8")

    out = ok(cli("jobs", "enqueue-raw", "acme", str(request)))

    [(job_id, kind, status, body)] = jobs_in_db(engine)
    assert f"Queued job {job_id}" in out
    assert (kind, status, body) == ("qbxml.raw", "queued", CUSTOMER_QUERY)


def test_enqueue_raw_reads_standard_input(
    cli: Run, engine: Engine, make_tenant: Callable[..., TenantCredentials]
) -> None:
    make_tenant("acme")

    ok(cli("jobs", "enqueue-raw", "acme", "-", stdin=CUSTOMER_QUERY))

    assert [row[3] for row in jobs_in_db(engine)] == [CUSTOMER_QUERY]


def test_enqueue_raw_refuses_bad_input(
    cli: Run, engine: Engine, make_tenant: Callable[..., TenantCredentials], tmp_path: Path
) -> None:
    make_tenant("acme")
    good, malformed, not_a_request = tmp_path / "good.xml", tmp_path / "bad.xml", tmp_path / "rs.xml"
    good.write_text(CUSTOMER_QUERY)
    malformed.write_text("<CustomerQueryRq>")
    not_a_request.write_text("<CustomerQueryRs/>")

    refused(cli("jobs", "enqueue-raw", "acme", str(malformed)), "not well-formed XML")
    refused(cli("jobs", "enqueue-raw", "acme", str(not_a_request)), "expected qbXML request elements")
    refused(cli("jobs", "enqueue-raw", "nobody", str(good)), "no tenant named 'nobody'")
    refused(cli("jobs", "enqueue-raw", "acme", str(tmp_path / "missing.xml")), "cannot read")
    assert jobs_in_db(engine) == []


def test_enqueue_raw_accepts_a_file_saved_with_a_utf8_bom(
    cli: Run, engine: Engine, make_tenant: Callable[..., TenantCredentials], tmp_path: Path
) -> None:
    make_tenant("acme")
    request = tmp_path / "notepad.xml"
    request.write_text(FULL_DOCUMENT, encoding="utf-8-sig")  # what Windows Notepad often saves

    result = cli("jobs", "enqueue-raw", "acme", str(request))

    assert result.returncode == 0, (
        "Regression (qbwc_server/cli/jobs.py cmd_enqueue_raw): a well-formed qbXML file that starts with a"
        " UTF-8 byte-order mark is refused, because the file is read with encoding='utf-8' (the BOM"
        " stays as U+FEFF, so request_messages no longer sees the XML declaration at the start)."
        f" It should be read with 'utf-8-sig'. stderr: {result.stderr.strip()}"
    )
    assert [row[3] for row in jobs_in_db(engine)] == [CUSTOMER_QUERY]


def test_jobs_list_show_retry_and_cancel(
    cli: Run, engine: Engine, make_tenant: Callable[..., TenantCredentials], tmp_path: Path
) -> None:
    make_tenant("acme")
    request = tmp_path / "request.xml"
    request.write_text(CUSTOMER_QUERY)
    ok(cli("jobs", "enqueue-raw", "acme", str(request)))
    [(job_id, *_)] = jobs_in_db(engine)

    listing = ok(cli("jobs", "list")).splitlines()
    assert listing[1].split()[:4] == [str(job_id), "acme", "qbxml.raw", "queued"]
    shown = ok(cli("jobs", "show", str(job_id)))
    assert "Status:       queued" in shown
    assert CUSTOMER_QUERY in shown
    refused(cli("jobs", "show", "999999"), "no job 999999")

    refused(cli("jobs", "retry", str(job_id)), "not failed, dead or blocked")
    assert f"Job {job_id} cancelled." in ok(cli("jobs", "cancel", str(job_id)))
    assert jobs_in_db(engine)[0][2] == "dead"
    assert ok(cli("jobs", "list", "--status", "queued")).strip() == "No jobs match."
    refused(cli("jobs", "cancel", str(job_id)), "already finished")
    ok(cli("jobs", "retry", str(job_id)))
    assert jobs_in_db(engine)[0][2] == "queued"


def test_status_shows_all_tenants_or_one(cli: Run, make_tenant: Callable[..., TenantCredentials]) -> None:
    make_tenant("acme")
    make_tenant("globex")

    overview = ok(cli("status"))
    assert "acme" in overview and "globex" in overview
    one = ok(cli("status", "globex"))
    assert one.startswith("globex: never_connected\n") and "acme" not in one
    refused(cli("status", "nobody"), "no tenant named")


# -- help and configuration -------------------------------------------------------------------

COMMANDS = [
    [],
    ["serve"],
    ["demo"],
    ["tenant"],
    ["tenant", "add"],
    ["tenant", "list"],
    ["tenant", "show"],
    ["tenant", "set"],
    ["tenant", "rotate-password"],
    ["tenant", "disable"],
    ["tenant", "enable"],
    ["tenant", "delete"],
    ["reps", "unmap"],
    ["qwc"],
    ["status"],
    ["jobs"],
    ["jobs", "enqueue-raw"],
    ["jobs", "list"],
    ["jobs", "show"],
    ["jobs", "retry"],
    ["jobs", "cancel"],
    ["simulate"],
    ["db"],
    ["db", "url"],
    ["db", "upgrade"],
    ["db", "stop"],
    ["refresh"],
    ["pulls"],
    ["reps"],
    ["reps", "map"],
    ["reps", "list"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "qbwc-server")
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/nothing"  # --help must not need the database

    result = run_cli(*command, "--help", database_url=unreachable, data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: qbwc-server {' '.join(command)}".rstrip())


def test_missing_database_is_a_one_line_error(database_url: str, tmp_path: Path) -> None:
    missing = make_url(database_url).set(database="qbwc_no_such_database")

    result = run_cli(
        "tenant", "list", database_url=missing.render_as_string(hide_password=False), data_dir=tmp_path
    )

    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "cannot connect to the database" in result.stderr
    assert "qbwc_no_such_database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, (
        "Regression (qbwc_server/cli/common.py open_engine): the reason is built from str(exc) of"
        " SQLAlchemy's OperationalError, which spans several lines (the driver's message, a blank line and"
        " '(Background on this error at: https://sqlalche.me/...)'); every command should exit 2"
        " with ONE line, e.g. from the first line of exc.orig. Got:\n" + result.stderr
    )


def test_database_without_the_schema_says_to_migrate(
    fresh_database: Callable[..., str], tmp_path: Path
) -> None:
    result = run_cli("tenant", "list", database_url=fresh_database(None), data_dir=tmp_path)

    refused(result, "run `alembic upgrade head` first")


# -- as a separate process: the console script and `python -m qbwc_server.cli` ----------------


def test_the_console_script_answers_help_without_a_database(tmp_path: Path) -> None:
    script = shutil.which("qbwc-server", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the qbwc-server console script is not installed beside this Python")
    unreachable = "postgresql://postgres@127.0.0.1:1/nothing"

    result = run_process(["--help"], cli_environment(unreachable, tmp_path), command=[script])

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: qbwc-server")


def test_as_a_process_tenant_add_then_status(database_url: str, tmp_path: Path) -> None:
    environ = cli_environment(database_url, tmp_path)

    added = run_process(["tenant", "add", "acme", "--username", "acme-qb"], environ)
    status = run_process(["status"], environ)

    assert SHOWN_ONCE.search(ok(added))
    assert ok(status).splitlines()[1].split()[:3] == ["acme", "never_connected", "never"]


def test_as_a_process_bad_input_is_one_line_and_exit_2(database_url: str, tmp_path: Path) -> None:
    environ = cli_environment(database_url, tmp_path)

    refused(run_process(["tenant", "show", "nobody"], environ), "no tenant named 'nobody'")
    refused(
        run_process(["serve"], {**environ, "QBWC_WORKERS": "abc"}),
        "QBWC_WORKERS must be a whole number, got 'abc'",
    )
