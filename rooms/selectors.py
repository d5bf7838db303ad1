"""Reads for rooms: who may see a room, and who an event about it goes to.

The one visibility rule: supervisors see every room; an agent sees the rooms assigned to
them, and the unassigned rooms of their teams (or of no team: before any team exists,
every agent sees every unassigned room). `rooms_visible_to` (SQL), `room_visible_given`
(one room, from its audience) and `room_event_groups` (who hears it) are that rule.

A room's *audience* is what an event carries of it from its commit: the assigned agents'
ids, and `team:<id>` when the room has a team."""

import contextlib
from datetime import UTC, datetime

from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from boztell.models import User
from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP, team_group, user_group
from rooms.models import (
    Label,
    Room,
    RoomActivity,
    RoomLabel,
    RoomNote,
    RoomParticipant,
    TeamMembership,
)

TEAM_MARK = "team:"


def room_assigned_user_ids(*, room: Room) -> list:
    return list(
        RoomParticipant.objects.filter(room=room, is_assigned=True).values_list(
            "user_id", flat=True
        )
    )


def room_audience(*, room: Room) -> list[str]:
    """The room's audience now: its assigned agents' ids, and `team:<id>` if it has a team."""
    audience = [str(uid) for uid in room_assigned_user_ids(room=room)]
    return audience + ([f"{TEAM_MARK}{room.team_id}"] if room.team_id else [])


def _audience_split(audience) -> tuple[set[str], str | None]:
    assigned, team_id = set(), None
    for item in audience:
        item = str(item)
        if item.startswith(TEAM_MARK):
            team_id = item[len(TEAM_MARK) :]
        else:
            assigned.add(item)
    return assigned, team_id


def user_team_ids(*, user: User) -> set[str]:
    return {
        str(t) for t in TeamMembership.objects.filter(user=user).values_list("team_id", flat=True)
    }


def rooms_visible_to(*, user: User) -> QuerySet[Room]:
    """Supervisors see every room; agents see rooms assigned to them and the unassigned
    rooms of their teams or of no team."""
    rooms = Room.objects.all()
    if user.is_supervisor:
        return rooms
    assigned = RoomParticipant.objects.filter(room=OuterRef("pk"), is_assigned=True)
    mine = assigned.filter(user=user)
    my_teams = TeamMembership.objects.filter(user=user).values("team_id")
    return rooms.filter(
        Q(Exists(mine)) | (~Q(Exists(assigned)) & (Q(team__isnull=True) | Q(team_id__in=my_teams)))
    )


def room_visible_given(*, user: User, assigned_user_ids, team_ids=None) -> bool:
    """rooms_visible_to for one room whose audience is already known (an event carries it
    from its commit): the same rule. `team_ids`: the user's teams, when the caller holds
    them (a socket reads them at connect); else read here."""
    if user.is_supervisor:
        return True
    assigned, team_id = _audience_split(assigned_user_ids)
    if assigned:
        return str(user.pk) in assigned
    if team_id is None:
        return True
    if team_ids is None:
        team_ids = user_team_ids(user=user)
    return team_id in {str(t) for t in team_ids}


def room_is_visible_to(*, room: Room, user: User) -> bool:
    return rooms_visible_to(user=user).filter(pk=room.pk).exists()


def room_event_groups(*, room: Room | None = None, assigned_user_ids=None) -> list[str]:
    """Who hears about a room: its assigned agents and the supervisors; for an unassigned
    room, its team's agents (every agent when it has no team). A wrong list here is a
    security bug. Pass the room's audience when it was read with the room (a bulk write
    reads it under its row lock)."""
    if assigned_user_ids is None:
        assigned_user_ids = room_audience(room=room)
    assigned, team_id = _audience_split(assigned_user_ids)
    if assigned:
        return [*(user_group(uid) for uid in sorted(assigned)), SUPERVISORS_GROUP]
    if team_id:
        return [team_group(team_id), SUPERVISORS_GROUP]
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
ROOM_STATUSES = tuple(Room.Status.values)


def room_filter_fields(*, assigned_user_ids, user: User) -> dict:
    """Which of room_list's `mine` / `unassigned` filters a room is in for `user` (the same
    tests room_list makes in SQL), for the payloads: the inbox files a live room by them.
    The `unread` filter is `unread_count > 0`."""
    return {
        "assigned_to_me": user.pk in assigned_user_ids,
        "unassigned": not assigned_user_ids,
    }


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
    from django.db.models import Prefetch

    rooms = rooms_visible_to(user=user).select_related("lead")
    assigned = RoomParticipant.objects.filter(room=OuterRef("pk"), is_assigned=True)
    if view == "mine":
        rooms = rooms.filter(Exists(assigned.filter(user=user)))
    elif view == "unassigned":
        rooms = rooms.filter(~Exists(assigned))
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


def room_status_counts(*, user: User, view: str = "all") -> dict[str, int]:
    """How many of the caller's rooms (those the room list shows) are in each status. An
    agent's rooms are counted as two disjoint parts, theirs and the visible unassigned
    ones: as one query the planner's estimate crossed PostgreSQL's JIT threshold and JIT
    alone cost 15 ms (bench/rooms.py)."""
    from django.db.models import Count

    counts = dict.fromkeys(ROOM_STATUSES, 0)
    listed = Room.objects.exclude(last_message_at__isnull=True)
    parts = []
    if user.is_supervisor and view == "all":
        parts.append(listed.values("status").annotate(n=Count("pk")))
    else:
        assigned = RoomParticipant.objects.filter(room=OuterRef("pk"), is_assigned=True)
        if view in ("all", "mine"):
            parts.append(
                RoomParticipant.objects.filter(
                    user=user, is_assigned=True, room__last_message_at__isnull=False
                )
                .values(status=F("room__status"))
                .annotate(n=Count("room_id"))
            )
        if view in ("all", "unassigned"):
            unassigned = listed.filter(~Exists(assigned))
            if not user.is_supervisor:
                my_teams = TeamMembership.objects.filter(user=user).values("team_id")
                unassigned = unassigned.filter(Q(team__isnull=True) | Q(team_id__in=my_teams))
            parts.append(unassigned.values("status").annotate(n=Count("pk")))
    for part in parts:
        for row in part.order_by():
            counts[row["status"]] += row["n"]
    return counts


def room_activity(*, room: Room, before: int | None = None, limit: int = 50) -> list:
    """One page of a room's timeline lines (status, assignment, team, lead), oldest to
    newest; `before` (an activity id) pages back."""
    rows = RoomActivity.objects.filter(room=room).select_related("actor")
    if before:
        rows = rows.filter(id__lt=before)
    page = list(rows.order_by("-id")[:limit])
    page.reverse()
    return page


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
