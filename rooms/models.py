"""Rooms (one per customer phone) and their participants (assignment and read state)."""

import uuid

from django.conf import settings
from django.db import models


class Room(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone = models.CharField(max_length=20, unique=True, help_text="The customer's wa_id.")
    title = models.CharField(max_length=200, blank=True)
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="rooms"
    )
    # What the room list shows, kept on the row so the list needs no extra queries.
    last_message_text = models.TextField(null=True, blank=True)
    last_message_type = models.CharField(max_length=32, null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    # The customer's latest inbound message opens WhatsApp's 24-hour service window.
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "rooms"
        ordering = ["-last_message_at"]
        indexes = [
            models.Index(fields=["-last_message_at", "-id"], name="rooms_latest_idx"),
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        """What the inbox shows: the lead's name, else the WhatsApp profile name, else the
        phone. Never "Unknown"."""
        if self.lead_id and self.lead and self.lead.name:
            return self.lead.name
        return self.title or self.phone


class RoomParticipant(models.Model):
    """A user's place in a room: assigned or not, and how far they have read."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_participations"
    )
    is_assigned = models.BooleanField(default=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_read_at = models.DateTimeField(
        null=True, blank=True, help_text="Customer messages after this are unread."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "room_participants"
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="room_participant_unique"),
        ]
        indexes = [models.Index(fields=["user", "is_assigned"], name="participant_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.room}"
