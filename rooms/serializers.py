"""Output shapes of rooms: the room row (REST list and detail, the inbox page) in the
seed's `new_room_complete` shape, and its participants."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from boztell.output import OutputSerializer
from leads.serializers import LeadSerializer
from rooms.models import Room


class ParticipantSerializer(OutputSerializer):
    """An agent on a room: assignment and read position."""

    user_id = serializers.UUIDField()
    username = serializers.CharField(source="user.username")
    display_name = serializers.CharField(source="user.name")
    role = serializers.CharField(source="user.role")
    is_assigned = serializers.BooleanField()
    assigned_at = serializers.DateTimeField(allow_null=True)
    last_read_at = serializers.DateTimeField(allow_null=True)


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

    def get_room_phone(self, room: Room) -> str:
        # The seed's string: the wa_id, or "" for a customer Meta shows no number of.
        return room.phone or ""

    def get_room_username(self, room: Room) -> str | None:
        return room.username or None


class RoomSerializer(RoomFieldsSerializer):
    """A room row: the room list, one room, and the answers of assign, unassign and lead.
    Reads `room.participants.all()` (prefetch it) and `room.unread_count` (annotated by
    rooms.selectors; 0 without)."""

    last_customer_message_at = serializers.DateTimeField(
        allow_null=True, help_text="The customer's latest message: the 24-hour window's start."
    )
    unread_count = serializers.SerializerMethodField()
    participants = ParticipantSerializer(many=True)
    assigned_user_ids = serializers.SerializerMethodField()

    def get_unread_count(self, room: Room) -> int:
        return getattr(room, "unread_count", 0)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_assigned_user_ids(self, room: Room) -> list:
        return [p.user_id for p in room.participants.all() if p.is_assigned]
