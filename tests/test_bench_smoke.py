"""Every benchmark still runs to its table. Each is started as the README starts it, on
tiny sizes and a database of its own, and must exit 0 and print its table: a schema
change once left bench/events.py crashing on its seed before it printed anything, and
nothing noticed until the next time somebody measured. These runs measure nothing."""

import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

# Each bench's arguments, as a shell would take them, and a word of its table.
BENCHES = {
    "webhook": ('--seconds 1 --rate 20 --connections 2 --servers "gunicorn (2x4) + queue"', "CPU"),
    "events": ("--agents 3 --customers 6 --rates 20 --seconds 1 --setups queue", "p99"),
    "worker": ("--updates 20 --batches 1,10", "CPU ms/update"),
    "rooms": ("--rooms 40 --messages 400 --requests 3", "p95"),
    "import_leads": ("--sizes 50", "rows/s"),
    "campaign": ("--recipients 30 --rate 30 --ceiling 30 --concurrency 4", "sends/s"),
}


def _drop_databases(prefix: str) -> None:
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        names = c.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"]
        ).fetchall()
        for (name,) in names:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _shell_env() -> dict:
    """As a user's shell starts a bench: none of the test settings' environment."""
    return {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}


@pytest.fixture(scope="module")
def migrated_template():
    """One database migrated by the benches' own fresh_database(), which each run then
    copies (BENCH_TEMPLATE_DB) instead of migrating its own: six migrations were a fifth
    of these runs' time."""
    database = f"bench_smoke_template_{uuid.uuid4().hex[:8]}"
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import bench.webhook; bench.webhook.fresh_database()"],
            cwd=ROOT,
            env={**_shell_env(), "BENCH_DB": database},
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        yield database
    finally:
        _drop_databases(database)


@pytest.mark.postgresql_only(reason="the benchmarks measure the production profile")
@pytest.mark.parametrize("bench", sorted(BENCHES))
def test_the_benchmark_runs_to_its_table(bench, migrated_template):
    args, table_word = BENCHES[bench]
    database = f"bench_smoke_{uuid.uuid4().hex[:8]}"
    env = {**_shell_env(), "BENCH_DB": database, "BENCH_TEMPLATE_DB": migrated_template}
    try:
        done = subprocess.run(
            [sys.executable, f"bench/{bench}.py", *shlex.split(args)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        _drop_databases(database)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert table_word in done.stdout, output[-3000:]
    assert "Peak memory" in done.stdout or "peak" in done.stdout.lower(), output[-3000:]
