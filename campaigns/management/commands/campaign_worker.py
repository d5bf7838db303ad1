"""Send running campaigns, paced, each recipient at most once.

    manage.py campaign_worker [--once] [--poll-seconds 1] [--concurrency 32] [--rate R]

Any number may run: a campaign is run by the one worker holding its advisory lock; the
others take other campaigns or wait. SIGTERM/SIGINT: sends in flight are answered and
recorded, then the worker stops. A worker killed outright leaves its in-flight sends
`sending`; the next worker to take the campaign marks them `unknown` (never resent).
"""

import logging
import signal

from django.core.management.base import BaseCommand

from boztell.process import worker_started
from campaigns.worker import Worker

logger = logging.getLogger("boztell.campaigns")


class Command(BaseCommand):
    help = "Send running campaigns (paced, each recipient at most once)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="run what is due until nothing is left, then stop"
        )
        parser.add_argument("--poll-seconds", type=float, default=1.0)
        parser.add_argument(
            "--concurrency", type=int, default=None, help="Graph calls in flight at once"
        )
        parser.add_argument(
            "--rate", type=float, default=None, help="sends per second (default: per number)"
        )

    def handle(self, *, once, poll_seconds, concurrency, rate, **options):
        worker = Worker(concurrency=concurrency, rate=rate)

        def stop(signum, frame):
            logger.info("campaign worker: stopping (signal %s)", signum)
            worker.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info("campaign worker: started")
        worker_started()
        try:
            worker.loop(once=once, poll_seconds=poll_seconds)
        finally:
            worker.close()
