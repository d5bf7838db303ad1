"""Open the snoozed rooms whose time has come: once, or every N seconds (`--every`).

In production a task queued for each snooze's time does this (manage.py db_worker); this
command is the sweep for a queue that lost one, and the embedded default's way (its tasks
run inline and cannot wait)."""

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Open snoozed rooms whose snooze has ended."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds.")

    def handle(self, *args, every: float = 0, **options):
        from rooms.status import rooms_wake_due

        while True:
            woken = rooms_wake_due()
            if woken or not every:
                self.stdout.write(f"rooms woken: {woken}")
            if not every:
                return
            time.sleep(every)
