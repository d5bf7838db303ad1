"""Reads for the inbox: what people see of rooms and their messages together. The room
list (a page of the caller's rooms, latest message first, with unread counts, filters,
labels and search over names, phones and message text), one room as its reader sees it,
and each lead with its room's facts (the lead export). Who may see a room is rooms' rule
(rooms.selectors, "Who may see a room"); the unread count is messaging's
(messaging.selectors, "Unread")."""

import contextlib

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf

from boztell.models import User
from boztell.phones import InvalidPhone, normalize_phone
from leads.models import Lead
from messaging.selectors import (
    NEVER_READ,
    messages_matching,
    rooms_with_unread_counts,
    unread_count,
)
from rooms.models import Label, Room, RoomLabel, RoomParticipant
from rooms.selectors import assigned_participants, room_view_filter, rooms_visible_to


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


# --- Leads with their room's facts (the lead export) ----------------------------------

# (header, annotation of leads_with_room_facts, value when the lead has no room or none)
LEAD_ROOM_COLUMNS = (
    ("room_status", "_room_status", ""),
    ("assigned_agent", "_assigned_agent", None),
    ("last_message_at", "_last_message_at", None),
    ("last_customer_message_at", "_last_customer_message_at", None),
    ("unread_count", "_unread_count", 0),
)


def leads_with_room_facts(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """One query: each lead with its room's facts as correlated subqueries (a lead's room is
    the one for its phone; if several point at it, the latest): status, assigned agent,
    last message times, and the unread count as the assigned agent reads it."""
    room = Room.objects.filter(lead=OuterRef("pk")).order_by(
        F("last_message_at").desc(nulls_last=True)
    )
    assigned = assigned_participants().filter(room_id=OuterRef("_room_id")).order_by("-assigned_at")
    leads = leads.annotate(
        _room_id=Subquery(room.values("pk")[:1]),
        _room_status=Subquery(room.values("status")[:1]),
        _last_message_at=Subquery(room.values("last_message_at")[:1]),
        _last_customer_message_at=Subquery(room.values("last_customer_message_at")[:1]),
        _assigned_agent=Subquery(
            assigned.annotate(
                _who=Coalesce(NullIf(F("user__display_name"), Value("")), F("user__username"))
            ).values("_who")[:1]
        ),
        _read_position=Coalesce(Subquery(assigned.values("last_read_at")[:1]), NEVER_READ),
    )
    return leads.annotate(
        _unread_count=unread_count(
            room_ref=OuterRef("_room_id"), read_position_ref=OuterRef("_read_position")
        )
    )
