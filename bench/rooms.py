"""Room list and message page latency on a big database: 10,000 rooms, 1,000,000 messages.

    .venv/bin/python bench/rooms.py [--rooms 10000] [--messages 1000000] [--requests 200]

Seeds PostgreSQL in bulk (COPY), serves the app with gunicorn (1 sync worker) on
loopback, and times sequential requests: the room list (all, mine, unread, by status, a
search, a common and a rare label) and the counts per status as an agent and a
supervisor, and one page of 50 messages at the newest, middle and oldest depth of a large
room. Prints p50/p95 per request kind.
"""

import argparse
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import peak_rss, print_peak_rss  # noqa: E402
from bench.webhook import DB, fresh_database, start_server, stop_all  # noqa: E402

STATUSES = ["open", "pending", "snoozed", "resolved"]
STATUS_WEIGHTS = [20, 5, 5, 70]


def progress(label, done, total):
    width = 30
    filled = int(width * done / total)
    print(
        f"\r    {label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}",
        end="",
        flush=True,
    )
    if done >= total:
        print()


LABELS = (("janji-bayar", "#16a34a"), ("vip", "#dc2626"))


def seed(rooms: int, messages: int):
    fresh_database()
    rng = random.Random(7)
    now = datetime.now(tz=UTC)
    agents = [uuid.uuid4() for _ in range(20)]
    supervisor = uuid.uuid4()
    started = time.perf_counter()
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}") as conn:
        with conn.cursor() as cur:
            with cur.copy(
                "COPY users (id, password, username, display_name, email, role, "
                "is_active, is_superuser, date_joined, updated_at, max_open_rooms) FROM STDIN"
            ) as cp:
                for i, uid in enumerate(agents):
                    cp.write_row(
                        (
                            uid,
                            "!",
                            f"agent{i}",
                            f"Agent {i}",
                            "",
                            "agent",
                            True,
                            False,
                            now,
                            now,
                            10,
                        )
                    )
                cp.write_row(
                    (
                        supervisor,
                        "!",
                        "supervisor",
                        "Supervisor",
                        "",
                        "supervisor",
                        True,
                        False,
                        now,
                        now,
                        10,
                    )
                )
            for uid in [*agents, supervisor]:
                cur.execute(
                    "INSERT INTO authtoken_token (key, user_id, created) VALUES (%s, %s, now())",
                    [uuid.uuid4().hex[:40], uid],
                )
            room_ids, lead_ids = [], []
            with cur.copy(
                "COPY leads (id, name, phone, outstanding, loan_type, leads_status, "
                "contact_status, created_at, updated_at, do_not_contact, attributes) FROM STDIN"
            ) as cp:
                for r in range(rooms // 2):
                    lid = uuid.uuid4()
                    lead_ids.append(lid)
                    cp.write_row(
                        (
                            lid,
                            f"Lead {r}",
                            f"62812{r:08d}",
                            rng.randint(0, 10**8),
                            "KTA",
                            "warm",
                            "contacted",
                            now,
                            now,
                            False,
                            "{}",
                        )
                    )
            per_room = [1] * rooms
            for _ in range(messages - rooms):
                per_room[
                    min(int(rng.paretovariate(1.2)) - 1, rooms - 1)
                    if rng.random() < 0.2
                    else rng.randrange(rooms)
                ] += 1
            last_at = []
            with cur.copy(
                "COPY rooms (id, phone, title, username, lead_id, last_message_text, "
                "last_message_type, last_message_at, message_count, "
                "last_customer_message_at, created_at, updated_at, status) FROM STDIN"
            ) as cp:
                for r in range(rooms):
                    rid = uuid.uuid4()
                    room_ids.append(rid)
                    at = now - timedelta(minutes=r)
                    last_at.append(at)
                    cp.write_row(
                        (
                            rid,
                            f"62812{r:08d}",
                            f"Customer {r}",
                            "",
                            lead_ids[r] if r < len(lead_ids) else None,
                            f"last message {r}",
                            "text",
                            at,
                            per_room[r],
                            at,
                            at,
                            at,
                            # A collection inbox after a while: most conversations resolved.
                            rng.choices(STATUSES, STATUS_WEIGHTS)[0],
                        )
                    )
            with cur.copy(
                "COPY room_participants (room_id, user_id, is_assigned, assigned_at, "
                "last_read_at, created_at, updated_at) FROM STDIN"
            ) as cp:
                for r, rid in enumerate(room_ids):
                    if r % 3:  # two thirds assigned
                        cp.write_row(
                            (
                                rid,
                                agents[r % len(agents)],
                                True,
                                now,
                                last_at[r] - timedelta(minutes=30),
                                now,
                                now,
                            )
                        )
            # Labels: a common one (1 room in 10) and a rare one (1 in 100), the `?label=`
            # filter's two ends (a rare label is the one an index walk would miss).
            label_ids = {}
            for name, colour in LABELS:
                label_ids[name] = cur.execute(
                    "INSERT INTO labels (name, colour, created_at) VALUES (%s, %s, now()) "
                    "RETURNING id",
                    [name, colour],
                ).fetchone()[0]
            with cur.copy(
                "COPY room_labels (room_id, label_id, added_by_id, created_at) FROM STDIN"
            ) as cp:
                for r, rid in enumerate(room_ids):
                    if r % 10 == 3:
                        cp.write_row((rid, label_ids["janji-bayar"], agents[0], now))
                    if r % 100 == 7:
                        cp.write_row((rid, label_ids["vip"], agents[0], now))
            done = 0
            with cur.copy(
                "COPY messages (id, room_id, user_id, content_type, content_text, "
                "wa_message_id, metadata, status, created_at, updated_at) "
                "FROM STDIN"
            ) as cp:
                for r, rid in enumerate(room_ids):
                    count = per_room[r]
                    for k in range(count):
                        at = last_at[r] - timedelta(seconds=(count - k) * 37)
                        agent = agents[r % len(agents)] if k % 3 == 2 else None
                        cp.write_row(
                            (
                                uuid.uuid4(),
                                rid,
                                agent,
                                "text",
                                f"pesan {k} tentang pinjaman cicilan {r}",
                                f"wamid.B{r}.{k}",
                                "{}",
                                "read" if agent else "received",
                                at,
                                at,
                            )
                        )
                        done += 1
                        if done % 50000 == 0 or done == messages:
                            progress("messages", done, messages)
        conn.commit()
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}", autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
    print(f"    seeded in {time.perf_counter() - started:.0f}s", flush=True)
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}") as c:
        tokens = dict(
            c.execute(
                "SELECT u.username, t.key FROM authtoken_token t JOIN users u ON u.id = t.user_id"
            ).fetchall()
        )
        big_room = c.execute("SELECT id FROM rooms ORDER BY message_count DESC LIMIT 1").fetchone()[
            0
        ]
        big_count = c.execute(
            "SELECT message_count FROM rooms WHERE id = %s", [big_room]
        ).fetchone()[0]
    return tokens, big_room, big_count


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(session, url, n, headers):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = session.get(url, headers=headers, timeout=30)
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:200]}")
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    tokens, big_room, big_count = seed(args.rooms, args.messages)
    procs, port = start_server("gunicorn (2 sync workers)")
    base = f"http://127.0.0.1:{port}"
    session = requests.Session()
    agent = {"Authorization": f"Token {tokens['agent0']}"}
    boss = {"Authorization": f"Token {tokens['supervisor']}"}
    rows = []
    try:
        cursors = {}
        first = session.get(f"{base}/rooms/{big_room}/messages", headers=boss).json()
        cursors["newest"] = None
        # walk to the middle and the oldest page once, to get their cursors
        pages = [first]
        cursor = first["older_cursor"]
        while cursor:
            page = session.get(
                f"{base}/rooms/{big_room}/messages", params={"before": cursor}, headers=boss
            ).json()
            pages.append(page)
            cursor = page["older_cursor"]
        mid = pages[len(pages) // 2 - 1]["older_cursor"] if len(pages) > 1 else None
        last = pages[-2]["older_cursor"] if len(pages) > 1 else None
        kinds = [
            ("room list, agent", f"{base}/rooms/", agent),
            ("room list, supervisor", f"{base}/rooms/", boss),
            ("room list, agent, unread", f"{base}/rooms/?filter=unread", agent),
            ("room list, agent, mine", f"{base}/rooms/?filter=mine", agent),
            ("room list, agent, open", f"{base}/rooms/?status=open", agent),
            ("room list, supervisor, open", f"{base}/rooms/?status=open", boss),
            ("room list, agent, snoozed", f"{base}/rooms/?status=snoozed", agent),
            ("room list, agent, mine+open", f"{base}/rooms/?filter=mine&status=open", agent),
            ("room counts, agent", f"{base}/rooms/counts", agent),
            ("room counts, supervisor", f"{base}/rooms/counts", boss),
            ("room list, supervisor, search", f"{base}/rooms/?q=Lead%2042", boss),
            ("room list, agent, label 10%", f"{base}/rooms/?label=janji-bayar", agent),
            ("room list, supervisor, label 10%", f"{base}/rooms/?label=janji-bayar", boss),
            ("room list, supervisor, label 1%", f"{base}/rooms/?label=vip", boss),
            ("room list, agent, mine + label", f"{base}/rooms/?filter=mine&label=vip", agent),
            ("50 messages, newest", f"{base}/rooms/{big_room}/messages", boss),
        ]
        # Deeper pages only where the biggest room has them (a small --messages has none).
        if mid:
            kinds.append(
                ("50 messages, middle", f"{base}/rooms/{big_room}/messages?before={mid}", boss)
            )
        if last:
            kinds.append(
                ("50 messages, oldest", f"{base}/rooms/{big_room}/messages?before={last}", boss)
            )
        for label, url, headers in kinds:
            timed(session, url, 5, headers)  # warm
            times = timed(session, url, args.requests, headers)
            rows.append((label, percentile(times, 50), percentile(times, 95)))
            print(f"    {label}: done", flush=True)
        memory = peak_rss()
    finally:
        stop_all(procs)
    print(
        f"\n{args.rooms:,} rooms, {args.messages:,} messages; the paged room has "
        f"{big_count:,} messages ({len(pages)} pages); {args.requests} requests each\n"
    )
    print(f"{'request':<36} {'p50 ms':>8} {'p95 ms':>8}")
    print("-" * 54)
    for label, p50, p95 in rows:
        print(f"{label:<36} {p50:>8.1f} {p95:>8.1f}")
    print_peak_rss([("gunicorn (2 sync workers)", memory)])


if __name__ == "__main__":
    main()
