"""Reads for rooms: who may see a room and who hears about it (the one place that rule
lives), the room list's filters and status counts, a room's activity and notes. The room
list itself reads messages too (unread counts, search): inbox/selectors.py."""

import json
import uuid

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from boztell.models import User
from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP, team_group, user_group
from leads.models import Lead
from leads.selectors import lead_filter_moment
from rooms.models import (
    Label,
    Room,
    RoomActivity,
    RoomLabel,
    RoomNote,
    RoomParticipant,
    TeamMembership,
)

# --- Who may see a room: the one rule ---------------------------------------------
#
# Supervisors see every room; an agent sees the rooms assigned to them and the rooms
# assigned to no one that are in one of their teams or in no team (issue 15: an
# unassigned room waits in its team's queue). A room's assigned agents are its
# participants with `is_assigned` (False unless an assignment set it). Everything that
# decides who sees a room or hears about it (REST, search, GET /events catch-up, sockets,
# event fan-out, the bulk webhook statements) calls this section; tests/test_visibility.py
# fails on a second spelling.


def assigned_participants() -> QuerySet[RoomParticipant]:
    """Participants who are assigned to their room (for reads and for assignment writes)."""
    return RoomParticipant.objects.filter(is_assigned=True)


def room_assigned_user_ids(*, room: Room) -> list:
    return list(assigned_participants().filter(room=room).values_list("user_id", flat=True))


def assigned_user_ids_of(participants) -> list:
    """The assigned agents' ids among a room's (already fetched) participants."""
    return [p.user_id for p in participants if p.is_assigned]


def _mine_or_nobodys(user: User, room_ref) -> Q:
    """For a queryset of rooms (`room_ref` is the room's pk)."""
    assigned = assigned_participants().filter(room=room_ref)
    my_teams = TeamMembership.objects.filter(user=user).values("team_id")
    in_my_queue = Q(team__isnull=True) | Q(team_id__in=my_teams)
    return Q(Exists(assigned.filter(user=user))) | (~Q(Exists(assigned)) & in_my_queue)


def rooms_visible_to(*, user: User) -> QuerySet[Room]:
    """The rooms `user` may see (the rule above, as a queryset)."""
    rooms = Room.objects.all()
    if user.is_supervisor:
        return rooms
    return rooms.filter(_mine_or_nobodys(user, OuterRef("pk")))


# A room's *audience* is what an event carries of it from its commit: its assigned agents'
# ids, and `team:<id>` when it has a team (room_audience; assigned_user_ids_sql in bulk).
TEAM_MARK = "team:"


def room_audience(*, room: Room) -> list:
    """The room's audience now: its assigned agents' ids, and `team:<id>` if it has a team."""
    return room_assigned_user_ids(room=room) + (
        [f"{TEAM_MARK}{room.team_id}"] if room.team_id else []
    )


def rooms_audience(*, room_ids) -> dict:
    """room_audience of many rooms at once (two queries): room id -> its audience."""
    audience: dict = {room_id: [] for room_id in room_ids}
    for room_id, user_id in (
        assigned_participants()
        .filter(room_id__in=list(audience))
        .order_by("user_id")
        .values_list("room_id", "user_id")
    ):
        audience[room_id].append(user_id)
    for room_id, team_id in Room.objects.filter(
        pk__in=list(audience), team__isnull=False
    ).values_list("pk", "team_id"):
        audience[room_id].append(f"{TEAM_MARK}{team_id}")
    return audience


def _audience_split(audience) -> tuple[list[str], str | None]:
    assigned, team_id = [], None
    for item in audience:
        item = str(item)
        if item.startswith(TEAM_MARK):
            team_id = item[len(TEAM_MARK) :]
        else:
            assigned.append(item)
    return assigned, team_id


def user_team_ids(*, user: User) -> set[str]:
    return {
        str(t) for t in TeamMembership.objects.filter(user=user).values_list("team_id", flat=True)
    }


