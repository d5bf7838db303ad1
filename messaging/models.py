"""Messages: exactly the seed's `messages` columns (user_id NULL = the customer)."""

import uuid

from django.conf import settings
from django.db import models


class Message(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        RECEIVED = "received", "Received"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: a room is never deleted with what its customer wrote (a merge moves the
    # messages first: messaging.services.customers.conversation_merge).
    room = models.ForeignKey("rooms.Room", on_delete=models.PROTECT, related_name="messages")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        help_text="NULL: the customer wrote it. Otherwise the agent who sent it.",
    )
    content_type = models.TextField()
    content_text = models.TextField(null=True, blank=True)
    wa_message_id = models.TextField(null=True, blank=True)
    reply_to_wa_message_id = models.TextField(null=True, blank=True)
    reaction_emoji = models.TextField(null=True, blank=True)
    reaction_to_wa_message_id = models.TextField(null=True, blank=True)
    media_type = models.TextField(null=True, blank=True)
    media_id = models.TextField(null=True, blank=True)
    gcs_filename = models.TextField(null=True, blank=True)
    gcs_url = models.TextField(null=True, blank=True)
    file_size = models.IntegerField(null=True, blank=True)
    mime_type = models.TextField(null=True, blank=True)
    original_filename = models.TextField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True, default=dict)
    status = models.TextField(null=True, blank=True, choices=Status.choices)
    status_timestamp = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "messages"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["wa_message_id"],
                condition=models.Q(wa_message_id__isnull=False),
                name="messages_wa_message_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["room", "created_at", "id"], name="messages_room_timeline_idx"),
            models.Index(fields=["reaction_to_wa_message_id"], name="messages_reaction_to_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type} {self.wa_message_id or self.id}"

    @property
    def is_from_customer(self) -> bool:
        return self.user_id is None


class PendingStatus(models.Model):
    """A status webhook for a wa_message_id not stored yet (Meta's `sent` can overtake our
    own send's response). Applied when that message is stored."""

    wa_message_id = models.TextField()
    status = models.TextField()
    status_timestamp = models.DateTimeField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "pending_statuses"
        constraints = [
            models.UniqueConstraint(
                fields=["wa_message_id", "status"], name="pending_status_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} for {self.wa_message_id}"


class MessageTemplate(models.Model):
    """A WhatsApp message template, synced from GET /{waba_id}/message_templates."""

    class Status(models.TextChoices):
        APPROVED = "APPROVED", "Approved"
        PENDING = "PENDING", "Pending"
        REJECTED = "REJECTED", "Rejected"
        PAUSED = "PAUSED", "Paused"
        DISABLED = "DISABLED", "Disabled"

    meta_id = models.TextField(blank=True)
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=15)
    status = models.CharField(max_length=20)
    category = models.CharField(max_length=30, blank=True)
    components = models.JSONField(default=list)
    synced_at = models.DateTimeField()

    class Meta:
        db_table = "message_templates"
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["name", "language"], name="template_name_language"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    def component(self, kind: str) -> dict | None:
        return next((c for c in self.components if c.get("type", "").upper() == kind), None)


class TemplateSyncState(models.Model):
    """When templates were last fetched from Meta (one row, shared by every process): a
    send of a template not known here refreshes at most once per TEMPLATE_REFRESH_SECONDS."""

    attempted_at = models.DateTimeField()
    succeeded_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "template_sync_state"

    def __str__(self) -> str:
        return f"templates fetched {self.succeeded_at or 'never'}"


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key: a repeated request returns the first result."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "idempotency_keys"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key"),
        ]

    def __str__(self) -> str:
        return self.key
