"""The wheel, as `pip install .` builds it: every package and the migrations inside it.

The migrations live at the repository's top level and ship as `qbwc_server.migrations`
(pyproject's package-dir), so an installed release can still run `qbwc-server db upgrade`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SOURCES = ("pyproject.toml", "README.md", "qbwc_server", "migrations")


def test_the_wheel_ships_every_package_and_the_migrations(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: the build writes build/ and *.egg-info beside its sources
    for name in SOURCES:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(REPO_ROOT / name, source / name)

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "-w", str(tmp_path), "--no-deps", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )

    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("qbwc_server-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(init.relative_to(REPO_ROOT)) for init in (REPO_ROOT / "qbwc_server").rglob("__init__.py")}
    assert packages <= shipped, f"packages missing from pyproject's list: {sorted(packages - shipped)}"
    migrations = {
        "qbwc_server/" + str(path.relative_to(REPO_ROOT))
        for pattern in ("*.py", "versions/*.py", "script.py.mako")
        for path in (REPO_ROOT / "migrations").glob(pattern)
    }
    assert "qbwc_server/migrations/env.py" in migrations
    assert migrations <= shipped, sorted(migrations - shipped)
    assert {
        "qbwc_server/py.typed",
        "qbwc_server/simulator/canned/HostQueryRs.xml",
        "qbwc_server/api/templates/tenant.html",  # the status page's templates (package data)
    } <= shipped
