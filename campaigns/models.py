"""Campaigns: one approved template sent to a frozen audience, one row per recipient.

A recipient is messaged at most once, ever (DESIGN.md invariant 14): the audience is
frozen into CampaignRecipient rows at start, unique per campaign and customer identity;
a worker marks a row `sending` (committed) before it calls Meta, and a row left `sending`
by a dead worker becomes `unknown`, never sent again by itself.
"""

import uuid

from django.conf import settings
from django.db import models


class CampaignQuerySet(models.QuerySet):
    def light(self):
        """Without the uploaded rows (megabytes for a large audience)."""
        return self.defer("audience_rows", "preview")


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"

    class Audience(models.TextChoices):
        ROWS = "rows", "Uploaded rows (CSV/XLSX) or a lead list"
        SEGMENT = "segment", "Lead segment (resolved at preview and at start)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    template = models.ForeignKey(
        "messaging.MessageTemplate", on_delete=models.PROTECT, related_name="campaigns"
    )
    audience_kind = models.CharField(max_length=10, choices=Audience.choices, default=Audience.ROWS)
    # Rows: [{"to": phone or BSUID, "lead_id": uuid or None, "columns": {...}}, ...]
    audience_rows = models.JSONField(default=list, blank=True)
    audience_columns = models.JSONField(default=list, blank=True)
    audience_size = models.PositiveIntegerField(default=0, help_text="Rows uploaded.")
    audience_source = models.CharField(
        max_length=255, blank=True, help_text="The uploaded file's name, or 'leads'."
    )
    segment_id = models.UUIDField(
        null=True, blank=True, help_text="A leads Segment's id (audience_kind=segment)."
    )
    # {"body": [spec, ...] (positional) or {"name": spec} (named), "header": spec,
    #  "buttons": {"0": spec}}; spec: {"column": "x", "format": "text|idr|date_id"} or
    #  {"value": "fixed text"}. Header media: {"type": "image", "link"|"media_id"|"column"}.
    parameters = models.JSONField(default=dict, blank=True)
    start_at = models.DateTimeField(null=True, blank=True, help_text="Empty: at start.")
    only_business_hours = models.BooleanField(default=False)
    frequency_cap = models.BooleanField(
        default=False,
        help_text="Skip customers who already got a campaign message this day (Jakarta).",
    )
    retry_frequency_capped_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Meta's 131049 (marketing frequency cap): send again after this many "
        "hours. Empty: never.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.CharField(max_length=200, blank=True)
    phone_number_id = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)
    previewed_version = models.PositiveIntegerField(null=True, blank=True)
    preview = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaigns"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        db_table = "campaigns"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "start_at"], name="campaigns_due_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_marketing(self) -> bool:
        return (self.template.category or "").upper() == "MARKETING"


class CampaignRecipient(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        REPLIED = "replied", "Replied"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown (in flight when a worker stopped)"
        EXCLUDED = "excluded", "Excluded"

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    line = models.PositiveIntegerField(help_text="The audience row it came from (1-based).")
    identity = models.CharField(
        max_length=160, blank=True, help_text="The normalised phone, else the BSUID."
    )
    phone = models.CharField(max_length=20, null=True, blank=True)
    user_id = models.CharField("BSUID", max_length=160, null=True, blank=True)
    lead_id = models.UUIDField(null=True, blank=True)
    room = models.ForeignKey(
        "rooms.Room", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    columns = models.JSONField(default=dict, blank=True)
    components = models.JSONField(default=list, blank=True)
    rendered_text = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(
        max_length=100, blank=True, help_text="Why excluded or failed (a stable code)."
    )
    error = models.JSONField(null=True, blank=True, help_text="Meta's error, as Meta gave it.")
    message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "campaign_recipients"
        ordering = ["campaign", "line"]
        constraints = [
            # One row per customer per campaign (excluded duplicates are kept beside it).
            models.UniqueConstraint(
                fields=["campaign", "identity"],
                condition=~models.Q(status="excluded"),
                name="campaign_recipient_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "status", "next_attempt_at", "line"],
                name="campaign_recipient_queue_idx",
            ),
            models.Index(fields=["message"], name="campaign_recipient_message_idx"),
            models.Index(fields=["identity", "sent_at"], name="campaign_recipient_cap_idx"),
            models.Index(fields=["room", "sent_at"], name="campaign_recipient_room_idx"),
            models.Index(fields=["updated_at"], name="campaign_recipient_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.identity or '-'} in {self.campaign_id}"


class OptOut(models.Model):
    """A customer who asked for no more marketing (keyword or opt-out button). Kept here
    for customers without a lead, and as the record of when and how; a lead's own
    `do_not_contact` (leads app) is set as well when it exists."""

    identity = models.CharField(max_length=160, unique=True)
    room = models.ForeignKey(
        "rooms.Room", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead_id = models.UUIDField(null=True, blank=True)
    source = models.CharField(max_length=200, help_text="The keyword or button payload.")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "campaign_opt_outs"

    def __str__(self) -> str:
        return f"{self.identity} opted out"
