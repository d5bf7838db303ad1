"""Room rows for the API, in the seed's `new_room_complete` shape (one shape for the room
list, the room detail and the event)."""

from rooms.events import leads_info, participant_row
from rooms.models import Room


def room_row(room: Room) -> dict:
    participants = [participant_row(p) for p in room.participants.all()]
    return {
        "room_id": room.id,
        "room_phone": room.phone,
        "room_title": room.display_title,
        "room_created_at": room.created_at,
        "room_updated_at": room.updated_at,
        "leads_id": room.lead_id,
        "leads_info": leads_info(room.lead),
        "last_message_text": room.last_message_text,
        "last_message_timestamp": room.last_message_at,
        "last_message_type": room.last_message_type,
        "last_customer_message_at": room.last_customer_message_at,
        "unread_count": getattr(room, "unread_count", 0),
        "message_count": room.message_count,
        "participants": participants,
        "assigned_user_ids": [p["user_id"] for p in participants if p["is_assigned"]],
    }
