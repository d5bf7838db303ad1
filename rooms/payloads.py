"""Room rows for the API, in the seed's `new_room_complete` shape (one shape for the room
list, the room detail and the event)."""

from rooms.events import participant_row, room_fields
from rooms.models import Room
from rooms.selectors import room_filter_fields


def room_row(room: Room, *, user) -> dict:
    """The room as `user` sees it: their unread count and which filters it is in for them."""
    participants = [participant_row(p) for p in room.participants.all()]
    assigned = [p["user_id"] for p in participants if p["is_assigned"]]
    return {
        **room_fields(room),
        "last_customer_message_at": room.last_customer_message_at,
        "unread_count": getattr(room, "unread_count", 0),
        "participants": participants,
        "assigned_user_ids": assigned,
        **room_filter_fields(assigned_user_ids=assigned, user=user),
    }
