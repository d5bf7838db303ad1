"""Campaigns against the fake Graph API: the paced run (10,000 recipients at the default
80/s should take 125 s), and the ceiling of one campaign_worker (no rate limit), with
Meta's sent / delivered / read statuses played back through the real webhook meanwhile.

    .venv/bin/python bench/campaign.py [--recipients 10000] [--rate 80]
                                       [--ceiling 10000] [--concurrency 128]
                                       [--status-delay 1.0] [--fake asyncio|threaded]
                                       [--skip-paced] [--skip-ceiling]

Set-up: the throughput topology's HTTP side (gunicorn 2x4 gthread, queued webhooks and
webhook_worker) receives the statuses; `manage.py campaign_worker` sends; the fake Graph
API (tests/fake_graph.py's answers, served from one asyncio thread) runs in this process
and, for every send, queues its three statuses with Meta's fields, posted in signed
batches (as Meta batches them, up to 999 a body) every 100 ms, a second after the send.
Checked: nobody sent twice (the fake's record), nobody lost (every recipient ends `read`,
so every status went through the webhook and webhook_worker onto the recipient row).
CPU a send is counted per process: this bench's own processes and its database's
PostgreSQL backends only (BENCH_DB + _campaign), whatever else the host runs (Redis: the one
server, shared).
"""

import argparse
import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from http import HTTPStatus
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.webhook  # noqa: E402
from bench.loadgen import (  # noqa: E402
    ROLES,
    cpu_seconds,
    meta_envelope,
    own_processes_only,
    peak_rss,
    print_peak_rss,
    signed,
)
from bench.webhook import (  # noqa: E402
    SECRET,
    base_env,
    fresh_database,
    start_server,
    stop_all,
)

ROLES.setdefault("campaign_worker", lambda cmd, pid: "campaign_worker" in cmd)
# Its own database: bench/webhook.py's is dropped and made afresh by each run (BENCH_DB
# names one of your own when several checkouts share one PostgreSQL).
bench.webhook.DB += "_campaign"
own_processes_only(bench.webhook.DB)
PLAYBACK_EVERY = 0.1
STATUSES_PER_BODY = 999  # Meta batches up to 1,000 updates


STATUSES = ("sent", "delivered", "read")
# Meta's per-message pricing (since July 2025): `sent` and `delivered` carry the pricing
# and the conversation, `read` neither.
PRICING = {"billable": True, "pricing_model": "PMP", "category": "utility", "type": "regular"}


def _status(wamid: str, to: str, status: str, now: int) -> dict:
    """One status as Meta words it (the statuses webhook reference)."""
    out = {"id": wamid, "status": status, "timestamp": str(now), "recipient_id": to}
    if status != "read":
        conversation = {"id": f"conv-{to}", "origin": {"type": "utility"}}
        if status == "sent":
            conversation["expiration_timestamp"] = str(now + 86_400)
        out["conversation"] = conversation
        out["pricing"] = PRICING
    return out


class Playback:
    """What Meta does after each send: `sent`, `delivered`, `read` webhooks, batched, each
    `delay` seconds after the send (Meta's statuses come after its answer, within a
    second or so; one that overtakes the answer is kept and applied later, which the tests
    cover, and which costs a row per status)."""

    def __init__(self, url: str, delay: float):
        self.url = url
        self.delay = delay
        self.waiting: queue.Queue = queue.Queue()
        self.posted = 0
        self.errors = 0
        self.stop = threading.Event()
        self.session = requests.Session()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def on_send(self, payload: dict, wamid: str) -> None:
        address = payload.get("to") or payload.get("recipient")
        self.waiting.put((time.monotonic() + self.delay, wamid, address))

    def run(self):
        held: deque = deque()
        while not self.stop.is_set() or not self.waiting.empty() or held:
            time.sleep(PLAYBACK_EVERY)
            while not self.waiting.empty():
                held.append(self.waiting.get_nowait())
            sends, due = [], time.monotonic()
            while held and (held[0][0] <= due or self.stop.is_set()):
                _, wamid, to = held.popleft()
                sends.append((wamid, to))
            now = int(time.time())
            statuses = [
                _status(wamid, to, status, now) for status in STATUSES for wamid, to in sends
            ]
            for start in range(0, len(statuses), STATUSES_PER_BODY):
                self.post(statuses[start : start + STATUSES_PER_BODY])

    def post(self, statuses: list[dict]) -> None:
        raw, signature = signed(meta_envelope({"statuses": statuses}), SECRET)
        try:
            response = self.session.post(
                f"{self.url}/webhooks/whatsapp",
                data=raw,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
                timeout=60,
            )
            self.errors += response.status_code != 200
            self.posted += len(statuses)
        except requests.RequestException:
            self.errors += 1


