"""Turn queued webhook bodies into messages (WEBHOOK_QUEUE=true), in order, in batches.

    manage.py webhook_worker [--batch 500] [--linger-ms 20] [--poll-seconds 1] [--once]

Woken by PostgreSQL NOTIFY when a body arrives (and polls every second in case a
notification was missed). Bodies NOTIFY only while the worker waits (it holds IDLE_KEY);
while busy it just goes round: a NOTIFY for every body cost PostgreSQL a fifth of its
CPU per update (bench/webhook.py).
One worker works at a time, so updates keep Meta's order: a second one waits on an
advisory lock as a hot standby and takes over if the first dies.
"""

import logging
import os
import time

import psycopg
from django.core.management.base import BaseCommand
from django.db import connection

from boztell.process import worker_started
from webhooks.services import UNAVAILABLE, deliveries_process

logger = logging.getLogger("boztell.webhooks")

CHANNEL = "webhook_deliveries"
LOCK_KEY = 0x626F7A74  # "bozt": the one-worker advisory lock
IDLE_KEY = 0x626F7A75  # "bozu": held while the worker waits, so new bodies NOTIFY (0003)
BUSY = 4  # bodies in one round from which lingering pays (bench/events.py, bench/webhook.py)


class Command(BaseCommand):
    help = "Process queued WhatsApp webhook bodies (WEBHOOK_QUEUE=true), in order."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500, help="bodies per transaction")
        parser.add_argument("--once", action="store_true", help="empty the queue, then stop")
        parser.add_argument(
            "--linger-ms",
            type=float,
            default=20,
            help="after a batch, wait this long for more bodies (throughput for latency)",
        )
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=1.0,
            help="when idle, look for bodies this often even without a NOTIFY",
        )

    def handle(self, *, batch, once, linger_ms, poll_seconds, **options):
        worker_started()
        if connection.vendor != "postgresql":  # SQLite (embedded default): no NOTIFY, poll
            while True:
                if not deliveries_process(limit=batch).bodies:
                    if once:
                        return
                    time.sleep(poll_seconds)
        listener = None
        waiting = False  # holds IDLE_KEY: inserts NOTIFY only then
        delay = 1.0
        while True:
            try:
                if listener is None or listener.closed:
                    listener = self._listen()
                    waiting = False
                # What this round takes covers every NOTIFY so far.
                for _ in listener.notifies(timeout=0):
                    pass
                done = deliveries_process(limit=batch)
                delay = 1.0
                if done.bodies:
                    logger.info(
                        "webhook worker: %d bodies, %d updates, %d failed",
                        done.bodies,
                        done.updates,
                        done.failed,
                    )
                    if done.bodies >= BUSY and waiting:
                        # Busy: we come back for the next bodies anyway, so they need not
                        # NOTIFY (migration 0003).
                        listener.execute("SELECT pg_advisory_unlock(%s)", [IDLE_KEY])
                        waiting = False
                    if BUSY <= done.bodies < batch and linger_ms:
                        # Busy (several bodies came while the last round ran): let a few
                        # milliseconds' bodies gather, so one transaction, one event-log
                        # INSERT and one Redis pipeline serve many. Quiet: no wait.
                        time.sleep(linger_ms / 1000)
                    continue
                if once:
                    return
                if not waiting:
                    # Say we wait (from now on bodies NOTIFY), then look once more. Taking
                    # the lock waits for the INSERTs that skipped NOTIFY to commit, so
                    # this round finds them.
                    listener.execute("SELECT pg_advisory_lock(%s)", [IDLE_KEY])
                    waiting = True
                    continue
                # Wait for a NOTIFY (or poll_seconds, in case one was missed).
                for _ in listener.notifies(timeout=poll_seconds, stop_after=1):
                    pass
            except (*UNAVAILABLE, psycopg.OperationalError) as exc:
                logger.warning(
                    "webhook worker: database unavailable (%s); retry in %.0fs", exc, delay
                )
                connection.close()
                if listener is not None:
                    listener.close()
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
            except Exception:  # a bug must not stop the queue for good: log, wait, go on
                logger.exception("webhook worker: round failed; retry in %.0fs", delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _listen(self) -> psycopg.Connection:
        """Our own connection: it holds the one-worker lock and listens for new bodies."""
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params["application_name"] = f"webhook_worker:{os.getpid()}"  # seen in pg_stat_activity
        listener = psycopg.connect(**params, autocommit=True)
        if not listener.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]:
            logger.info("webhook worker: another worker is active; standing by")
            listener.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        listener.execute(f"LISTEN {CHANNEL}")
        logger.info("webhook worker: processing")
        return listener
