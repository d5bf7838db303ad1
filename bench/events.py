"""Webhook-to-socket latency: a signed webhook POSTed to the server, until the event is
received on the assigned agent's WebSocket, with 200 agent sockets connected.

    .venv/bin/python bench/events.py [--agents 200] [--rates 100,500] [--seconds 10]
        [--setups inline,queue]

Production profile: PostgreSQL, Redis; gunicorn (2 workers x 4 threads) serves HTTP and daphne
serves /ws/, as in DESIGN.md's throughput topology; with and without the webhook queue
(WEBHOOK_QUEUE=true plus `manage.py webhook_worker`). Each customer's room is assigned to
one agent, so each update reaches one agent socket (and no supervisor is connected).
Prints p50/p99 per rate, and how many events arrived.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import time
import uuid
from pathlib import Path

import psycopg
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import (  # noqa: E402
    Conn,
    cpu_per_update,
    cpu_seconds,
    peak_rss,
    percentile,
    print_peak_rss,
    quiet_collector,
    used_roles,
)
from bench.webhook import (  # noqa: E402
    DB,
    GTHREAD,
    PERSISTENT,
    SECRET,
    SERVERS,
    WORKER,
    base_env,
    free_port,
    gunicorn_command,
    prepare_database,
    spawn,
    stop_all,
)


def seed_agents(count, customers):
    now = time.time()
    tokens, agents = [], []
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}") as conn:
        for i in range(count):
            uid = uuid.uuid4()
            key = uuid.uuid4().hex
            conn.execute(
                "INSERT INTO users (id, password, username, display_name, email, role, "
                "is_active, is_superuser, max_open_rooms, date_joined, updated_at) VALUES "
                "(%s, '!', %s, %s, '', 'agent', true, false, 10, now(), now())",
                [uid, f"bench-agent-{i}", f"Agent {i}"],
            )
            conn.execute(
                "INSERT INTO authtoken_token (key, user_id, created) VALUES (%s, %s, now())",
                [key, uid],
            )
            agents.append(uid)
            tokens.append(key)
        for c in range(customers):
            rid = uuid.uuid4()
            conn.execute(
                "INSERT INTO rooms (id, phone, title, username, status, last_message_at, "
                "message_count, last_customer_message_at, created_at, updated_at) VALUES "
                "(%s, %s, %s, '', 'open', now(), 0, now(), now(), now())",
                [rid, f"62818{c:07d}", f"Customer {c}"],
            )
            conn.execute(
                "INSERT INTO room_participants (room_id, user_id, is_assigned, created_at, "
                "updated_at) VALUES (%s, %s, true, now(), now())",
                [rid, agents[c % count]],
            )
    del now
    return tokens


def body_for(i, tag, customers):
    wa_id = f"62818{i % customers:07d}"
    wamid = f"wamid.EV-{tag}-{i}"
    raw = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "W",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": "1"},
                                "contacts": [{"profile": {"name": "B"}, "wa_id": wa_id}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": wamid,
                                        "timestamp": str(int(time.time())),
                                        "type": "text",
                                        "text": {"body": f"event {i}"},
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    sig = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return wamid, raw, {"Content-Type": "application/json", "X-Hub-Signature-256": sig}


async def run_rate(http_port, ws_port, tokens, rate, seconds, customers):
    received: dict[str, float] = {}

    # Handshakes in waves, as browsers reconnect with jittered back-off: a thousand at once
    # outlast daphne's 5 s websocket_connect_timeout on two cores and are dropped.
    handshakes = asyncio.Semaphore(50)

    async def listen(token, ready):
        async with handshakes:
            ws = await websockets.connect(
                f"ws://127.0.0.1:{ws_port}/ws/",
                max_queue=None,
                additional_headers={"Authorization": f"Token {token}"},
            )
            await ws.recv()  # connected
        ready.set()
        async with ws:
            try:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["event"] in ("new_message", "new_room_complete"):
                        data = frame["data"]
                        wamid = data.get("wa_message_id") or data.get("last_message", {}).get(
                            "wa_message_id"
                        )
                        received.setdefault(wamid, time.perf_counter())
            except websockets.ConnectionClosed:
                return

    readies = [asyncio.Event() for _ in tokens]
    listeners = [asyncio.create_task(listen(t, r)) for t, r in zip(tokens, readies, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 300)
    await asyncio.sleep(2)  # let the connections settle before measuring
    tag = uuid.uuid4().hex[:6]
    total = int(rate * seconds)
    bodies = [body_for(i, tag, customers) for i in range(total)]
    sent: dict[str, float] = {}
    pool = [Conn("127.0.0.1", http_port) for _ in range(48)]
    await asyncio.gather(*(c.open() for c in pool))
    idle: asyncio.Queue = asyncio.Queue()
    for c in pool:
        idle.put_nowait(c)
    quiet_collector()
    cpu_before = cpu_seconds()
    start = time.perf_counter()

    async def post(i):
        scheduled = start + i / rate
        await asyncio.sleep(max(0, scheduled - time.perf_counter()))
        conn = await idle.get()
        wamid, raw, headers = bodies[i]
        sent[wamid] = scheduled
        try:
            await conn.request("/webhooks/whatsapp", raw, headers)
        finally:
            idle.put_nowait(conn)

    await asyncio.gather(*(post(i) for i in range(total)))
    await asyncio.sleep(3)
    cpu = cpu_per_update(cpu_before, cpu_seconds(), total)
    for task in listeners:
        task.cancel()
    latencies = [(received[w] - t) * 1000 for w, t in sent.items() if w in received]
    return {
        "sent": total,
        "received": len(latencies),
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "cpu": cpu,
    }


def wait_ports(*ports, seconds=60):
    """The servers answer: a busy host can take longer than a fixed pause to start them."""
    import socket

    deadline = time.time() + seconds
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit(f"no server on port {port} after {seconds} s") from None
                time.sleep(0.2)
    time.sleep(1)  # gunicorn's second worker, and daphne's first database connections


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--rates", default="100,500")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--setups", default="inline,queue", help="inline, queue or both")
    parser.add_argument(
        "--layers",
        default="pubsub",
        help="channel layers to compare (CHANNEL_LAYER): pubsub (ours, pipelined sends), "
        "pubsub-plain (channels-redis's own, one group_send at a time), core",
    )
    args = parser.parse_args()
    prepare_database()
    tokens = seed_agents(args.agents, args.customers)
    rows, memory = [], []
    layers = args.layers.split(",")
    for layer, setup in [(lay, st) for lay in layers for st in args.setups.split(",")]:
        queued = setup == "queue"
        env = {
            **base_env(),
            "CHANNEL_LAYER": layer,
            **({"WEBHOOK_QUEUE": "true"} if queued else {}),
        }
        if len(layers) > 1:
            setup = f"{setup}/{layer}"
        http_port, ws_port = free_port(), free_port()
        procs = [
            spawn(gunicorn_command(http_port, *GTHREAD), {**env, **PERSISTENT}),
            spawn(SERVERS["daphne alone"][0](ws_port), env),
        ]
        if queued:
            procs.append(spawn(WORKER, env))
        wait_ports(http_port, ws_port)
        try:
            for rate in [float(r) for r in args.rates.split(",")]:
                print(
                    f"==> {setup}: {rate:.0f} updates/s for {args.seconds:.0f}s, "
                    f"{args.agents} sockets",
                    flush=True,
                )
                result = asyncio.run(
                    run_rate(http_port, ws_port, tokens, rate, args.seconds, args.customers)
                )
                rows.append((setup, rate, result))
            memory.append((f"{setup}, {args.agents} sockets", peak_rss()))
        finally:
            stop_all(procs)
    print(
        f"\n{'set-up':<20} {'updates/s':>10} {'sent':>6} {'received':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8}"
    )
    print("-" * 67)
    for setup, rate, r in rows:
        print(
            f"{setup:<20} {rate:>10.0f} {r['sent']:>6} {r['received']:>9} {r['p50']:>8.1f} "
            f"{r['p99']:>8.1f}"
        )
    print("\nCPU ms per update, by process (2 cores: 2,000 ms of CPU a second in all):")
    roles = used_roles([r["cpu"] for _, _, r in rows])
    print(f"{'set-up':<20} {'updates/s':>10} " + " ".join(f"{role:>14}" for role in roles))
    for setup, rate, r in rows:
        cells = " ".join(f"{r['cpu'][role]:>14.3f}" for role in roles)
        print(f"{setup:<20} {rate:>10.0f} {cells}")
    print_peak_rss(memory)
    print(
        "\ninline: gunicorn stores the messages before it answers; queue: WEBHOOK_QUEUE=true, "
        "gunicorn keeps the body and webhook_worker stores the messages."
    )


if __name__ == "__main__":
    main()
