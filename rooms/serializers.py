"""Output shapes of rooms: the room row (REST list and detail, the inbox page) in the
seed's `new_room_complete` shape, and its participants."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from boztell.output import OutputSerializer
from leads.serializers import LeadSerializer
from rooms.models import Room, RoomNote
from rooms.selectors import assigned_user_ids_of, room_filter_fields
from rooms.window import window_closes_at, window_fields


class ParticipantSerializer(OutputSerializer):
    """An agent on a room: assignment and read position."""

    user_id = serializers.UUIDField()
    username = serializers.CharField(source="user.username")
    display_name = serializers.CharField(source="user.name")
    role = serializers.CharField(source="user.role")
    is_assigned = serializers.BooleanField()
    assigned_at = serializers.DateTimeField(allow_null=True)
    last_read_at = serializers.DateTimeField(allow_null=True)


class LabelSerializer(OutputSerializer):
    """A label on a room."""

    name = serializers.SlugField()
    colour = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", help_text="#rrggbb")


class RoomFieldsSerializer(OutputSerializer):
    """The seed's room fields, shared by the room row and the `new_room_complete` and
    `room_merged` events."""

    room_id = serializers.UUIDField(source="id")
    room_phone = serializers.SerializerMethodField(
        help_text='The customer\'s wa_id, or "" when Meta shows no number (BSUID only).'
    )
    room_title = serializers.CharField(source="display_title")
    room_user_id = serializers.CharField(source="user_id", allow_null=True, help_text="The BSUID.")
    room_username = serializers.SerializerMethodField()
    room_created_at = serializers.DateTimeField(source="created_at")
    room_updated_at = serializers.DateTimeField(source="updated_at")
    leads_id = serializers.UUIDField(source="lead_id", allow_null=True)
    leads_info = LeadSerializer(source="lead", allow_null=True)
    last_message_text = serializers.CharField(allow_null=True)
    last_message_timestamp = serializers.DateTimeField(source="last_message_at", allow_null=True)
    last_message_type = serializers.CharField(allow_null=True)
    message_count = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Room.Status.choices)
    snoozed_until = serializers.DateTimeField(
        allow_null=True, help_text="A snoozed room opens again by itself at this time."
    )
    team_id = serializers.UUIDField(
        allow_null=True, help_text="The team the room is routed to, if any."
    )
    labels = serializers.SerializerMethodField()
    window_open = serializers.SerializerMethodField(
        help_text="Whether free-form messages may be sent now (the 24-hour window, by the "
        "server's clock); else only a template."
    )
    window_closes_at = serializers.SerializerMethodField(
        help_text="When the 24-hour window closes (or closed); null if the customer never wrote."
    )

    def get_room_phone(self, room: Room) -> str:
        # The seed's string: the wa_id, or "" for a customer Meta shows no number of.
        return room.phone or ""

    def get_room_username(self, room: Room) -> str | None:
        return room.username or None

    @extend_schema_field(LabelSerializer(many=True))
    def get_labels(self, room: Room) -> list:
        # By name; prefetched by the room list, else one query.
        return LabelSerializer.render_many(sorted(room.labels.all(), key=lambda label: label.name))

    def get_window_open(self, room: Room) -> bool:
        return window_fields(room.last_customer_message_at)["window_open"]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_window_closes_at(self, room: Room):
        return window_closes_at(room.last_customer_message_at)


class RoomSerializer(RoomFieldsSerializer):
    """A room row, as one user sees it: the room list, one room, and the answers of assign,
    unassign, lead and labels. Reads `room.participants.all()` (prefetch it),
    `room.unread_count` (annotated by rooms.selectors; 0 without) and `room.seen_by` (the
    user; set by rooms.payloads.room_row)."""

    last_customer_message_at = serializers.DateTimeField(
        allow_null=True, help_text="The customer's latest message: the 24-hour window's start."
    )
    unread_count = serializers.SerializerMethodField()
    participants = ParticipantSerializer(many=True)
    assigned_user_ids = serializers.SerializerMethodField()

    assigned_to_me = serializers.SerializerMethodField(
        help_text="The caller is assigned to the room (it is in filter=mine)."
    )
    unassigned = serializers.SerializerMethodField(
        help_text="Nobody is assigned (the room is in filter=unassigned)."
    )

    def get_unread_count(self, room: Room) -> int:
        return getattr(room, "unread_count", 0)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_assigned_user_ids(self, room: Room) -> list:
        return assigned_user_ids_of(room.participants.all())

    def get_assigned_to_me(self, room: Room) -> bool:
        return self._filters(room)["assigned_to_me"]

    def get_unassigned(self, room: Room) -> bool:
        return self._filters(room)["unassigned"]

    def _filters(self, room: Room) -> dict:
        assigned = self.get_assigned_user_ids(room)
        return room_filter_fields(assigned_user_ids=assigned, user=room.seen_by)


class UserRefSerializer(OutputSerializer):
    """A user as a note names them (its author, its mentions)."""

    user_id = serializers.UUIDField(source="pk")
    username = serializers.CharField()
    display_name = serializers.CharField(source="name")


class NoteSerializer(OutputSerializer):
    """A private note, as REST (GET and POST /rooms/{id}/notes) and the `room_note_created`
    and `note_mention` events show it: plain text (render it as text, never as HTML)."""

    id = serializers.UUIDField()
    room_id = serializers.UUIDField()
    author = UserRefSerializer()
    text = serializers.CharField()
    mentions = serializers.SerializerMethodField(
        help_text="The @mentioned users who were notified."
    )
    created_at = serializers.DateTimeField()

    @extend_schema_field(UserRefSerializer(many=True))
    def get_mentions(self, note: RoomNote) -> list:
        return UserRefSerializer.render_many(sorted(note.mentions.all(), key=lambda u: u.username))
