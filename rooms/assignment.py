"""Teams and automatic assignment: a new or reopened unassigned room goes to a team (the
routing rules, else the default team) and, when the team hands rooms out automatically,
to one of its agents who is online and under capacity; else it waits in the team queue and
is handed out the moment an agent comes online or has room again.

Concurrency: one room never gets two agents and no agent goes over capacity. Every
hand-out locks, in this order, the room (routing; the queue skips locked rooms instead of
waiting), the team row (which also holds round robin's cursor), then the candidate agents'
user rows in id order; an agent's open rooms are counted only once their row is locked,
so two teams sharing an agent cannot both fill its last place. Each hand-out is its own
short transaction after the commit of what caused it."""

import logging

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from boztell.models import User
from leads.models import Lead
from rooms.models import Room, RoomActivity, RoomParticipant, RoutingRule, Team, TeamMembership
from rooms.selectors import assigned_participants, room_assigned_user_ids
from rooms.services import room_activity_add

logger = logging.getLogger("boztell.rooms")

MODE_WORDS = {Team.Mode.ROUND_ROBIN: "round robin", Team.Mode.BALANCED: "balanced"}


def team_for_lead(*, lead: Lead | None) -> Team | None:
    """The team a room of this lead goes to: the first rule that matches, else the default."""
    for rule in RoutingRule.objects.select_related("team").order_by("position", "id"):
        if rule.loan_type and (lead is None or lead.loan_type != rule.loan_type):
            continue
        if rule.leads_status and (lead is None or lead.leads_status != rule.leads_status):
            continue
        return rule.team
    return Team.objects.filter(is_default=True).first()


def online_agent_ids(user_ids) -> set[str]:
    from boztell.presence import online_user_ids_sync

    if not user_ids:
        return set()
    return {str(uid) for uid in online_user_ids_sync(user_ids)}


def open_room_counts(user_ids) -> dict[str, int]:
    """Each agent's load: the open rooms assigned to them."""
    from rooms.selectors import assigned_participants

    rows = (
        assigned_participants()
        .filter(user_id__in=user_ids, room__status=Room.Status.OPEN)
        .values("user_id")
        .annotate(n=Count("room_id"))
    )
    return {str(row["user_id"]): row["n"] for row in rows}


