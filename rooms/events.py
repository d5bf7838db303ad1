"""Event payloads in the seed's shapes, and the emitters that send them after commit.

`new_room_complete` carries the room, its first saved message, the lead and the
participants; `new_message` and `room:new_message` carry the stored message.
"""

from boztell.realtime import broadcast_on_commit, room_group
from leads.models import Lead
from leads.serializers import LeadSerializer
from messaging.models import Message
from messaging.selectors import counts_as_unread
from messaging.serializers import MessageSerializer
from rooms.models import Room, RoomActivity, RoomNote, RoomParticipant
from rooms.selectors import (
    room_assigned_user_ids,
    room_audience,
    room_event_groups,
)
from rooms.serializers import LabelSerializer, ParticipantSerializer, RoomFieldsSerializer
from rooms.window import window_fields


def message_payload(message: Message) -> dict:
    """The seed's `new_message` payload (messaging.serializers.MessageSerializer)."""
    return MessageSerializer.render(message)


def leads_info(lead: Lead | None) -> dict | None:
    return None if lead is None else LeadSerializer.render(lead)


def participants_payload(room: Room) -> list[dict]:
    return ParticipantSerializer.render_many(
        RoomParticipant.objects.filter(room=room).select_related("user")
    )


def room_fields(room: Room) -> dict:
    """The seed's room fields, shared by new_room_complete and the rooms API."""
    return RoomFieldsSerializer.render(room)


def labels_payload(room: Room) -> list[dict]:
    """The room's labels by name (prefetched by the room list, else one query)."""
    return LabelSerializer.render_many(sorted(room.labels.all(), key=lambda label: label.name))


def new_room_complete_payload(room: Room, message: Message) -> dict:
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
        "participants": participants_payload(room),
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


def new_message_payload(message: Message, *, last_customer_message_at=None) -> dict:
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
        **window_fields(last_customer_message_at),
    }


