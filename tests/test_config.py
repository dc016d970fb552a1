"""config.py: the environment's settings (gunicorn's included) and a tenant's, checked where they
are read, so a bad value is one line naming it."""

from __future__ import annotations

import runpy

import pytest

from qbwc_server.config import (
    MAX_PULL_INTERVAL_SECONDS,
    ConfigError,
    TenantSettings,
    TenantSettingsError,
    load_settings,
)
from tests.conftest import REPO_ROOT


def test_gunicorn_settings_come_from_the_environment_with_their_defaults() -> None:
    default = load_settings({}).gunicorn
    assert (default.bind, default.threads, default.timeout, default.control_socket) == (
        "127.0.0.1:8000",
        2,
        300,
        None,
    )
    options = load_settings(
        {"QBWC_BIND": "0.0.0.0:9000", "QBWC_WORKERS": "3", "QBWC_LOG_LEVEL": "WARNING"}
    ).gunicorn.options()
    assert options["bind"] == "0.0.0.0:9000" and options["workers"] == 3 and options["loglevel"] == "warning"
    assert options["worker_class"] == "qbwc_server.http_worker.LingeringThreadWorker"
    assert options["control_socket_disable"] is True
    socket = load_settings({"QBWC_CONTROL_SOCKET": "/run/qbwc/gunicorn.ctl"}).gunicorn.options()
    assert socket["control_socket"] == "/run/qbwc/gunicorn.ctl" and socket["control_socket_disable"] is False


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("QBWC_WORKERS", "abc", "QBWC_WORKERS must be a whole number, got 'abc'"),
        ("QBWC_THREADS", "0", "QBWC_THREADS must be at least 1, got 0"),
        ("QBWC_KEEPALIVE", "2.5", "QBWC_KEEPALIVE must be a whole number"),
        ("QBWC_LOG_LEVEL", "loud", "QBWC_LOG_LEVEL must be one of debug, info, warning, error, critical"),
    ],
)
def test_a_bad_gunicorn_setting_is_a_config_error_naming_it(name: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        load_settings({name: value})


def test_deploy_gunicorn_conf_gives_gunicorn_our_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = REPO_ROOT / "deploy" / "gunicorn.conf.py"
    monkeypatch.setenv("QBWC_WORKERS", "7")

    assert runpy.run_path(str(conf))["workers"] == 7

    monkeypatch.setenv("QBWC_WORKERS", "many")
    with pytest.raises(SystemExit, match=r"^qbwc-server: QBWC_WORKERS must be a whole number, got 'many'$"):
        runpy.run_path(str(conf))


def test_tenant_settings_read_and_write_the_same_jsonb_keeping_what_they_do_not_know() -> None:
    stored = {"pull_intervals": {"default": 0, "invoices": 120}, "pull_page_size": 50, "live_window": 30}

    settings = TenantSettings.from_json(stored)

    assert settings.pull_interval("invoices") == 120 and settings.pull_interval("customers") == 0
    assert settings.pull_page_size == 50 and settings.to_json() == stored
    assert TenantSettings.from_json(None) == TenantSettings() and TenantSettings().to_json() == {}
    assert TenantSettings().pull_interval("customers") is None
    changed = settings.with_pulls(intervals={"customers": 900})
    assert dict(changed.pull_intervals) == {"default": 0, "invoices": 120, "customers": 900}
    assert changed.pull_page_size == 50 and settings.pull_interval("customers") == 0, "a copy, not a change"


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ({"pull_intervals": {"customers": -1}}, "customers: an interval cannot be negative"),
        ({"pull_intervals": {"default": MAX_PULL_INTERVAL_SECONDS + 1}}, "cannot exceed 31 days"),
        ({"pull_intervals": {"customers": "15m"}}, "whole number of seconds"),
        ({"pull_intervals": {"customers": True}}, "whole number of seconds"),
        ({"pull_intervals": [900]}, "pull_intervals must map entities to seconds"),
        ({"pull_page_size": 0}, "the page size must be between 1 and 10000 records"),
        ({"pull_page_size": 10_001}, "the page size must be between 1 and 10000 records"),
    ],
)
def test_tenant_settings_out_of_bounds_are_refused(stored: dict[str, object], reason: str) -> None:
    with pytest.raises(TenantSettingsError, match=reason):
        TenantSettings.from_json(stored)


