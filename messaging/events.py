"""Message events in the seed's shapes, and the emitters that send them after commit.

`new_room_complete` carries the room, its first saved message, the lead and the
participants; `new_message` and `room:new_message` carry the stored message;
`message_status`, `message_reaction` and `message_updated` what changed. Who hears them is
the room's audience (rooms.selectors, "Who may see a room")."""

from django.utils import timezone

from boztell.realtime import broadcast_on_commit, room_group
from messaging.models import Message
from messaging.selectors import counts_as_unread
from messaging.serializers import MessageSerializer
from rooms.events import participants_payload, room_fields
from rooms.models import Room, RoomParticipant
from rooms.selectors import room_audience, room_event_groups, rooms_audience
from rooms.serializers import ParticipantSerializer
from rooms.window import window_fields


def message_payload(message: Message) -> dict:
    """The seed's `new_message` payload (messaging.serializers.MessageSerializer)."""
    return MessageSerializer.render(message)


def new_room_complete_payload(room: Room, message: Message, participants=None) -> dict:
    """`participants`: the room's, when the caller read them (else one query)."""
    return {
        **room_fields(room),
        "last_message": {
            "id": message.id,
            "content_text": message.content_text,
            "content_type": message.content_type,
            "created_at": message.created_at,
            "user_id": message.user_id,
            "wa_message_id": message.wa_message_id,
        },
        "unread_count": 1 if message.user_id is None else 0,
        "participants": participants_payload(room)
        if participants is None
        else ParticipantSerializer.render_many(participants),
    }


def status_payload(message: Message) -> dict:
    metadata = message.metadata or {}
    return {
        "id": message.id,
        "wa_message_id": message.wa_message_id,
        "room_id": message.room_id,
        "status": message.status,
        "status_timestamp": message.status_timestamp,
        "error": metadata.get("error"),
    }


def reaction_payload(message: Message) -> dict:
    return {
        "id": message.id,
        "room_id": message.room_id,
        "user_id": message.user_id,
        "wa_message_id": message.wa_message_id,
        "reaction_emoji": message.reaction_emoji,
        "reaction_to_wa_message_id": message.reaction_to_wa_message_id,
        "created_at": message.created_at,
    }


def emit_message_created(*, room: Room, message: Message, room_created: bool) -> None:
    """The first message of a new room goes out once, inside `new_room_complete`;
    every later one as `new_message` (room list) and `room:new_message` (open room)."""
    if room_created:
        broadcast_on_commit(
            room_event_groups(room=room),
            "new_room_complete",
            new_room_complete_payload(room, message),
            room_id=room.pk,
        )
        return
    emit_messages_created(
        messages=[message],
        assigned={room.pk: room_audience(room=room)},
        last_customer_message_at={room.pk: room.last_customer_message_at},
    )


def emit_rooms_created(*, firsts: list[tuple[Room, Message]]) -> None:
    """new_room_complete for many new rooms at once (a campaign's new customers), as
    emit_message_created sends it for one: their audiences and participants read in three
    queries, not two a room. The rooms come with their lead and labels read."""
    room_ids = [room.pk for room, _ in firsts]
    audience = rooms_audience(room_ids=room_ids)
    participants: dict = {room_id: [] for room_id in room_ids}
    for participant in RoomParticipant.objects.filter(room_id__in=room_ids).select_related("user"):
        participants[participant.room_id].append(participant)
    for room, message in firsts:
        broadcast_on_commit(
            room_event_groups(assigned_user_ids=audience[room.pk]),
            "new_room_complete",
            new_room_complete_payload(room, message, participants[room.pk]),
            room_id=room.pk,
        )


def new_message_payload(message: Message, *, last_customer_message_at=None, now=None) -> dict:
    """`new_message` (and `room:new_message`): the stored message, plus what it does to its
    room for a client keeping a room list: whether it counts as unread for whoever has not
    read it, and the room's 24-hour window after it. A customer's message opens the window
    from its own time (the room's last_customer_message_at is that time now); another
    message leaves the room's window as it was (`last_customer_message_at`)."""
    if message.user_id is None:
        last_customer_message_at = message.created_at
    return {
        **message_payload(message),
        "counts_as_unread": counts_as_unread(message),
        **window_fields(last_customer_message_at, now),
    }


def emit_messages_created(
    *, messages: list[Message], assigned: dict, last_customer_message_at: dict | None = None
) -> None:
    """Messages stored into existing rooms, in order; `assigned` maps each room id to its
    assigned agents' ids, read under the rooms' row lock; `last_customer_message_at` each
    room's (needed only for messages not from the customer)."""
    known = last_customer_message_at or {}
    now = timezone.now()  # one moment for the run's windows
    for message in messages:
        room_id = message.room_id
        payload = new_message_payload(message, last_customer_message_at=known.get(room_id), now=now)
        audience = assigned[room_id]
        groups = room_event_groups(assigned_user_ids=audience)
        broadcast_on_commit(groups, "new_message", payload, room_id=room_id)
        # The same message for sockets that joined the room; read back as new_message.
        broadcast_on_commit(
            [room_group(room_id)], "room:new_message", payload, logged=False, audience=audience
        )


def emit_message_status(*, message: Message) -> None:
    emit_message_statuses(
        payloads=[status_payload(message)],
        assigned={message.room_id: room_audience(room=message.room)},
    )


def emit_message_statuses(*, payloads: list[dict], assigned: dict) -> None:
    """Status changes in order (payloads from status_payload, taken at each step);
    `assigned` maps each room id to its assigned agents' ids."""
    for payload in payloads:
        room_id = payload["room_id"]
        broadcast_on_commit(
            room_event_groups(assigned_user_ids=assigned[room_id]),
            "message_status",
            payload,
            room_id=room_id,
        )


def emit_message_reaction(*, message: Message) -> None:
    broadcast_on_commit(
        room_event_groups(room=message.room),
        "message_reaction",
        reaction_payload(message),
        room_id=message.room_id,
    )


def emit_message_updated(*, message: Message) -> None:
    """A stored message changed (its media arrived or failed for good)."""
    broadcast_on_commit(
        room_event_groups(room=message.room),
        "message_updated",
        message_payload(message),
        room_id=message.room_id,
    )
