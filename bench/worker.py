"""What webhook_worker spends per update, by kind and batch size: CPU in this process (all
threads: the batch, the event log, the Redis publish), on the production profile.

    .venv/bin/python bench/worker.py [--updates 2000]

Bodies are queued through the real webhook view (WEBHOOK_QUEUE=true, Django's test
client, no network), then worked with `deliveries_process(limit=N)`. Kinds: customer
texts into existing rooms, and `delivered` statuses for stored outbound messages. CPU time
of the process, not wall time: a ratio across rows is what to read.

`--instructions` runs the same under valgrind's callgrind and adds the instructions per
update, counted only while the batches run: the same figure however busy the host is
(within about 1%), so two commits can be compared on a shared machine. Slow (about a
minute for `--updates 200 --batches 1,10,100`) and blind to the kernel's share (system
calls), which CPU time sees.
"""

import argparse
import glob
import os
import resource
import shutil
import subprocess
import sys
import tempfile
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
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions too (callgrind)"
    )
    args = parser.parse_args()
    counting = os.environ.get("BENCH_CALLGRIND_OUT")
    if args.instructions and not counting:
        return _under_callgrind()
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
            _count("on") if counting else None
            cpu = time.process_time()
            done = 0
            while True:
                result = deliveries_process(limit=batch)
                if not result.bodies:
                    break
                done += result.updates
            flush_events()
            ms = 1000 * (time.process_time() - cpu) / max(done, 1)
            instructions = _count("off") / max(done, 1) / 1e6 if counting else None
            rows.append((kind, batch, done, ms, instructions))
    extra = f" {'M instr/update':>15}" if counting else ""
    print(f"\n{'kind':<14} {'batch':>6} {'updates':>8} {'CPU ms/update':>14}{extra}")
    print("-" * (45 + len(extra)))
    for kind, batch, done, ms, instructions in rows:
        extra = f" {instructions:>15.3f}" if counting else ""
        print(f"{kind:<14} {batch:>6} {done:>8} {ms:>14.3f}{extra}")
    if counting:
        print("(CPU ms under callgrind are many times the real figures; read the instructions)")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak memory (RSS) of this process, which ran the worker's batches: {peak:.0f} MB")


def _under_callgrind() -> None:
    """Run this bench again under callgrind, instrumenting nothing until _count("on")."""
    if not shutil.which("valgrind"):
        sys.exit("--instructions needs valgrind (apt install valgrind)")
    out = Path(tempfile.mkdtemp(prefix="bench-callgrind-")) / "callgrind.out"
    argv = [a for a in sys.argv[1:] if a != "--instructions"]
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        *argv,
    ]
    env = {**os.environ, "BENCH_CALLGRIND_OUT": str(out)}
    result = subprocess.run(command, env=env, stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(out.parent, ignore_errors=True)
    sys.exit(result.returncode)


def _count(switch: str) -> int:
    """Instrumentation on (from zero), or off: then the instructions counted since."""
    pid = str(os.getpid())
    if switch == "on":
        subprocess.run(["callgrind_control", "-z", pid], capture_output=True, check=True)
        subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, check=True)
        return 0
    subprocess.run(["callgrind_control", "-i", "off", pid], capture_output=True, check=True)
    prefix = os.environ["BENCH_CALLGRIND_OUT"]
    before = set(glob.glob(prefix + "*"))
    subprocess.run(["callgrind_control", "-d", pid], capture_output=True, check=True)
    total = 0
    for path in sorted(set(glob.glob(prefix + "*")) - before):
        with open(path) as dump:
            for line in dump:
                if line.startswith(("summary:", "totals:")):
                    total = max(total, int(line.split()[1]))
        os.remove(path)
    return total


if __name__ == "__main__":
    main()