def user_event_groups(user: User, team_ids=None) -> list[str]:
    """The groups a user's sockets listen on: their own, their role's, and (agents) their
    teams' (`team_ids` when the caller holds them, else read here)."""
    if user.is_supervisor:
        return [user_group(user.pk), SUPERVISORS_GROUP]
    if team_ids is None:
        team_ids = user_team_ids(user=user)
    return [user_group(user.pk), AGENTS_GROUP, *(team_group(t) for t in sorted(team_ids))]


def room_event_groups(*, room: Room | None = None, assigned_user_ids=None) -> list[str]:
    """Who hears about a room: its assigned agents and the supervisors; for an unassigned
    room, its team's agents (every agent when it has no team). A wrong list here is a
    security bug. Pass the room's audience when it was read with the room (a bulk write
    reads it under its row lock)."""
    if assigned_user_ids is None:
        assigned_user_ids = room_audience(room=room)
    assigned, team_id = _audience_split(assigned_user_ids)
    if assigned:
        return [*(user_group(uid) for uid in assigned), SUPERVISORS_GROUP]
    if team_id:
        return [team_group(team_id), SUPERVISORS_GROUP]
    return [AGENTS_GROUP, SUPERVISORS_GROUP]


def room_visible_given(*, user: User, assigned_user_ids, team_ids=None) -> bool:
    """rooms_visible_to for one room whose audience is already known (an event carries it
    from its commit): the user hears the room's events (room_event_groups), so the two can
    never disagree. `team_ids`: the user's teams, when the caller holds them."""
    heard = room_event_groups(assigned_user_ids=list(assigned_user_ids))
    return not set(user_event_groups(user, team_ids)).isdisjoint(heard)


def room_is_visible_to(*, room: Room, user: User) -> bool:
    return rooms_visible_to(user=user).filter(pk=room.pk).exists()


def leads_visible_to(*, user: User) -> QuerySet[Lead]:
    """The leads `user` may see from the inbox: a lead is visible when one of its rooms is
    (for supervisors too, a lead with a room)."""
    return Lead.objects.filter(Exists(rooms_visible_to(user=user).filter(lead=OuterRef("pk"))))


def leads_linkable_by(*, user: User) -> QuerySet[Lead]:
    """The leads `user` may link a room to by hand (POST /rooms/{id}/lead): supervisors any;
    an agent a lead they can see, or one no room has yet (the borrower a username customer
    says they are). A lead of another agent's customer stays hidden: linking to it would
    show its name and amounts, then open PATCH /leads/{id} to the agent."""
    if user.is_supervisor:
        return Lead.objects.all()
    return Lead.objects.filter(
        ~Exists(Room.objects.filter(lead=OuterRef("pk")))
        | Exists(rooms_visible_to(user=user).filter(lead=OuterRef("pk")))
    )


def assigned_user_ids_sql(room_column: str) -> str:
    """room_assigned_user_ids inside a raw bulk statement, for the room whose id is in
    `room_column`: an array of UUIDs on PostgreSQL, JSON text on SQLite (read it back with
    assigned_user_ids_from_sql)."""
    # `room_column` is a column name from our own statements, never a value.
    ids = f"SELECT p.user_id FROM room_participants p WHERE p.room_id = {room_column}"  # noqa: S608
    # issue 15: the room's audience (room_audience): its team too, as `team:<id>`.
    team = f"SELECT 'team:' || t.team_id FROM rooms t WHERE t.id = {room_column}"  # noqa: S608
    if connection.vendor == "postgresql":
        return (
            f"(ARRAY(SELECT p.user_id::text FROM ({ids} AND p.is_assigned) p ORDER BY 1)"  # noqa: S608
            f" || ARRAY({team} AND t.team_id IS NOT NULL))"
        )
    return (
        f"(SELECT json_group_array(x) FROM (SELECT user_id AS x FROM ({ids} AND p.is_assigned)"  # noqa: S608
        f" UNION ALL {team} AND t.team_id IS NOT NULL))"
    )


