"""Reads for the inbox: what people see of rooms and their messages together. The room
list (a page of the caller's rooms, latest message first, with unread counts, filters,
labels and search over names, phones and message text) and one room as its reader sees
it. Who may see a room is rooms' rule (rooms.selectors, "Who may see a room"); the unread
count is messaging's (messaging.selectors, "Unread")."""

import contextlib

from django.db.models import Prefetch, Q

from boztell.models import User
from boztell.phones import InvalidPhone, normalize_phone
from messaging.selectors import messages_matching, rooms_with_unread_counts
from rooms.models import Label, Room, RoomLabel, RoomParticipant
from rooms.selectors import room_view_filter, rooms_visible_to


def room_list(
    *,
    user: User,
    view: str = "all",
    status: str | None = None,
    query: str = "",
    label: str = "",
    after: tuple | None = None,
    limit: int = 50,
) -> list[Room]:
    """The caller's rooms, latest message first, with unread counts, participants and
    labels, in a constant number of queries (3) whatever the page or the data size.
    `label`: only rooms carrying the label of that name (none for an unknown name)."""
    rooms = rooms_visible_to(user=user).select_related("lead")
    by_view = room_view_filter(view, user)
    if by_view is not None:
        rooms = rooms.filter(by_view)
    if status:
        rooms = rooms.filter(status=status)  # served by rooms_status_latest_idx
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
    rooms = rooms_with_unread_counts(rooms, user)
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
    condition = (
        Q(title__icontains=query)
        | Q(phone__contains=query)
        | Q(lead__name__icontains=query)
        | Q(username__icontains=query.lstrip("@"))
        | Q(user_id=query)
    )
    with contextlib.suppress(InvalidPhone):
        condition |= Q(phone=normalize_phone(query))
    return condition | Q(pk__in=messages_matching(query).values("room_id"))


def room_detail(*, user: User, room_id) -> Room | None:
    participants = RoomParticipant.objects.select_related("user").order_by("created_at")
    rooms = rooms_with_unread_counts(rooms_visible_to(user=user).select_related("lead"), user)
    return (
        rooms.prefetch_related(Prefetch("participants", queryset=participants), "labels")
        .filter(pk=room_id)
        .first()
    )
