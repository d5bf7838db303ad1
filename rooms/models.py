"""Rooms (one per customer) and their participants (assignment and read state).

A customer is known to Meta by phone (`wa_id`, only when Meta shows it), by business-scoped
user ID (BSUID, always since 2026) and by username; a room keeps each it has seen, and
each id belongs to one room at most."""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

COLOUR = r"^#[0-9a-fA-F]{6}$"


class Room(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending (waiting on the customer)"
        SNOOZED = "snoozed", "Snoozed"
        RESOLVED = "resolved", "Resolved"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    phone = models.CharField(
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        help_text="The customer's wa_id (62812...), when Meta shows it.",
    )
    user_id = models.CharField(
        "BSUID",
        max_length=160,
        unique=True,
        null=True,
        blank=True,
        help_text="The customer's business-scoped user ID (ID.2081978709342942).",
    )
    username = models.CharField(max_length=100, blank=True, default="")
    title = models.CharField(max_length=200, blank=True)
    lead = models.ForeignKey(
        "leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="rooms"
    )
    labels = models.ManyToManyField("rooms.Label", through="rooms.RoomLabel", blank=True)
    # What the room list shows, kept on the row so the list needs no extra queries.
    last_message_text = models.TextField(null=True, blank=True)
    last_message_type = models.CharField(max_length=32, null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    # The customer's latest inbound message opens WhatsApp's 24-hour service window.
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(
        null=True, blank=True, help_text="A snoozed room opens again by itself at this time."
    )
    team = models.ForeignKey(
        "rooms.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="rooms"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Who changed what, when (admin history page); the room list's fields change with every
    # message and are not history.
    history = HistoricalRecords(
        table_name="rooms_history",
        excluded_fields=[
            "last_message_text",
            "last_message_type",
            "last_message_at",
            "message_count",
            "last_customer_message_at",
            "updated_at",
        ],
    )

    class Meta:
        db_table = "rooms"
        ordering = ["-last_message_at"]
        indexes = [
            models.Index(fields=["-last_message_at", "-id"], name="rooms_latest_idx"),
            # The room list by status (?status=open, the inbox's default view).
            models.Index(
                fields=["status", "-last_message_at", "-id"], name="rooms_status_latest_idx"
            ),
            # The snooze wake-up finds due rooms without a scan.
            models.Index(
                fields=["snoozed_until"],
                name="rooms_snoozed_idx",
                condition=models.Q(status="snoozed"),
            ),
            # A team's queue: its unassigned rooms, oldest first.
            models.Index(fields=["team", "status", "created_at"], name="rooms_team_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(phone__isnull=False) | models.Q(user_id__isnull=False),
                name="room_has_a_customer_id",
            ),
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        """What the inbox shows: the lead's name, else the WhatsApp profile name, else
        `@username`, else the phone. Never "Unknown", never a raw BSUID."""
        if self.lead_id and self.lead and self.lead.name:
            return self.lead.name
        if self.title:
            return self.title
        if self.username:
            return f"@{self.username.lstrip('@')}"
        return self.phone or NO_NAME


NO_NAME = "WhatsApp customer"  # no profile name, username or phone: never "Unknown"


class Label(models.Model):
    """A tag supervisors define (admin) and agents put on rooms: `janji-bayar`, `vip`."""

    name = models.SlugField(
        max_length=50, unique=True, help_text="Lowercase letters, digits and dashes."
    )
    colour = models.CharField(
        max_length=7,
        default="#6b7280",
        validators=[RegexValidator(COLOUR, "A colour is #rrggbb (six hex digits).")],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "labels"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(colour__regex=COLOUR), name="label_colour"),
        ]

    def __str__(self) -> str:
        return self.name


class RoomLabel(models.Model):
    """A label on a room; (label, room) is indexed for the room list's `?label=` filter."""

    # Both lookups are served by the two composite indexes below, not by FK indexes.
    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, related_name="room_labels", db_index=False
    )
    label = models.ForeignKey(
        Label, on_delete=models.CASCADE, related_name="room_labels", db_index=False
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "room_labels"
        constraints = [
            models.UniqueConstraint(fields=["room", "label"], name="room_label_unique"),
        ]
        indexes = [models.Index(fields=["label", "room"], name="room_labels_label_idx")]

    def __str__(self) -> str:
        return f"{self.label} on {self.room_id}"


class RoomNote(models.Model):
    """A private note agents leave in a room: never sent to WhatsApp, never a message."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="notes", db_index=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="room_notes"
    )
    text = models.TextField(help_text="Plain text, shown as text (never as HTML).")
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="note_mentions",
        help_text="The @mentioned users who were notified (those who may see the room).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "room_notes"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["room", "created_at", "id"], name="room_notes_idx")]

    def __str__(self) -> str:
        return f"note by {self.author_id} in {self.room_id}"


class RoomParticipant(models.Model):
    """A user's place in a room: assigned or not, and how far they have read."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_participations"
    )
    # Assignment decides who may see the room (rooms/selectors.py): only an assignment
    # sets it, so a participant row made for another reason (a read position) shows no
    # one the room.
    is_assigned = models.BooleanField(default=False)
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


class Team(models.Model):
    """A group of agents (sales, collection) that rooms are routed to, and how the team
    hands its rooms out: by hand, round robin, or to the agent with the fewest open rooms."""

    class Mode(models.TextChoices):
        MANUAL = "manual", "Manual (agents claim rooms from the team queue)"
        ROUND_ROBIN = "round_robin", "Round robin"
        BALANCED = "balanced", "Balanced (fewest open rooms)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.MANUAL)
    is_default = models.BooleanField(
        default=False, help_text="Rooms no routing rule matches go to this team."
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams", blank=True
    )
    # Round robin's cursor: the member who got the team's last room (fair across restarts
    # and processes: it lives in the row that assignment locks).
    last_assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "teams"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_team"
            )
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "team_memberships"
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class RoutingRule(models.Model):
    """Rooms whose lead matches go to `team`; rules are tried by `position`, the first
    match wins; a room no rule matches goes to the default team (if any)."""

    position = models.PositiveIntegerField(default=0)
    loan_type = models.CharField(
        max_length=100, blank=True, help_text="The lead's loan_type; empty matches any."
    )
    leads_status = models.CharField(
        max_length=50, blank=True, help_text="The lead's leads_status; empty matches any."
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="rules")

    class Meta:
        db_table = "routing_rules"
        ordering = ["position", "id"]

    def __str__(self) -> str:
        what = " and ".join(
            f"{name}={value}"
            for name, value in (("loan_type", self.loan_type), ("leads_status", self.leads_status))
            if value
        )
        return f"{what or 'any lead'} -> {self.team}"


class RoomActivity(models.Model):
    """One line of a room's timeline: who changed its status, assignment, team, lead or
    labels, when (the room's audit trail, with Room's simple-history records)."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status changed"
        ASSIGNED = "assigned", "Assignment changed"
        TEAM = "team", "Team changed"
        LEAD = "lead", "Lead linked"
        LABELS = "labels", "Labels changed"

    id = models.BigAutoField(primary_key=True)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="activity")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the customer or the system (data.by says which).",
    )
    data = models.JSONField(default=dict)
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "room_activity"
        indexes = [models.Index(fields=["room", "created_at", "id"], name="room_activity_idx")]
        verbose_name_plural = "room activity"

    def __str__(self) -> str:
        return self.text
