"""Webhook ack benchmark: signed text-message webhooks against the production profile
(PostgreSQL + Redis), for both serving set-ups of DESIGN.md ("daphne alone" and
"gunicorn for HTTP"), next to a bare view doing one INSERT on the same server.

    .venv/bin/python bench/webhook.py [--seconds 10] [--rate 200]

Prints a table: ack latency p50/p99 at a fixed rate (open loop, latency counted from
each request's scheduled time) and the sustained rate with 32 connections (closed loop).
The load generator shares the machine's two cores with the server: read ratios.
"""

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import (  # noqa: E402
    closed_loop,
    closed_loop_wrk,
    cpu_per_update,
    cpu_seconds,
    meta_envelope,
    open_loop,
    peak_rss,
    print_peak_rss,
    signed,
    used_roles,
)

SECRET = "bench-app-secret"
# The closed loop runs on wrk when it is installed (apt install wrk): the Python client
# would take a fifth of the machine's CPU away from the server it measures.
USE_WRK = shutil.which("wrk") is not None
# BENCH_DB: a database of your own when several checkouts share one PostgreSQL.
DB = os.environ.get("BENCH_DB", "boztell_bench")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env():
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CHANNEL_LAYER_PREFIX": "boztell-bench",
        "SECRET_KEY": "bench-secret-key-" + "z" * 40,
        "DEBUG": "false",
        # Plain HTTP on loopback: no TLS proxy in front of the measured server.
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WHATSAPP_APP_SECRET": SECRET,
        "ROOT_URLCONF": "bench.urls",
        "LOG_DIR": str(ROOT / "bench" / "results"),
        "DJANGO_SETTINGS_MODULE": "boztell.settings",
        "PYTHONPATH": str(ROOT),
    }


def fresh_database():
    """Drop and recreate the bench database, migrated: a copy of BENCH_TEMPLATE_DB when it
    names a migrated database (tests/test_bench_smoke.py migrates one for all its runs)."""
    print("==> fresh database", DB, flush=True)
    template = os.environ.get("BENCH_TEMPLATE_DB")
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB}" + (f" TEMPLATE {template}" if template else ""))
    if template:
        return
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=base_env(),
        check=True,
    )


def prepare_database():
    fresh_database()
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}", autocommit=True) as c:
        c.execute("CREATE TABLE bench_insert (id uuid PRIMARY KEY, body text)")


SERVERS = {
    "daphne alone": (
        lambda port: [
            str(ROOT / ".venv/bin/daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "boztell.asgi:application",
        ],
        {},
    ),
}
SERVERS["daphne alone + queue"] = (SERVERS["daphne alone"][0], {"WEBHOOK_QUEUE": "true"})


def gunicorn_command(port, *extra):
    return [
        str(ROOT / ".venv/bin/gunicorn"),
        "boztell.wsgi",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        *extra,
    ]


PERSISTENT = {"DATABASE_POOL": "false", "CONN_MAX_AGE": "60"}
# Sync workers close the connection after every response; gthread keeps it alive.
SERVERS["gunicorn (2 sync workers)"] = (gunicorn_command, PERSISTENT)
# The heartbeat file on tmpfs, as gunicorn's docs advise: touched on every request.
GTHREAD = ("-k", "gthread", "--threads", "4", "--worker-tmp-dir", "/dev/shm")  # noqa: S108
SERVERS["gunicorn (2x4 gthread)"] = (lambda port: gunicorn_command(port, *GTHREAD), PERSISTENT)
# The throughput set-up: the view keeps the verified body, webhook_worker stores messages.
SERVERS["gunicorn (2x4) + queue"] = (
    lambda port: gunicorn_command(port, *GTHREAD),
    {**PERSISTENT, "WEBHOOK_QUEUE": "true"},
)


def granian_command(port, *extra):
    return [
        str(ROOT / ".venv/bin/granian"),
        "--interface",
        "wsgi",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        *extra,
        "boztell.wsgi:application",
    ]


# For comparison, when installed (pip install -e .[granian]): granian, a Rust HTTP server,
# serving the same WSGI app with 2 workers of 2 threads.
if (ROOT / ".venv/bin/granian").exists():
    SERVERS["granian (2x2 wsgi) + queue"] = (
        lambda port: granian_command(port, "--blocking-threads", "2"),
        {**PERSISTENT, "WEBHOOK_QUEUE": "true"},
    )


def spawn(command: list[str], env: dict) -> subprocess.Popen:
    """A server process of the app, quiet, from the checkout."""
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop_all(procs: list[subprocess.Popen]) -> None:
    """Stop the servers; one still busy with a backlog after 10 s is killed (the tests'
    stop_all, with a bench's patience)."""
    from tests.helpers import stop_all as stop_processes

    stop_processes(procs, timeout=10)


WORKER = [sys.executable, "manage.py", "webhook_worker"]


def start_server(name):
    command, extra = SERVERS[name]
    port = free_port()
    env = {**base_env(), **extra}
    procs = [spawn(command(port), env)]
    if extra.get("WEBHOOK_QUEUE") == "true":
        procs.append(spawn(WORKER, env))
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return procs, port
        except OSError:
            time.sleep(0.2)
    for proc in procs:
        proc.kill()
    raise SystemExit(f"{name} did not start")


def drained(timeout=300.0) -> float:
    """Wait until the webhook queue is empty; return when (perf_counter)."""
    deadline = time.perf_counter() + timeout
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}", autocommit=True) as c:
        while time.perf_counter() < deadline:
            if c.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0] == 0:
                return time.perf_counter()
            time.sleep(0.02)
    raise SystemExit("the webhook queue did not drain")


