"""Leads: the loan company's customers and prospects (the seed's `leads_info`), their typed
attributes from imports, saved segments and the record of each import."""

import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    COLD = "cold", "Cold"
    WARM = "warm", "Warm"
    HOT = "hot", "Hot"
    COLLECTION = "collection", "Collection"
    PAID = "paid", "Paid"
    LOST = "lost", "Lost"


class ContactStatus(models.TextChoices):
    UNCONTACTED = "uncontacted", "Uncontacted"
    CONTACTED = "contacted", "Contacted"
    PROMISE_TO_PAY = "promise_to_pay", "Promise to pay"
    UNREACHABLE = "unreachable", "Unreachable"
    DO_NOT_CONTACT = "do_not_contact", "Do not contact"


# What a person may set on a lead (the admin form, the API, an import's columns besides
# attributes): the one list.
LEAD_FIELDS = (
    "name",
    "phone",
    "outstanding",
    "loan_type",
    "leads_status",
    "contact_status",
    "do_not_contact",
    "attributes",
)


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
    do_not_contact = models.BooleanField(
        default=False, help_text="Never in a marketing audience (campaigns, segments)."
    )
    # Typed values keyed by LeadAttribute.key: dates as "YYYY-MM-DD", money and numbers as
    # JSON numbers, text as strings, so that range filters compare them as their type
    # (jsonb on PostgreSQL, JSON1 on SQLite).
    attributes = models.JSONField(default=dict, blank=True)
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
        permissions = [
            ("import_leads", "Can import leads from CSV/XLSX"),
            ("export_leads", "Can export leads as CSV/XLSX"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})"


class LeadAttribute(models.Model):
    """The definition of one typed lead attribute (a spreadsheet column that is not a lead
    field: due date, instalment, DPD, branch...). Its type decides how values are read,
    stored, filtered and shown."""

    class Type(models.TextChoices):
        DATE = "date", "Date"
        MONEY = "money", "Money (IDR)"
        NUMBER = "number", "Number"
        TEXT = "text", "Text"

    key = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "lead_attributes"
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_type_display()})"


class Segment(models.Model):
    """A saved filter over leads (see leads.selectors.leads_matching for its keys)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    filters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "lead_segments"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadImport(models.Model):
    """One import of a spreadsheet: its options, how far it got, and its report."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Previewed"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to="lead_imports/", max_length=255, blank=True)
    original_name = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    dry_run = models.BooleanField(default=False)
    options = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    committed_through_line = models.PositiveIntegerField(
        null=True, blank=True, help_text="Every row up to this line is stored."
    )
    error = models.TextField(blank=True)
    issues = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "lead_imports"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"