def emit_messages_created(
    *, messages: list[Message], assigned: dict, last_customer_message_at: dict | None = None
) -> None:
    """Messages stored into existing rooms, in order; `assigned` maps each room id to its
    assigned agents' ids, read under the rooms' row lock; `last_customer_message_at` each
    room's (needed only for messages not from the customer)."""
    known = last_customer_message_at or {}
    for message in messages:
        payload = new_message_payload(message, last_customer_message_at=known.get(message.room_id))
        groups = room_event_groups(assigned_user_ids=assigned[message.room_id])
        broadcast_on_commit(groups, "new_message", payload, room_id=message.room_id)
        # The same message for sockets that joined the room; read back as new_message.
        broadcast_on_commit(
            [room_group(message.room_id)],
            "room:new_message",
            payload,
            logged=False,
            audience=assigned[message.room_id],
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


def emit_room_read(*, user, room: Room, read_at) -> None:
    """An agent's unread count for a room went to zero: seen in all that agent's tabs."""
    from boztell.realtime import user_group

    broadcast_on_commit(
        [user_group(user.pk)],
        "room_read",
        {"room_id": room.pk, "user_id": user.pk, "last_read_at": read_at, "unread_count": 0},
        user_id=user.pk,
    )


def emit_room_assigned(
    *, room: Room, previous_user_ids: list, by, activity: RoomActivity | None = None
) -> None:
    """Assignment (or the room's team) changes who may see the room, so every agent and
    supervisor hears it. `assigned_by` is null for the automatic assignment."""
    from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP

    assigned = room_assigned_user_ids(room=room)
    broadcast_on_commit(
        [AGENTS_GROUP, SUPERVISORS_GROUP],
        "room_assigned",
        {
            "room_id": room.pk,
            "assigned_user_ids": assigned,
            "previous_user_ids": previous_user_ids,
            "assigned_by": by.pk if by is not None else None,
            "team_id": room.team_id,
            "status": room.status,
            "activity": activity_payload(activity) if activity is not None else None,
        },
        room_id=None,
    )


def activity_payload(activity: RoomActivity) -> dict:
    """One line of a room's timeline (GET /rooms/{id}/activity, and inside events)."""
    actor = activity.actor
    return {
        "id": activity.id,
        "room_id": activity.room_id,
        "kind": activity.kind,
        "text": activity.text,
        "actor_id": activity.actor_id,
        "actor_name": actor.name if actor is not None else None,
        "data": activity.data,
        "created_at": activity.created_at,
    }


def emit_room_status_changed(
    *, room: Room, previous: str, by, source: str, activity: RoomActivity, audience=None
) -> None:
    """The room's status changed (an agent, the customer writing, a snooze ending)."""
    broadcast_on_commit(
        room_event_groups(room=room, assigned_user_ids=audience),
        "room_status_changed",
        {
            "room_id": room.pk,
            "status": room.status,
            "previous_status": previous,
            "snoozed_until": room.snoozed_until,
            "changed_by": by.pk if by is not None else None,
            "source": source,
            "activity": activity_payload(activity),
        },
        room_id=room.pk,
    )


def emit_lead_updated(*, lead: Lead, by) -> None:
    for room in Room.objects.filter(lead=lead):
        broadcast_on_commit(
            room_event_groups(room=room),
            "lead_updated",
            {"room_id": room.pk, "leads_info": leads_info(lead), "updated_by": by.pk},
            room_id=room.pk,
        )


def emit_room_merged(*, from_room_id, into: Room, groups: list[str]) -> None:
    """Two rooms were one person: `from_room_id` is gone, its messages are in `into`.
    Heard by whoever could see either room, and by sockets that joined either."""
    broadcast_on_commit(
        [*groups, room_group(from_room_id), room_group(into.pk)],
        "room_merged",
        {"from_room_id": from_room_id, "into_room_id": into.pk, **room_fields(into)},
        room_id=into.pk,
    )


def emit_room_lead_changed(*, room: Room, by) -> None:
    """A room was linked to a lead (or unlinked) by hand: `lead_updated` with the lead."""
    broadcast_on_commit(
        room_event_groups(room=room),
        "lead_updated",
        {
            "room_id": room.pk,
            "leads_info": leads_info(room.lead),
            "updated_by": by.pk,
            "leads_id": room.lead_id,
            "room_title": room.display_title,
        },
        room_id=room.pk,
    )


def emit_room_labels_changed(*, room: Room, added: list[str], removed: list[str], by) -> None:
    broadcast_on_commit(
        room_event_groups(room=room),
        "room_labels_changed",
        {
            "room_id": room.pk,
            "labels": labels_payload(room),
            "added": added,
            "removed": removed,
            "changed_by": by.pk,
        },
        room_id=room.pk,
    )


def _user_ref(user) -> dict:
    return {"user_id": user.pk, "username": user.username, "display_name": user.name}


def note_payload(note: RoomNote) -> dict:
    """A private note as REST and events show it. `text` is the author's plain text:
    clients render it as text, never as HTML."""
    return {
        "id": note.id,
        "room_id": note.room_id,
        "author": _user_ref(note.author),
        "text": note.text,
        "mentions": [_user_ref(u) for u in sorted(note.mentions.all(), key=lambda u: u.username)],
        "created_at": note.created_at,
    }


def emit_room_note_created(*, room: Room, note: RoomNote) -> None:
    """The note to whoever sees the room; `note_mention` to each mentioned user (already
    checked to see the room) on their own sockets."""
    from boztell.realtime import user_group

    payload = note_payload(note)
    broadcast_on_commit(room_event_groups(room=room), "room_note_created", payload, room_id=room.pk)
    for user in note.mentions.all():
        broadcast_on_commit(
            [user_group(user.pk)],
            "note_mention",
            {**payload, "room_title": room.display_title, "mentioned_user_id": user.pk},
            user_id=user.pk,
        )