def test_stored_settings_out_of_bounds_are_ignored_with_the_reason_never_raised() -> None:
    """A bad value already in the jsonb (an older release, a hand edit) must not stop the tenant:
    authenticate reads the settings, and a raise there is an Internal Error on every poll."""
    stored = {
        "pull_intervals": {"invoices": 10**30, "customers": 900, "classes": "often", "terms": -5},
        "pull_page_size": 10**25,
        "live_window": 30,
    }

    settings = TenantSettings.from_stored(stored)

    assert dict(settings.pull_intervals) == {"customers": 900}
    assert settings.pull_page_size is None and settings.other == {"live_window": 30}
    assert len(settings.ignored) == 4
    assert any(reason.startswith("invoices: ") and "31 days" in reason for reason in settings.ignored)
    assert any("page size" in reason for reason in settings.ignored)
    for garbage in ([1, 2], "x", 7, {"pull_intervals": [900]}, {"pull_intervals": {"default": None}}):
        assert TenantSettings.from_stored(garbage).pull_intervals == {}, garbage
        assert TenantSettings.from_stored(garbage).ignored, garbage
    with pytest.raises(TenantSettingsError, match="cannot exceed 31 days"):
        TenantSettings.from_json(stored)  # strict where a person is changing them


def test_the_disabled_flag_lives_in_the_settings_and_survives_a_change() -> None:
    stored = {"disabled_at": "2026-01-02T03:04:05+00:00", "pull_intervals": {"invoices": 120}}

    settings = TenantSettings.from_stored(stored)

    assert settings.disabled_at == "2026-01-02T03:04:05+00:00"
    assert settings.with_pulls(page_size=50).to_json()["disabled_at"] == stored["disabled_at"]
    assert TenantSettings.from_stored({"disabled_at": None}).disabled_at is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("garbage", "DATABASE_URL must be a PostgreSQL URL"),
        ("mysql://qbwc:s3cret@db.example.com/qbwc", "DATABASE_URL must be a PostgreSQL URL"),
        ("postgresql+asyncpg://u@h/db", "DATABASE_URL must be a PostgreSQL URL"),
        ("postgresql://u@h:99999/db", "DATABASE_URL"),
    ],
)
def test_a_database_url_that_is_not_postgres_is_one_line_naming_it(url: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason) as caught:
        load_settings({"DATABASE_URL": url})
    assert "s3cret" not in str(caught.value), "never echo a password"
    assert "\n" not in str(caught.value)


def test_postgres_urls_are_accepted_and_pinned_to_psycopg2() -> None:
    for url in ("postgres://u:p@h/db", "postgresql://u@h:5432/db", "postgresql+psycopg2://u@/db?host=/tmp"):
        assert (load_settings({"DATABASE_URL": url}).database_url or "").startswith("postgresql+psycopg2://")


def test_a_transaction_pooler_and_a_direct_url_for_migrations_are_settings() -> None:
    assert not load_settings({}).db_pooled and load_settings({}).migrations_database_url is None
    direct = "postgresql://qbwc@db.internal:5432/qbwc"
    settings = load_settings({"QBWC_DB_POOLER": "Transaction", "QBWC_MIGRATIONS_DATABASE_URL": direct})
    assert settings.db_pooled
    assert settings.migrations_database_url == "postgresql+psycopg2://qbwc@db.internal:5432/qbwc"
    with pytest.raises(ConfigError, match="QBWC_DB_POOLER must be one of none, transaction, got 'session'"):
        load_settings({"QBWC_DB_POOLER": "session"})
    with pytest.raises(ConfigError, match="QBWC_MIGRATIONS_DATABASE_URL must be a PostgreSQL URL"):
        load_settings({"QBWC_MIGRATIONS_DATABASE_URL": "mysql://x@y/z"})