def assigned_user_ids_from_sql(value) -> list:
    """What assigned_user_ids_sql read, as room_audience gives it."""
    items = json.loads(value) if isinstance(value, str) else value
    audience, team = [], []
    for item in items:
        if str(item).startswith(TEAM_MARK):
            team.append(f"{TEAM_MARK}{uuid.UUID(str(item)[len(TEAM_MARK) :])}")
        else:
            audience.append(uuid.UUID(str(item)))
    return sorted(audience) + team


def room_view_filter(view: str, user: User) -> Q | None:
    """The room list's `mine` and `unassigned` views (ROOM_FILTERS)."""
    assigned = assigned_participants().filter(room=OuterRef("pk"))
    if view == "mine":
        return Q(Exists(assigned.filter(user=user)))
    if view == "unassigned":
        return ~Q(Exists(assigned))
    return None


# --- The room list's filters and counts (the list itself: inbox/selectors.py) ------


ROOM_FILTERS = ("all", "mine", "unassigned", "unread")
ROOM_STATUSES = tuple(Room.Status.values)


def room_filter_fields(*, assigned_user_ids, user: User) -> dict:
    """Which of the room list's `mine` / `unassigned` filters a room is in for `user` (the
    same tests inbox.selectors.room_list makes in SQL, room_view_filter), for the payloads:
    the inbox files a live room by them. The `unread` filter is `unread_count > 0`."""
    return {
        "assigned_to_me": user.pk in assigned_user_ids,
        "unassigned": not assigned_user_ids,
    }


def labels_all() -> list[Label]:
    """Every label supervisors defined (admin), by name: what the inbox offers on a room."""
    return list(Label.objects.order_by("name"))


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
        assigned = assigned_participants().filter(room=OuterRef("pk"))
        if view in ("all", "mine"):
            parts.append(
                assigned_participants()
                .filter(user=user, room__last_message_at__isnull=False)
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


def room_notes(*, room: Room, before: tuple | None = None, limit: int = 50) -> list[RoomNote]:
    """One page of a room's private notes, oldest to newest; `before` pages back (keyset
    on (created_at, id), as messaging.selectors.room_messages)."""
    notes = RoomNote.objects.filter(room=room).select_related("author")
    if before:
        notes = notes.extra(
            where=["(room_notes.created_at, room_notes.id) < (%s, %s)"], params=list(before)
        )
    page = list(notes.prefetch_related("mentions").order_by("-created_at", "-id")[:limit])
    page.reverse()
    return page


# --- Segments by what the lead's room carries (leads.selectors.register_lead_filter) ---------


def _names(value) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def lead_filter_room_label(value) -> Q:
    """Leads whose room carries any of these labels (names, comma-separated)."""

    labelled = RoomLabel.objects.filter(room__lead=OuterRef("pk"), label__name__in=_names(value))
    return Q(Exists(labelled))


def lead_filter_team(value) -> Q:
    """Leads whose room belongs to any of these teams (names, comma-separated)."""
    in_team = Room.objects.filter(lead=OuterRef("pk"), team__name__in=_names(value))
    return Q(Exists(in_team))


CUSTOMER_MESSAGE_FILTERS = ("last_customer_message_after", "last_customer_message_before")


def lead_filter_customer_message_clean(value, name: str) -> str:
    """A date or ISO time (refused with invalid_filter otherwise), stored as given."""
    lead_filter_moment(value, name)
    return str(value).strip()


def lead_filter_customer_message(values: dict) -> Q:
    """Leads with a room whose customer last wrote at or after
    `last_customer_message_after` and before `last_customer_message_before` (the same
    room for both)."""
    rooms = Room.objects.filter(lead=OuterRef("pk"))
    if after := values.get("last_customer_message_after"):
        moment = lead_filter_moment(after, "last_customer_message_after")
        rooms = rooms.filter(last_customer_message_at__gte=moment)
    if before := values.get("last_customer_message_before"):
        moment = lead_filter_moment(before, "last_customer_message_before")
        rooms = rooms.filter(last_customer_message_at__lt=moment)
    return Q(Exists(rooms))
