"""Running `qbwc-server …` from the tests: in this process (fast: what most tests use) or as a
separate process (the real console script, for a few smoke tests).

Both return a `subprocess.CompletedProcess` with the exit status, stdout and stderr, so a test's
assertions read the same either way. In this process, an exception that escapes `main` is
printed as a traceback with exit status 1, as Python would do in a separate one.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import traceback
from collections.abc import Mapping
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from qbwc_server.cli import main

PUBLIC_URL = "https://qbwc.example.com/qbwc"


def cli_environment(database_url: str, data_dir: Path) -> dict[str, str]:
    """What a command's settings come from: the test's database, data dir and public URL."""
    return {"DATABASE_URL": database_url, "QBWC_PUBLIC_URL": PUBLIC_URL, "QBWC_DATA_DIR": str(data_dir)}


def run_in_process(
    args: list[str], environ: Mapping[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`main(args)` with `environ` as its environment (os.environ is never read), stdin fed from
    `stdin`, stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    saved_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                status = main(args, environ)
            except SystemExit as exc:  # argparse: --help, usage errors
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
                status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception:
                traceback.print_exc()
                status = 1
    finally:
        sys.stdin = saved_stdin
    return subprocess.CompletedProcess(["qbwc-server", *args], status, out.getvalue(), err.getvalue())


def run_process(
    args: list[str],
    environ: Mapping[str, str],
    stdin: str = "",
    *,
    command: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The command in a separate process (`python -m qbwc_server.cli` unless `command` is given),
    with this process's environment less its DATABASE_URL and QBWC_* settings, plus `environ`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "QBWC_"))}
    return subprocess.run(
        [*(command or [sys.executable, "-m", "qbwc_server.cli"]), *args],
        input=stdin,
        env=env | dict(environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
