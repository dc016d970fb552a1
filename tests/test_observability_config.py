"""The observability variables (config.py): read and checked where the others are, one line
naming a bad one; what they give gunicorn (its logger class, the metric-directory hooks)."""

from __future__ import annotations

import logging
import os
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from qbwc_server.config import ConfigError, load_settings
from qbwc_server.metrics_server import DIRECTORY_VARIABLE, ServerHooks
from tests.conftest import REPO_ROOT

HOOKS = ("on_starting", "when_ready", "child_exit", "on_exit")


def test_unset_the_server_logs_json_at_info_and_counts_in_a_fresh_directory() -> None:
    settings = load_settings({})
    gunicorn = settings.gunicorn
    assert (gunicorn.log_format, gunicorn.log_level, gunicorn.metrics_bind, gunicorn.metrics_dir) == (
        None,
        None,
        None,
        None,
    )
    assert settings.metrics_tenant_labels is False
    options = gunicorn.options()
    assert options["loglevel"] == "info" and options["logger_class"].__name__ == "GunicornLogger[json]"
    assert all(callable(options[hook]) for hook in (*HOOKS, "post_request"))


def test_the_variables_as_set(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "QBWC_LOG_FORMAT": "Text",
            "QBWC_LOG_LEVEL": "DEBUG",
            "QBWC_METRICS_BIND": "127.0.0.1:9100",
            "QBWC_METRICS_TENANT_LABELS": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
    )
    gunicorn = settings.gunicorn
    assert (gunicorn.log_format, gunicorn.log_level, gunicorn.metrics_bind) == (
        "text",
        "debug",
        "127.0.0.1:9100",
    )
    assert gunicorn.metrics_dir == tmp_path / "metrics" and settings.metrics_tenant_labels is True
    options = gunicorn.options()
    assert options["loglevel"] == "debug" and options["logger_class"].__name__ == "GunicornLogger[text]"


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("QBWC_LOG_FORMAT", "xml", "QBWC_LOG_FORMAT must be one of json, text, got 'xml'"),
        (
            "QBWC_METRICS_BIND",
            "9100",
            "QBWC_METRICS_BIND must be HOST:PORT such as 127.0.0.1:9100, got '9100'",
        ),
        ("QBWC_METRICS_BIND", "localhost:metrics", "QBWC_METRICS_BIND must be HOST:PORT"),
        ("QBWC_METRICS_BIND", "0.0.0.0:70000", "QBWC_METRICS_BIND must be HOST:PORT"),
        ("QBWC_METRICS_BIND", "127.0.0.1:8000", "QBWC_METRICS_BIND must be another address than QBWC_BIND"),
        ("QBWC_METRICS_TENANT_LABELS", "yes", "QBWC_METRICS_TENANT_LABELS must be one of 0, 1, got 'yes'"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_it(name: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        load_settings({name: value})


def test_the_metrics_directory_must_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR must be a directory"):
        load_settings({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "a-file")})


def test_deploy_gunicorn_conf_gives_gunicorn_the_logging_and_the_hooks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QBWC_LOG_FORMAT", "text")
    conf = runpy.run_path(str(REPO_ROOT / "deploy" / "gunicorn.conf.py"))
    assert conf["logger_class"].__name__ == "GunicornLogger[text]" and conf["loglevel"] == "info"
    assert all(callable(conf[hook]) for hook in HOOKS)


def test_the_master_empties_the_directory_at_start_and_drops_a_dead_workers_live_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DIRECTORY_VARIABLE, raising=False)
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_41.db").write_bytes(b"a previous run")
    (directory / "notes.txt").write_text("not ours")
    hooks = ServerHooks(directory, None)
    hooks.on_starting(SimpleNamespace())
    assert os.environ[DIRECTORY_VARIABLE] == str(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]
    (directory / "gauge_livesum_42.db").write_bytes(b"")
    (directory / "counter_42.db").write_bytes(b"")
    hooks.child_exit(SimpleNamespace(), SimpleNamespace(pid=42))
    assert sorted(p.name for p in directory.iterdir()) == ["counter_42.db", "notes.txt"]
    hooks.on_exit(SimpleNamespace())
    assert directory.is_dir(), "a directory the operator chose stays"


def test_without_a_directory_each_start_gets_a_temporary_one_removed_at_exit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DIRECTORY_VARIABLE, raising=False)
    hooks = ServerHooks(None, None)
    hooks.on_starting(SimpleNamespace())
    made = Path(os.environ[DIRECTORY_VARIABLE])
    assert made.is_dir() and made.name.startswith("qbwc-server-metrics-")
    hooks.on_exit(SimpleNamespace())
    assert not made.exists()


def test_the_json_and_text_lines() -> None:
    from qbwc_server.logs import JsonFormatter, TextFormatter

    record = logging.LogRecord(
        "qbwc_server.x", logging.WARNING, __file__, 1, "job %s %s", (7, "failed"), None
    )
    record.__dict__.update(event="job.settled", job=7, kind="orders.push", outcome="failed", status_code=3140)
    line = JsonFormatter().format(record)
    assert line.startswith('{"ts": "') and '"level": "warning", "logger": "qbwc_server.x"' in line
    assert line.endswith(
        '"message": "job 7 failed", "event": "job.settled", "job": 7, "kind": "orders.push",'
        ' "outcome": "failed", "status_code": 3140}'
    )
    text = TextFormatter().format(record)
    assert text.endswith(
        "WARNING qbwc_server.x: job 7 failed [job=7 kind=orders.push outcome=failed status_code=3140]"
    )
