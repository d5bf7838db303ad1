"""Reads for rooms: who may see a room, and who an event about it goes to."""

import contextlib
from datetime import UTC, datetime

from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from boztell.models import User
from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP, user_group
from rooms.models import Label, Room, RoomLabel, RoomNote, RoomParticipant


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


def room_visible_given(*, user: User, assigned_user_ids) -> bool:
    """rooms_visible_to for one room whose assigned agents' ids are already known (an
    event carries them from its commit): the same rule, without a query."""
    if user.is_supervisor:
        return True
    assigned = {str(uid) for uid in assigned_user_ids}
    return not assigned or str(user.pk) in assigned


def room_is_visible_to(*, room: Room, user: User) -> bool:
    return rooms_visible_to(user=user).filter(pk=room.pk).exists()


def room_event_groups(*, room: Room | None = None, assigned_user_ids=None) -> list[str]:
    """Who hears about a room: its assigned agents and the supervisors; for an unassigned
    room, every agent. A wrong list here is a security bug. Pass the assigned agents'
    ids when they were read with the room (a bulk write reads them under its row lock)."""
    if assigned_user_ids is None:
        assigned_user_ids = room_assigned_user_ids(room=room)
    assigned = assigned_user_ids
    if assigned:
        return [*(user_group(uid) for uid in assigned), SUPERVISORS_GROUP]
    return [AGENTS_GROUP, SUPERVISORS_GROUP]


UNREAD_CAP = 100  # the inbox shows "99+"; counting further costs time for nothing


class _CappedCount(Subquery):
    """COUNT over a LIMITed subquery: at most UNREAD_CAP rows are read per room."""

    template = "(SELECT count(*) FROM (%(subquery)s) _capped)"
    output_field = IntegerField()


def _unread_annotations(rooms: QuerySet[Room], user: User) -> QuerySet[Room]:
    """unread_count: the customer's messages after the user's read position (capped at
    UNREAD_CAP). Served by the partial index messages_customer_timeline_idx."""
    from messaging.models import Message

    read_at = RoomParticipant.objects.filter(room=OuterRef("pk"), user=user).values("last_read_at")[
        :1
    ]
    epoch = Value(datetime(1970, 1, 1, tzinfo=UTC))
    unread = (
        Message.objects.filter(
            room=OuterRef("pk"),
            user__isnull=True,
            created_at__gt=OuterRef("read_position"),
        )
        .exclude(content_type="reaction")
        .order_by()
        .values("created_at")[:UNREAD_CAP]
    )
    return rooms.annotate(
        read_position=Coalesce(Subquery(read_at), epoch),
        unread_count=_CappedCount(unread),
    )


def counts_as_unread(message) -> bool:
    """Whether a new message raises its room's unread count: the rule of
    _unread_annotations (the customer's messages, not reactions) for one message."""
    return message.user_id is None and message.content_type != "reaction"


ROOM_FILTERS = ("all", "mine", "unassigned", "unread")


def room_filter_fields(*, assigned_user_ids, user: User) -> dict:
    """Which of room_list's `mine` / `unassigned` filters a room is in for `user` (the same
    tests room_list makes in SQL), for the payloads: the inbox files a live room by them.
    The `unread` filter is `unread_count > 0`."""
    return {
        "assigned_to_me": user.pk in assigned_user_ids,
        "unassigned": not assigned_user_ids,
    }


def labels_all() -> list[Label]:
    """Every label supervisors defined (admin), by name: what the inbox offers on a room."""
    return list(Label.objects.order_by("name"))


