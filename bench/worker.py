"""What webhook_worker spends per update, by kind and batch size: CPU in this process (all
threads: the batch, the event log, the Redis publish), on the production profile.

    .venv/bin/python bench/worker.py [--updates 2000]

Bodies are queued through the real webhook view (WEBHOOK_QUEUE=true, Django's test
client, no network), then worked with `deliveries_process(limit=N)`. Kinds: customer
texts into existing rooms, and `delivered` statuses for stored outbound messages. CPU time
of the process, not wall time: a ratio across rows is what to read.
"""

import argparse
import os
import resource
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.webhook import SECRET, base_env, prepare_database, webhook_maker  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--batches", default="1,10,100,500")
    args = parser.parse_args()
    prepare_database()
    os.environ.update({**base_env(), "WEBHOOK_QUEUE": "true", "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    from django.test import Client

    from boztell.process import worker_started
    from boztell.realtime import flush_events
    from messaging.models import Message
    from rooms.models import Room
    from tests.factories import UserFactory
    from tests.helpers import load_fixture, signed_post
    from webhooks.services import deliveries_process

    client = Client(HTTP_HOST="127.0.0.1")
    warm = webhook_maker("warm", 500)
    for i in range(500):  # every bench customer has a room
        signed_post(client, warm(i)[1], secret=SECRET)
    while deliveries_process(limit=500).bodies:
        pass
    agent = UserFactory()
    worker_started()  # as manage.py webhook_worker does at start
    rooms = list(Room.objects.all())

    def queue_texts(tag, n):
        make = webhook_maker(tag, n)
        for i in range(n):
            signed_post(client, make(i)[1], secret=SECRET)

    def queue_statuses(tag, n):
        Message.objects.bulk_create(
            Message(
                room=rooms[i % len(rooms)],
                user=agent,
                content_type="text",
                content_text="out",
                wa_message_id=f"wamid.W-{tag}-{i}",
                status="sent",
            )
            for i in range(n)
        )
        for i in range(n):
            body = load_fixture("status_sent")
            body["entry"][0]["changes"][0]["value"]["statuses"][0].update(
                id=f"wamid.W-{tag}-{i}", status="delivered", recipient_id=rooms[0].phone
            )
            signed_post(client, body, secret=SECRET)

    rows = []
    for kind, queue in (("customer text", queue_texts), ("status", queue_statuses)):
        for batch in [int(b) for b in args.batches.split(",")]:
            print(f"==> {kind}, batches of {batch}", flush=True)
            queue(uuid.uuid4().hex[:8], args.updates)
            cpu = time.process_time()
            done = 0
            while True:
                result = deliveries_process(limit=batch)
                if not result.bodies:
                    break
                done += result.updates
            flush_events()
            rows.append((kind, batch, done, 1000 * (time.process_time() - cpu) / max(done, 1)))
    print(f"\n{'kind':<14} {'batch':>6} {'updates':>8} {'CPU ms/update':>14}")
    print("-" * 45)
    for kind, batch, done, ms in rows:
        print(f"{kind:<14} {batch:>6} {done:>8} {ms:>14.3f}")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak memory (RSS) of this process, which ran the worker's batches: {peak:.0f} MB")


if __name__ == "__main__":
    main()
