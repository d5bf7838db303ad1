"""Writes for a room's status: open, pending (waiting on the customer), snoozed until a
time, resolved. An agent sets it; the customer writing reopens it; a snooze ends by itself
(a task queued for its time, and `manage.py rooms_wake` as a sweep)."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from boztell.errors import BoztellError
from rooms.models import Room, RoomActivity
from rooms.services import room_activity_add

logger = logging.getLogger("boztell.rooms")

VERBS = {
    Room.Status.OPEN: "reopened the conversation",
    Room.Status.PENDING: "marked the conversation pending",
    Room.Status.SNOOZED: "snoozed the conversation",
    Room.Status.RESOLVED: "resolved the conversation",
}


def _snooze_text(until: datetime) -> str:
    from zoneinfo import ZoneInfo

    local = until.astimezone(ZoneInfo("Asia/Jakarta"))
    return f" until {local:%Y-%m-%d %H:%M} WIB"


def room_status_set(*, room: Room, status: str, by, until: datetime | None = None) -> Room:
    """An agent (or supervisor) sets the room's status. `until` only with `snoozed`, and in
    the future. Setting the status it already has changes nothing and emits nothing."""
    from rooms.events import emit_room_status_changed

    if status not in Room.Status.values:
        raise BoztellError(
            f"status must be one of {', '.join(Room.Status.values)}.", code="invalid_status"
        )
    if status == Room.Status.SNOOZED:
        if until is None:
            raise BoztellError("A snooze needs `until`, an ISO time.", code="snooze_until_required")
        if until <= timezone.now():
            raise BoztellError("`until` must be in the future.", code="snooze_until_past")
    elif until is not None:
        raise BoztellError("`until` goes only with status snoozed.", code="until_not_allowed")
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        previous = room.status
        if previous == status and room.snoozed_until == until:
            return room
        room.status, room.snoozed_until = status, until
        room._history_user = by
        room.save(update_fields=["status", "snoozed_until", "updated_at"])
        text = f"{by.name} {VERBS[status]}"
        if until is not None:
            text += _snooze_text(until)
        activity = room_activity_add(
            room=room,
            kind=RoomActivity.Kind.STATUS,
            text=text,
            actor=by,
            data={"from": previous, "to": status, "until": until.isoformat() if until else None},
        )
        emit_room_status_changed(
            room=room, previous=previous, by=by, source="agent", activity=activity
        )
        if status == Room.Status.SNOOZED:
            _wake_enqueue(room=room, at=until)
        _after_status_change(room=room, previous=previous)
    return room


def _after_status_change(*, room: Room, previous: str) -> None:
    """After the commit: an agent whose room stopped being open has room for another
    (their teams' queues are handed out); an unassigned room that opened is routed."""
    from rooms.assignment import room_route_on_commit, teams_hand_out_on_commit
    from rooms.selectors import room_assigned_user_ids

    assigned = room_assigned_user_ids(room=room)
    if previous == Room.Status.OPEN and room.status != Room.Status.OPEN:
        for user_id in assigned:
            teams_hand_out_on_commit(user_id=user_id)
    elif room.status == Room.Status.OPEN and not assigned:
        room_route_on_commit(room_id=room.pk)


# --- the customer writes -------------------------------------------------------------------
# The one rule both inbound paths (messaging/services/updates.py in bulk, receive.py one at
# a time) follow: a customer message makes the room `open` (their SQL/UPDATE sets it); the
# rooms that were not open get a timeline line and `room_status_changed`, and an unassigned
# one is routed after the commit.


def rooms_reopened_by_customer(*, reopened: list[tuple]) -> None:
    """`reopened`: (room_id, previous status) for each room a customer message just made
    open again (messaging.services.rules.rooms_record, every inbound path); inside the
    transaction that wrote it, with the rooms locked."""
    from rooms.assignment import room_route_on_commit
    from rooms.events import emit_room_status_changed
    from rooms.selectors import room_audience

    reopened = [r for r in dict(reopened).items() if r[1] != Room.Status.OPEN]
    if not reopened:
        return
    rooms = Room.objects.in_bulk([room_id for room_id, _ in reopened])
    activities = RoomActivity.objects.bulk_create(
        [
            RoomActivity(
                room_id=room_id,
                kind=RoomActivity.Kind.STATUS,
                text="Reopened by the customer",
                data={"from": previous, "to": Room.Status.OPEN, "by": "customer"},
            )
            for room_id, previous in reopened
        ]
    )
    for (room_id, previous), activity in zip(reopened, activities, strict=True):
        room = rooms[room_id]
        audience = room_audience(room=room)
        emit_room_status_changed(
            room=room, previous=previous, by=None, source="customer", activity=activity
        )
        if not room_assigned(audience):
            room_route_on_commit(room_id=room_id)
    logger.info("rooms reopened by the customer: %d", len(reopened))


def room_assigned(audience) -> bool:
    from rooms.selectors import _audience_split

    return bool(_audience_split(audience)[0])


# --- snoozes end by themselves --------------------------------------------------------------


def _wake_enqueue(*, room: Room, at: datetime) -> None:
    """A task for the snooze's time, in this transaction (django-tasks-db). Backends that
    cannot defer (the embedded default runs tasks inline) rely on `manage.py rooms_wake`."""
    from django_tasks import default_task_backend

    from rooms.tasks import rooms_wake

    if default_task_backend.supports_defer:
        rooms_wake.using(run_after=at).enqueue()


def rooms_wake_due(*, now: datetime | None = None) -> int:
    """Open every snoozed room whose time has come (each once, whoever runs first)."""
    from rooms.events import emit_room_status_changed

    now = now or timezone.now()
    woken = 0
    while True:
        with transaction.atomic():
            rooms = list(
                Room.objects.select_for_update(skip_locked=True)
                .filter(status=Room.Status.SNOOZED, snoozed_until__lte=now)
                .order_by("snoozed_until")[:100]
            )
            if not rooms:
                return woken
            for room in rooms:
                until = room.snoozed_until
                room.status, room.snoozed_until = Room.Status.OPEN, None
                room.save(update_fields=["status", "snoozed_until", "updated_at"])
                activity = room_activity_add(
                    room=room,
                    kind=RoomActivity.Kind.STATUS,
                    text="Snooze ended: the conversation is open again",
                    data={
                        "from": Room.Status.SNOOZED,
                        "to": Room.Status.OPEN,
                        "by": "system",
                        "until": until.isoformat() if until else None,
                    },
                )
                emit_room_status_changed(
                    room=room,
                    previous=Room.Status.SNOOZED,
                    by=None,
                    source="snooze_ended",
                    activity=activity,
                )
                _after_status_change(room=room, previous=Room.Status.SNOOZED)
                woken += 1