class GraphServer:
    """The fake Graph API's answers (tests/fake_graph.py, FakeGraph.answer_post) served
    from one asyncio thread: keep-alive HTTP/1.1, each answer in one write. The tests'
    threaded server spends a thread switch and an email-parser run per request; at hundreds
    of sends a second that cost the machine more CPU than the worker it measures
    (`--fake threaded` still runs it)."""

    def __init__(self, fake):
        self.fake = fake
        self.loop = asyncio.new_event_loop()

    def start(self):
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                # Every send in flight may connect at once: no connection dropped.
                asyncio.start_server(self.serve, "127.0.0.1", 0, backlog=1024)
            )
            self.fake.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait()
        return self

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def serve(self, reader, writer):
        from requests.structures import CaseInsensitiveDict

        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request_line, *lines = head.split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = CaseInsensitiveDict(
                    (name.strip(), value.strip())
                    for name, _, value in (line.partition(":") for line in lines if line)
                )
                length = int(headers.get("Content-Length") or 0)
                body = await reader.readexactly(length) if length else b""
                if method == "POST":
                    status, answer = self.fake.answer_post(path, headers, body)
                else:
                    status, answer = self.fake.error_answer(404, 100, "Unknown path")
                data = json.dumps(answer).encode()
                head = (
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
                )
                writer.write(head.encode() + data)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def make_campaign(supervisor, template, n: int, start: int, name: str):
    from campaigns import services

    rows = [
        {
            "to": f"0813{start + i:08d}",
            "lead_id": None,
            "columns": {
                "name": f"Nasabah {start + i}",
                "amount": 1_000_000 + i,
                "due": "2026-12-05",
            },
        }
        for i in range(n)
    ]
    campaign = services.campaign_create(
        created_by=supervisor,
        name=name,
        template_name=template.name,
        language=template.language,
        parameters={
            "body": {
                "1": {"column": "name"},
                "2": {"column": "amount", "format": "idr"},
                "3": {"column": "due", "format": "date_id"},
            }
        },
        rows=rows,
        columns=["name", "amount", "due"],
    )
    services.campaign_preview(campaign=campaign, by=supervisor)
    return services.campaign_start(campaign=campaign, by=supervisor)


def run_worker(fake_url: str, *args: str) -> tuple[float, float]:
    """Run campaign_worker --once to the end; its CPU seconds and peak RSS (MB)."""
    from tests.fake_graph import TOKEN

    env = {
        **base_env(),
        "WHATSAPP_API_BASE_URL": fake_url,
        "WHATSAPP_ACCESS_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    profile = os.environ.get("BENCH_PROFILE")  # a path: the worker runs under cProfile
    wrap = ["-m", "cProfile", "-o", profile] if profile else []
    proc = subprocess.Popen(
        [sys.executable, *wrap, "manage.py", "campaign_worker", "--once", *args],
        cwd=ROOT,
        env=env,
    )
    # Its peak memory from /proc while it runs: the rusage's ru_maxrss of a child started
    # by fork and exec counts this (larger) process's memory at the fork.
    peak = [0.0]
    done = threading.Event()

    def watch():
        while not done.wait(0.1):
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    hwm = next((line for line in f if line.startswith("VmHWM:")), None)
            except OSError:
                return
            if hwm:
                peak[0] = max(peak[0], int(hwm.split()[1]) / 1024)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    watcher.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"campaign_worker failed ({proc.returncode})")
    return usage.ru_utime + usage.ru_stime, peak[0]


def settle(campaign, n: int, seconds: float = 120) -> float:
    """Wait until every recipient is `read` (the statuses came back); return the wait."""
    from messaging.services.receive import pending_statuses_sweep

    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if campaign.recipients.filter(status="read").count() >= n:
            break
        pending_statuses_sweep()  # what a running worker does every second
        time.sleep(0.2)
    return time.perf_counter() - start


