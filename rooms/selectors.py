"""Reads for rooms: who may see a room, and who an event about it goes to."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from boztell.models import User
from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP, room_group, user_group
from rooms.models import Room, RoomParticipant


def room_assigned_user_ids(*, room: Room) -> list:
    return list(
        RoomParticipant.objects.filter(room=room, is_assigned=True).values_list(
            "user_id", flat=True
        )
    )


def rooms_visible_to(*, user: User) -> QuerySet[Room]:
    """Supervisors see every room; agents see rooms assigned to them and unassigned rooms."""
    rooms = Room.objects.all()
    if user.is_supervisor:
        return rooms
    assigned = RoomParticipant.objects.filter(room=OuterRef("pk"), is_assigned=True)
    mine = assigned.filter(user=user)
    return rooms.filter(Q(Exists(mine)) | ~Q(Exists(assigned)))


def room_is_visible_to(*, room: Room, user: User) -> bool:
    return rooms_visible_to(user=user).filter(pk=room.pk).exists()


def room_event_groups(*, room: Room) -> list[str]:
    """Who hears about a room: its assigned agents and the supervisors; for an unassigned
    room, every agent. A wrong list here is a security bug."""
    assigned = room_assigned_user_ids(room=room)
    if assigned:
        return [*(user_group(uid) for uid in assigned), SUPERVISORS_GROUP]
    return [AGENTS_GROUP, SUPERVISORS_GROUP]


def room_joined_group(*, room: Room) -> str:
    """The group of sockets that joined the room (for `room:new_message`)."""
    return room_group(room.pk)