def _team_pick_agent(team: Team) -> User | None:
    """The team's next agent (call with the team row locked): online, active, under
    capacity; round robin takes the first such after the cursor, balanced the one with the
    fewest open rooms (ties broken from the cursor on, so they rotate too). Locks the
    candidates' user rows (id order) before counting their rooms."""
    member_ids = sorted(
        str(uid)
        for uid in TeamMembership.objects.filter(team=team, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    online = online_agent_ids(member_ids)
    candidates = [uid for uid in member_ids if uid in online]
    if not candidates:
        return None
    users = {
        str(u.pk): u
        for u in User.objects.select_for_update().filter(pk__in=candidates).order_by("pk")
    }
    load = open_room_counts(list(users))
    free = [
        uid for uid in candidates if uid in users and load.get(uid, 0) < users[uid].max_open_rooms
    ]
    if not free:
        return None
    # The cyclic order after the cursor: round robin's turn, and balanced's tie-break.
    cursor = str(team.last_assigned_user_id) if team.last_assigned_user_id else None
    after = [uid for uid in member_ids if cursor is None or uid > cursor]
    turn = after + [uid for uid in member_ids if uid not in after]
    ordered = [uid for uid in turn if uid in free]
    if team.mode == Team.Mode.BALANCED:
        ordered.sort(key=lambda uid: load.get(uid, 0))  # stable: ties keep the turn order
    return users[ordered[0]]


def _assign_auto(*, room: Room, team: Team, agent: User) -> None:
    from rooms.events import emit_room_assigned

    participant, _ = RoomParticipant.objects.get_or_create(room=room, user=agent)
    participant.is_assigned = True
    participant.assigned_at = timezone.now()
    participant.assigned_by = None
    participant.save()
    team.last_assigned_user = agent
    team.save(update_fields=["last_assigned_user"])
    activity = room_activity_add(
        room=room,
        kind=RoomActivity.Kind.ASSIGNED,
        text=f"Assigned to {agent.name} ({team.name}, {MODE_WORDS.get(team.mode, team.mode)})",
        data={"to": str(agent.pk), "team_id": str(team.pk), "mode": team.mode, "by": "system"},
    )
    emit_room_assigned(room=room, previous_user_ids=[], by=None, activity=activity)
    logger.info("room %s auto-assigned to %s (team %s)", room.pk, agent.pk, team.pk)


def room_route(*, room_id) -> User | None:
    """Route one room if it is open and unassigned: to a team by the rules (when it has
    none), then, in an automatic mode, to an agent; returns the agent, if any."""
    from rooms.events import emit_room_assigned

    with transaction.atomic():
        room = Room.objects.select_for_update().filter(pk=room_id).first()
        if room is None or room.status != Room.Status.OPEN:
            return None
        if room_assigned_user_ids(room=room):
            return None
        if room.team_id is None:
            lead = Lead.objects.filter(pk=room.lead_id).first() if room.lead_id else None
            team = team_for_lead(lead=lead)
            if team is None:
                return None
            room.team = team
            room.save(update_fields=["team", "updated_at"])
            activity = room_activity_add(
                room=room,
                kind=RoomActivity.Kind.TEAM,
                text=f"Routed to team {team.name}",
                data={"team_id": str(team.pk), "by": "system"},
            )
            emit_room_assigned(room=room, previous_user_ids=[], by=None, activity=activity)
        team = Team.objects.select_for_update().get(pk=room.team_id)
        if team.mode == Team.Mode.MANUAL:
            return None
        agent = _team_pick_agent(team)
        if agent is None:
            logger.info("room %s waits in team %s's queue", room.pk, team.pk)
            return None
        _assign_auto(room=room, team=team, agent=agent)
        return agent


def room_route_on_commit(*, room_id) -> None:
    transaction.on_commit(lambda: _safely(room_route, room_id=room_id))


def team_hand_out(*, team_id) -> int:
    """Give the team's waiting rooms (open, unassigned; longest waiting first) to its free
    online agents until either runs out; one transaction per room. Returns how many."""
    given = 0
    assigned = assigned_participants().filter(room=OuterRef("pk"))
    while True:
        with transaction.atomic():
            team = Team.objects.select_for_update().filter(pk=team_id).first()
            if team is None or team.mode == Team.Mode.MANUAL:
                return given
            # A room being written (a customer message, a routing) is skipped, not waited
            # for: its own routing runs after that commit.
            room = (
                Room.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(team=team, status=Room.Status.OPEN)
                .filter(~Q(Exists(assigned)))
                .order_by("last_customer_message_at", "created_at")
                .first()
            )
            if room is None:
                return given
            agent = _team_pick_agent(team)
            if agent is None:
                return given
            _assign_auto(room=room, team=team, agent=agent)
            given += 1


def teams_hand_out(*, user_id) -> int:
    """An agent came online or has room again: hand out the queues of their teams."""
    team_ids = list(
        TeamMembership.objects.filter(user_id=user_id)
        .exclude(team__mode=Team.Mode.MANUAL)
        .values_list("team_id", flat=True)
        .order_by("team_id")
    )
    return sum(team_hand_out(team_id=team_id) for team_id in team_ids)


def teams_hand_out_on_commit(*, user_id) -> None:
    transaction.on_commit(lambda: _safely(teams_hand_out, user_id=user_id))


def _safely(fn, **kwargs):
    """Routing runs after the commit of what caused it: a failure there is logged and the
    room waits in its queue (the next hand-out takes it), never failing the request."""
    try:
        return fn(**kwargs)
    except Exception:
        logger.exception("assignment step %s failed (%s)", fn.__name__, kwargs)
        return None