def room_list(
    *,
    user: User,
    view: str = "all",
    query: str = "",
    label: str = "",
    after: tuple | None = None,
    limit: int = 50,
) -> list[Room]:
    """The caller's rooms, latest message first, with unread counts, participants and
    labels, in a constant number of queries (3) whatever the page or the data size.
    `label`: only rooms carrying the label of that name (none for an unknown name)."""
    from django.db.models import Prefetch

    rooms = rooms_visible_to(user=user).select_related("lead")
    assigned = RoomParticipant.objects.filter(room=OuterRef("pk"), is_assigned=True)
    if view == "mine":
        rooms = rooms.filter(Exists(assigned.filter(user=user)))
    elif view == "unassigned":
        rooms = rooms.filter(~Exists(assigned))
    if query:
        rooms = rooms.filter(_room_search(query))
    if label:
        # The label's id first, as a constant: PostgreSQL then knows how common the label is
        # and reads a rare one's rooms from room_labels_label_idx (label_id, room_id) instead
        # of walking the latest rooms until it has found a page (bench/rooms.py).
        label_id = Label.objects.filter(name=label).values_list("pk", flat=True).first()
        if label_id is None:
            return []
        rooms = rooms.filter(pk__in=RoomLabel.objects.filter(label_id=label_id).values("room_id"))
    rooms = _unread_annotations(rooms, user)
    if view == "unread":
        rooms = rooms.filter(unread_count__gt=0)
    if after:
        # A row comparison, so PostgreSQL walks the (last_message_at, id) index directly.
        rooms = rooms.extra(
            where=["(rooms.last_message_at, rooms.id) < (%s, %s)"], params=list(after)
        )
    rooms = rooms.exclude(last_message_at__isnull=True).order_by("-last_message_at", "-id")
    participants = RoomParticipant.objects.select_related("user").order_by("created_at")
    return list(
        rooms.prefetch_related(Prefetch("participants", queryset=participants), "labels")[:limit]
    )


def _room_search(query: str) -> Q:
    from boztell.phones import InvalidPhone, normalize_phone

    condition = (
        Q(title__icontains=query)
        | Q(phone__contains=query)
        | Q(lead__name__icontains=query)
        | Q(username__icontains=query.lstrip("@"))
        | Q(user_id=query)
    )
    with contextlib.suppress(InvalidPhone):
        condition |= Q(phone=normalize_phone(query))
    from messaging.selectors import messages_matching

    return condition | Q(pk__in=messages_matching(query).values("room_id"))


def room_detail(*, user: User, room_id) -> Room | None:
    from django.db.models import Prefetch

    participants = RoomParticipant.objects.select_related("user").order_by("created_at")
    rooms = _unread_annotations(rooms_visible_to(user=user).select_related("lead"), user)
    return (
        rooms.prefetch_related(Prefetch("participants", queryset=participants), "labels")
        .filter(pk=room_id)
        .first()
    )


def room_messages(
    *, room: Room, before: tuple | None = None, after: tuple | None = None, limit: int = 50
) -> list:
    """One page of a room's timeline by keyset on (created_at, id): stable while new
    messages arrive, and as fast at any depth. `before` pages back; `after` catches up."""
    from messaging.models import Message

    messages = Message.objects.filter(room=room)
    # Row comparisons, so PostgreSQL walks the (room, created_at, id) index directly: an
    # OR of two conditions made a deep page 40 times slower on a million messages.
    if after:
        page = messages.extra(
            where=["(messages.created_at, messages.id) > (%s, %s)"], params=list(after)
        ).order_by("created_at", "id")[:limit]
        return list(page)
    if before:
        messages = messages.extra(
            where=["(messages.created_at, messages.id) < (%s, %s)"], params=list(before)
        )
    page = list(messages.order_by("-created_at", "-id")[:limit])
    page.reverse()
    return page


def room_notes(*, room: Room, before: tuple | None = None, limit: int = 50) -> list[RoomNote]:
    """One page of a room's private notes, oldest to newest; `before` pages back (keyset
    on (created_at, id), as room_messages)."""
    notes = RoomNote.objects.filter(room=room).select_related("author")
    if before:
        notes = notes.extra(
            where=["(room_notes.created_at, room_notes.id) < (%s, %s)"], params=list(before)
        )
    page = list(notes.prefetch_related("mentions").order_by("-created_at", "-id")[:limit])
    page.reverse()
    return page
