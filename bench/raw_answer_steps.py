"""Memory of each step a raw job's answer goes through, the old way and this way (not a test).

In-process: for an answer text of `--customers` customers (bench/sessions.py's CustomerRet), the
peak resident memory (VmHWM, reset before each step) above the RSS before it, of reading the
`*Rs` statuses (a whole tree, or raw.read_statuses) and of keeping the answer on a job (the text
quoted into an UPDATE, or queue.stored.compress and the gzip bound as bytes), in a temporary table.

    python bench/raw_answer_steps.py                     # 55,000 customers: a 73 MB answer
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg2
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sessions import customer_response  # noqa: E402

from qbwc_server.config import load_settings  # noqa: E402
from qbwc_server.db import resolve_database_url  # noqa: E402
from qbwc_server.qbxml.core import ResponseStatus, parse_xml, response_messages  # noqa: E402
from qbwc_server.queue.stored import compress  # noqa: E402
from qbwc_server.sync.raw import read_statuses  # noqa: E402
from qbwc_server.webconnector.memory import trim  # noqa: E402


def _status(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def step(name: str, work: Callable[[], object]) -> object:
    """Run `work`; print its peak above the RSS before it, in MB."""
    gc.collect()
    trim()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM := VmRSS
    before = _status("VmRSS:")
    result = work()
    print(f"  {name:58} peak +{max(0.0, _status('VmHWM:') - before):5.0f} MB", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=55_000)
    args = parser.parse_args()
    answer = customer_response(args.customers)
    print(f"answer text: {len(answer) / 1e6:.1f} MB")
    url = make_url(resolve_database_url(load_settings())).set(drivername="postgresql")
    conn = psycopg2.connect(url.render_as_string(hide_password=False))
    try:
        cursor = conn.cursor()
        cursor.execute("CREATE TEMP TABLE answers (id int, response_xml text, response_gz bytea)")
        cursor.execute("INSERT INTO answers VALUES (1)")
        print("the old way:")
        step(
            "statuses: response_messages(parse_xml(text))",
            lambda: [ResponseStatus.from_element(m) for m in response_messages(parse_xml(answer))],
        )
        step(
            "kept: UPDATE ... response_xml = %s (the text)",
            lambda: cursor.execute("UPDATE answers SET response_xml = %s WHERE id = 1", (answer,)),
        )
        print("this way:")
        step("statuses: raw.read_statuses(text)", lambda: read_statuses(answer))
        gz = step("kept: queue.stored.compress(text)", lambda: compress(answer))
        assert isinstance(gz, bytes)
        step(
            f"kept: UPDATE ... response_gz = %s ({len(gz) / 1e6:.1f} MB of bytes)",
            lambda: cursor.execute("UPDATE answers SET response_gz = %s WHERE id = 1", (gz,)),
        )
    finally:
        conn.rollback()
        conn.close()


if __name__ == "__main__":
    main()
