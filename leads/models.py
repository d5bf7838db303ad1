"""Leads: the loan company's customers and prospects (the seed's `leads_info`)."""

import uuid

from django.db import models
from simple_history.models import HistoricalRecords


class Lead(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    phone = models.CharField(
        max_length=20, unique=True, help_text="Normalised to WhatsApp's wa_id form: 62812..."
    )
    outstanding = models.DecimalField(
        max_digits=18, decimal_places=2, default=0, help_text="Outstanding amount in IDR."
    )
    loan_type = models.CharField(max_length=100, blank=True)
    leads_status = models.CharField(max_length=50, blank=True)
    contact_status = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Who changed a lead's fields, when (the lead's admin history page; issue 15.8).
    history = HistoricalRecords(table_name="leads_history", excluded_fields=["updated_at"])

    class Meta:
        db_table = "leads"
        ordering = ["name"]
        indexes = [
            models.Index(fields=["leads_status"], name="leads_status_idx"),
            models.Index(fields=["contact_status"], name="leads_contact_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})"
