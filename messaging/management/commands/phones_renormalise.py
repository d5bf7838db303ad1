"""manage.py phones_renormalise: stored leads and rooms in today's phone rule, merging
rooms that turn out to be one customer. Also run once by migration rooms 0003."""

from django.core.management.base import BaseCommand

from messaging.services.customers import phones_renormalise


class Command(BaseCommand):
    help = "Re-normalise stored lead and room phone numbers; merge rooms of one customer."

    def handle(self, *args, **options):
        counts = phones_renormalise(write=self.stdout.write)
        summary = ", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing to do"
        self.stdout.write(f"phones_renormalise: {summary}")
