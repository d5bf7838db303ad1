"""Writes for rooms: find or create a customer's room, link leads, assign agents."""

from leads.models import Lead
from rooms.models import Room


def room_link_lead(*, lead: Lead) -> int:
    """Attach the lead to the room with its phone, if there is one."""
    return Room.objects.filter(phone=lead.phone, lead__isnull=True).update(lead=lead)


def room_get_or_create(*, phone: str, title: str = "") -> tuple[Room, bool]:
    """The room for a normalised phone, created at most once even under concurrency:
    the unique `phone` column decides, not a read-then-write check."""
    room = Room.objects.filter(phone=phone).first()
    if room is not None:
        return room, False
    lead = Lead.objects.filter(phone=phone).first()
    defaults = {"title": (lead.name if lead else "") or title or phone, "lead": lead}
    return Room.objects.get_or_create(phone=phone, defaults=defaults)


def room_assign(*, room: Room, agent, by) -> Room:
    """Make `agent` the room's one assigned agent (a claim when agent is `by`)."""
    from django.db import transaction
    from django.utils import timezone

    from boztell.errors import BoztellError
    from rooms.events import emit_room_assigned
    from rooms.models import RoomParticipant

    if not agent.is_active:
        raise BoztellError("That user is inactive.", code="inactive_user")
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        previous = list(
            RoomParticipant.objects.filter(room=room, is_assigned=True).values_list(
                "user_id", flat=True
            )
        )
        if not by.is_supervisor and previous and previous != [agent.pk]:
            raise BoztellError(
                "This room is assigned to another agent; ask a supervisor to reassign it.",
                code="already_assigned",
                status=409,
            )
        RoomParticipant.objects.filter(room=room, is_assigned=True).exclude(user=agent).update(
            is_assigned=False
        )
        participant, _ = RoomParticipant.objects.get_or_create(room=room, user=agent)
        participant.is_assigned = True
        participant.assigned_at = timezone.now()
        participant.assigned_by = by
        participant.save()
        emit_room_assigned(room=room, previous_user_ids=previous, by=by)
    return room


def room_unassign(*, room: Room, by) -> Room:
    """Put the room back in the unassigned queue: its agent lets it go, or a supervisor
    takes it from whoever had it."""
    from django.db import transaction

    from boztell.errors import BoztellError
    from rooms.events import emit_room_assigned
    from rooms.models import RoomParticipant

    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        assigned = RoomParticipant.objects.filter(room=room, is_assigned=True)
        previous = list(assigned.values_list("user_id", flat=True))
        if not by.is_supervisor and previous and by.pk not in previous:
            raise BoztellError(
                "This room is assigned to another agent; ask a supervisor.",
                code="already_assigned",
                status=409,
            )
        if previous:
            assigned.update(is_assigned=False)
            emit_room_assigned(room=room, previous_user_ids=previous, by=by)
    return room


def room_link_leads(*, phones: list[str]) -> int:
    """room_link_lead for many leads in one statement (an import of thousands): each room
    with one of these phones and no lead gets the lead with its phone."""
    from django.db.models import Exists, OuterRef, Subquery

    same_phone = Lead.objects.filter(phone=OuterRef("phone"))
    return (
        Room.objects.filter(phone__in=phones, lead__isnull=True)
        .filter(Exists(same_phone))
        .update(lead_id=Subquery(same_phone.values("pk")[:1]))
    )
