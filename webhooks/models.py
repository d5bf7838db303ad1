"""Webhook bodies kept as they arrived, for the queued set-up (WEBHOOK_QUEUE=true): the
view stores a verified body in one INSERT and answers; `manage.py webhook_worker` turns
bodies into messages in batches. A body leaves the table in the transaction that stores
what it carries, so a crash in between processes it again (and the messages' unique
wa_message_id makes that harmless)."""

from django.db import models


class Delivery(models.Model):
    id = models.BigAutoField(primary_key=True)
    body = models.TextField(help_text="The raw JSON body, as Meta signed it.")
    received_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when processing failed for good; kept to inspect."
    )

    class Meta:
        db_table = "webhook_deliveries"
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"delivery {self.id}"