def phase(label, fake, playback, supervisor, template, n, start, *worker_args):
    from campaigns.models import CampaignRecipient

    campaign = make_campaign(supervisor, template, n, start, label)
    print(f"==> {label}: {n} recipients", flush=True)
    fake.sent_at = []
    before_requests = len(fake.requests)
    cpu_before = cpu_seconds()
    wall = time.perf_counter()
    worker_cpu, worker_rss = run_worker(fake.url, *worker_args)
    worker_wall = time.perf_counter() - wall
    cpu_after = cpu_seconds()
    waited = settle(campaign, n)
    campaign.refresh_from_db()
    sends = [
        (r.json().get("to") or r.json().get("recipient"))
        for r in fake.requests[before_requests:]
        if r.path.endswith("/messages")
    ]
    counts = Counter(sends)
    statuses = Counter(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("status", flat=True)
    )
    span = max(fake.sent_at) - min(fake.sent_at) if fake.sent_at else 0.0
    run = (campaign.finished_at - campaign.started_at).total_seconds()
    cpu = {role: cpu_after[role] - cpu_before[role] for role in cpu_after}
    cpu["campaign_worker"] = worker_cpu  # it has exited: from its rusage
    # ...and, waited for, it is in this process's children's time too: not the client's.
    cpu["client"] -= worker_cpu
    return {
        "label": label,
        "recipients": n,
        "sent": len(counts),
        "twice": sum(1 for c in counts.values() if c > 1),
        "lost": n - statuses.get("read", 0),
        "statuses": dict(statuses),
        "span": span,
        "run": run,
        "worker_wall": worker_wall,
        "rate": (len(sends) - 1) / span if span else 0.0,
        "settle": waited,
        "cpu_ms_per_send": {r: 1000 * s / max(len(sends), 1) for r, s in cpu.items() if s > 0.01},
        "status": campaign.status,
        "worker_rss": worker_rss,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=80.0)
    parser.add_argument("--ceiling", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--skip-paced", action="store_true")
    parser.add_argument(
        "--fake",
        choices=("asyncio", "threaded"),
        default="asyncio",
        help="the fake Graph API's server: one asyncio thread, or the tests' threaded one",
    )
    parser.add_argument(
        "--status-delay",
        type=float,
        default=1.0,
        help="seconds from a send to its statuses (0: they race Meta's answer)",
    )
    parser.add_argument("--skip-ceiling", action="store_true")
    args = parser.parse_args()

    fresh_database()
    os.environ.update({**base_env(), "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.utils import timezone

    from messaging.models import MessageTemplate
    from tests.factories import SupervisorFactory
    from tests.fake_graph import FakeGraph

    spec = {
        "name": "cicilan_reminder",
        "language": "id",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Halo {{1}}, cicilan Anda sebesar {{2}} jatuh tempo pada {{3}}.",
            }
        ],
    }
    template = MessageTemplate.objects.create(**spec, synced_at=timezone.now())
    supervisor = SupervisorFactory(username="bench-supervisor")

    procs, port = start_server("gunicorn (2x4) + queue")
    playback = Playback(f"http://127.0.0.1:{port}", args.status_delay)
    fake = FakeGraph(version=os.environ.get("WHATSAPP_API_VERSION", "v21.0"), prefix="B")
    fake.templates = [spec]
    fake.sent_at = []

    def on_send(payload, wamid):
        fake.sent_at.append(time.perf_counter())
        playback.on_send(payload, wamid)

    fake.on_send = on_send
    if args.fake == "threaded":
        fake.start()
    else:
        GraphServer(fake).start()
    rows = []
    try:
        if not args.skip_paced:
            print(f"==> paced: {args.recipients} recipients at {args.rate}/s", flush=True)
            rows.append(
                phase(
                    f"paced {args.rate:.0f}/s, new customers",
                    fake,
                    playback,
                    supervisor,
                    template,
                    args.recipients,
                    0,
                    "--rate",
                    str(args.rate),
                )
            )
        if not args.skip_ceiling:
            print(f"==> ceiling: {args.ceiling} recipients, no rate limit", flush=True)
            unthrottled = ("--rate", "1000000", "--concurrency", str(args.concurrency))
            for label in ("ceiling, new customers", "ceiling, existing rooms"):
                if label.endswith("existing rooms"):
                    # past the pair-rate window: the same customers may be sent again
                    time.sleep(7)
                rows.append(
                    phase(
                        label,
                        fake,
                        playback,
                        supervisor,
                        template,
                        args.ceiling,
                        100_000,
                        *unthrottled,
                    )
                )
        peaks = peak_rss()
    finally:
        playback.stop.set()
        playback.thread.join(timeout=30)
        stop_all(procs)
        if args.fake == "threaded":
            fake.stop()

    expected = args.recipients / args.rate
    print("\nCampaign sends (fake Graph API; statuses played back through the webhook):")
    header = (
        f"{'run':<30} {'recipients':>10} {'sent':>6} {'twice':>5} {'lost':>5} "
        f"{'send span s':>11} {'run s':>7} {'sends/s':>8} {'statuses after s':>16}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['label']:<30} {r['recipients']:>10} {r['sent']:>6} {r['twice']:>5} "
            f"{r['lost']:>5} {r['span']:>11.1f} {r['run']:>7.1f} {r['rate']:>8.1f} "
            f"{r['settle']:>16.1f}"
        )
    if not args.skip_paced:
        paced = rows[0]
        off = 100 * (paced["run"] - expected) / expected
        print(
            f"\npaced: {paced['run']:.1f} s from start to done for {expected:.0f} s expected "
            f"({off:+.2f}%: {'within' if abs(off) <= 2 else 'OUTSIDE'} 2%)"
        )
    print("\nCPU per send (ms), by process (client = this bench: the fake Graph + playback):")
    for r in rows:
        cells = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["cpu_ms_per_send"].items()))
        print(f"  {r['label']:<30} {cells}")
    print_peak_rss([("servers, all runs", peaks)])
    for r in rows:
        print(f"  campaign_worker, {r['label']:<24} {r['worker_rss']:.0f}")
    print(f"\nplayback: {playback.posted} statuses posted, {playback.errors} errors")
    for r in rows:
        assert r["twice"] == 0, r
        assert r["lost"] == 0, r


if __name__ == "__main__":
    main()
