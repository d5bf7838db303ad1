"""Room events in the seed's shapes (room fields, assignment, status, labels, notes, lead
changes), and the emitters that send them after commit. Message events (`new_message`,
`new_room_complete`, statuses, reactions) are messaging's: messaging/events.py."""

from boztell.realtime import broadcast_on_commit, room_group
from leads.models import Lead
from leads.serializers import LeadSerializer
from rooms.models import Room, RoomActivity, RoomNote, RoomParticipant
from rooms.selectors import room_assigned_user_ids, room_event_groups
from rooms.serializers import (
    LabelSerializer,
    NoteSerializer,
    ParticipantSerializer,
    RoomFieldsSerializer,
)


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


def emit_room_note_created(*, room: Room, note: RoomNote) -> None:
    """The note to whoever sees the room; `note_mention` to each mentioned user (already
    checked to see the room) on their own sockets."""
    from boztell.realtime import user_group

    payload = NoteSerializer.render(note)
    broadcast_on_commit(room_event_groups(room=room), "room_note_created", payload, room_id=room.pk)
    for user in note.mentions.all():
        broadcast_on_commit(
            [user_group(user.pk)],
            "note_mention",
            {**payload, "room_title": room.display_title, "mentioned_user_id": user.pk},
            user_id=user.pk,
        )
