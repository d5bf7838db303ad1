"""Sync WhatsApp message templates from Meta (GET /{waba_id}/message_templates)."""

from django.core.management.base import BaseCommand, CommandError

from messaging.services.templates import template_sync
from messaging.whatsapp import GraphError


class Command(BaseCommand):
    help = "Fetch the business account's message templates from WhatsApp."

    def handle(self, *args, **options):
        try:
            result = template_sync()
        except GraphError as exc:
            raise CommandError(f"WhatsApp refused the sync: {exc.message}") from exc
        self.stdout.write(
            f"{result['total']} templates: {result['created']} new, {result['updated']} "
            f"updated, {result['removed']} removed."
        )
