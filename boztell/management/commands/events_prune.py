"""manage.py events_prune: keep EVENTS_KEEP_HOURS of the event log (run it hourly: from
cron or a timer, or as a long-running process with `--every 3600`, as the Procfiles do)."""

import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone

from boztell.models import Event
from boztell.services import events_prune


class Command(BaseCommand):
    help = (
        "Delete events older than --keep-hours (default EVENTS_KEEP_HOURS, 72). A client "
        "whose cursor is older then gets 410 cursor_expired from GET /events and reloads."
    )

    def add_arguments(self, parser):
        parser.add_argument("--keep-hours", type=float, default=None)
        parser.add_argument("--batch", type=int, default=10_000)
        parser.add_argument(
            "--every",
            type=float,
            default=None,
            metavar="SECONDS",
            help="keep running: prune now, then again every SECONDS (e.g. 3600)",
        )

    def handle(self, *, keep_hours, batch, every, **options):
        if every is None:
            return self.prune(keep_hours=keep_hours, batch=batch)
        while True:
            self.prune(keep_hours=keep_hours, batch=batch)
            self.stdout.flush()
            connection.close()  # an hour idle: no connection held meanwhile
            time.sleep(every)
            close_old_connections()

    def prune(self, *, keep_hours, batch):
        hours = settings.EVENTS_KEEP_HOURS if keep_hours is None else keep_hours
        older_than = timezone.now() - timedelta(hours=hours)
        total = Event.objects.filter(created_at__lt=older_than).count()
        if not total:
            self.stdout.write(f"No events older than {hours:g} hours.")
            return

        def progress(done: int) -> None:
            filled = round(30 * min(done, total) / total)
            bar = "#" * filled + "." * (30 - filled)
            self.stderr.write(f"\r[{bar}] {done:,} / {total:,}", ending="")
            self.stderr.flush()

        deleted = events_prune(older_than=older_than, batch=batch, progress=progress)
        self.stderr.write("")
        noun = "event" if deleted == 1 else "events"
        self.stdout.write(f"Deleted {deleted:,} {noun} older than {hours:g} hours.")