def stored(tag: str) -> int:
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}", autocommit=True) as c:
        return c.execute(
            "SELECT count(*) FROM messages WHERE wa_message_id LIKE %s", [f"wamid.BENCH-{tag}-%"]
        ).fetchone()[0]


def webhook_maker(tag, count, customers=500):
    bodies = []
    for i in range(count):
        wa_id = f"62819{i % customers:07d}"
        body = meta_envelope(
            {
                "contacts": [{"profile": {"name": f"Bench {i % customers}"}, "wa_id": wa_id}],
                "messages": [
                    {
                        "from": wa_id,
                        "id": f"wamid.BENCH-{tag}-{i}",
                        "timestamp": str(int(time.time())),
                        "type": "text",
                        "text": {"body": f"bench message {i}"},
                    }
                ],
            }
        )
        raw, sig = signed(body, SECRET)
        bodies.append(
            (
                "/webhooks/whatsapp",
                raw,
                {"Content-Type": "application/json", "X-Hub-Signature-256": sig},
            )
        )
    return lambda i: bodies[i % len(bodies)]


def bare_maker():
    raw = b'{"hello": "bench"}'
    return lambda i: ("/bench/insert", raw, {"Content-Type": "application/json"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default=",".join(SERVERS))
    args = parser.parse_args()
    prepare_database()
    rows, memory = [], []
    for name in args.servers.split(","):
        print(f"==> {name}", flush=True)
        procs, port = start_server(name)
        try:
            tag = f"{int(time.time())}-{port}"
            n_open = int(args.rate * args.seconds)
            # warm up: rooms for every customer exist, connections open
            asyncio.run(closed_loop("127.0.0.1", port, webhook_maker(f"w{tag}", 500), 2, 8))
            drained()
            results = {}
            for label, make in (
                ("webhook", webhook_maker(f"o{tag}", n_open)),
                ("bare INSERT", bare_maker()),
            ):
                print(f"    {label}: {args.rate:.0f}/s for {args.seconds:.0f}s", flush=True)
                lat = asyncio.run(open_loop("127.0.0.1", port, make, args.rate, args.seconds))
                drained()
                print(f"    {label}: closed loop, {args.connections} connections", flush=True)
                # distinct messages, more than can be sent: a repeat would be a duplicate
                distinct = max(40000, int(args.seconds * 3000))
                big = webhook_maker(f"c{tag}", distinct) if label == "webhook" else make
                cpu_before = cpu_seconds()
                start = time.perf_counter()
                if USE_WRK:
                    thr = closed_loop_wrk(
                        "127.0.0.1", port, big, args.seconds, args.connections, distinct
                    )
                else:
                    thr = asyncio.run(
                        closed_loop("127.0.0.1", port, big, args.seconds, args.connections)
                    )
                # Stored, not only answered: in the queued set-up the worker may still be busy.
                thr["processed"] = thr["done"] / (drained() - start)
                thr["cpu"] = cpu_per_update(cpu_before, cpu_seconds(), thr["done"])
                if label == "webhook":
                    acked = lat["sent"] - lat["errors"] + thr["done"] - thr["errors"]
                    kept = stored(f"o{tag}") + stored(f"c{tag}")
                    # Requests in flight when the loop stops are stored but not counted
                    # as answered by wrk: at most one per connection.
                    print(
                        f"    answered 200: {acked}, messages stored: {kept} "
                        f"(in flight at the stop: up to {args.connections})",
                        flush=True,
                    )
                results[label] = (lat, thr)
            for label, (lat, thr) in results.items():
                rows.append((name, label, lat, thr))
            memory.append((name, peak_rss()))
        finally:
            stop_all(procs)
    print()
    header = (
        f"{'server':<27} {'endpoint':<12} {'rate/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'err':>4} | {'answered/s':>10} {'p99 ms':>7} {'err':>4} {'stored/s':>9} "
        f"{'vs bare':>8}"
    )
    print(header)
    print("-" * len(header))
    bare = {n: thr["rps"] for n, label, _, thr in rows if label == "bare INSERT"}
    for name, label, lat, thr in rows:
        ratio = thr["processed"] / bare[name] if bare.get(name) else float("nan")
        print(
            f"{name:<27} {label:<12} {lat['achieved']:>7.0f} {lat['p50']:>7.1f} "
            f"{lat['p99']:>7.1f} {lat['errors']:>4} | {thr['rps']:>10.0f} "
            f"{thr['p99']:>7.1f} {thr['errors']:>4} {thr['processed']:>9.0f} {ratio:>8.2f}"
        )
    roles = used_roles([thr["cpu"] for *_, thr in rows])
    print("\nCPU ms per request in the closed loop, by process (until stored):")
    print(f"{'server':<27} {'endpoint':<12} " + " ".join(f"{r:>14}" for r in roles) + "   total")
    for name, label, _, thr in rows:
        cells = " ".join(f"{thr['cpu'][r]:>14.3f}" for r in roles)
        print(f"{name:<27} {label:<12} {cells} {sum(thr['cpu'].values()):>7.3f}")
    print_peak_rss(memory)
    print(
        f"\nclosed loop on {'wrk' if USE_WRK else 'the Python client (apt install wrk)'}; "
        "answered/s: 200s per second with 32 connections; stored/s: messages stored per "
        "second over the same run, until the last one is stored (the queued set-up answers "
        "first); vs bare: stored/s over the bare one-INSERT view's rate on the same server."
    )


if __name__ == "__main__":
    main()
