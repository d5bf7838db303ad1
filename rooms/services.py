"""Writes for rooms: create a customer's room and learn its ids, merge what rooms own of
two rooms proven to be one person, link leads, assign agents, labels, notes. Which room is
a customer's (one per person, merging with the messages) is messaging's:
messaging/services/customers.py."""

import logging
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from boztell.errors import BoztellError
from boztell.models import User
from leads import services as lead_services
from leads.models import Lead
from rooms.models import Room

logger = logging.getLogger("boztell.rooms")


def room_link_lead(*, lead: Lead) -> int:
    """Attach the lead to the room with its phone, if there is one."""
    return Room.objects.filter(phone=lead.phone, lead__isnull=True).update(lead=lead)


def room_create_for_customer(*, phone, user_id, username, title) -> Room | None:
    """A new room for a customer, with its lead (by phone) and its team; None when another
    transaction made the room with one of these unique ids first. Called by
    messaging.services.customers.room_for_customer, which settles who the customer is."""
    from rooms.assignment import team_for_lead

    lead = Lead.objects.filter(phone=phone).first() if phone else None
    # The team is chosen with the room, so its first event reaches that team only.
    team = team_for_lead(lead=lead)
    try:
        with transaction.atomic():
            room = Room.objects.create(
                phone=phone,
                user_id=user_id,
                username=(username or "")[:100],
                title=((lead.name if lead else "") or title or phone or "")[:200],
                lead=lead,
                team=team,
            )
            if team is not None:
                room_activity_add(
                    room=room,
                    kind="team",
                    text=f"Routed to team {team.name}",
                    data={"team_id": str(team.pk), "by": "system"},
                )
            return room
    except IntegrityError:
        return None


def room_learn(room: Room, *, phone, user_id, username) -> None:
    """What Meta just showed about the room's customer replaces what we knew: a number or
    BSUID seen for the first time, a new number (the old one freed), a new username."""
    changes: dict = {}
    if phone and room.phone != phone:
        if room.phone and room.title == room.phone:
            changes["title"] = phone  # the old number was only a placeholder title
        changes["phone"] = phone
        if room.lead_id is None:
            lead = Lead.objects.filter(phone=phone).first()
            if lead is not None:
                changes["lead"] = lead
    if user_id and room.user_id != user_id:
        changes["user_id"] = user_id
    if username and room.username != username[:100]:
        changes["username"] = username[:100]
    if changes:
        for name, value in changes.items():
            setattr(room, name, value)
        room.save(update_fields=[*changes, "updated_at"])
        logger.info("room %s learned %s", room.pk, ",".join(sorted(changes)))


def room_merge(*, source: Room, into: Room) -> Room:
    """Two rooms are one person: what rooms own of `source` (lead, notes, labels,
    participants with their assignment and read state, the room list's fields) goes into
    `into`, then `source` is deleted. One `room_merged` event tells every client that could
    see either room which room went where. The messages are messaging's:
    messaging.services.customers.conversation_merge moves them first, then calls this
    (called alone, the source's messages would be deleted with it)."""
    from django.db.models import F

    from rooms.events import emit_room_merged
    from rooms.models import RoomParticipant
    from rooms.selectors import room_event_groups

    if source.pk == into.pk:
        return into
    with transaction.atomic():
        locked = {
            r.pk: r for r in Room.objects.select_for_update().filter(pk__in=[source.pk, into.pk])
        }
        source, into = locked[source.pk], locked[into.pk]
        groups = set(room_event_groups(room=source)) | set(room_event_groups(room=into))
        _notes_and_labels_merge(source=source, into=into)
        _participants_merge(source=source, into=into, model=RoomParticipant)
        changes: dict = {"message_count": F("message_count") + source.message_count}
        if into.lead_id is None and source.lead_id is not None:
            changes["lead_id"] = source.lead_id
        if source.last_message_at and (
            into.last_message_at is None or source.last_message_at > into.last_message_at
        ):
            changes.update(
                last_message_at=source.last_message_at,
                last_message_text=source.last_message_text,
                last_message_type=source.last_message_type,
            )
        if source.last_customer_message_at and (
            into.last_customer_message_at is None
            or source.last_customer_message_at > into.last_customer_message_at
        ):
            changes["last_customer_message_at"] = source.last_customer_message_at
        if into.title in ("", into.phone) and source.title not in ("", source.phone):
            changes["title"] = source.title
        if not into.username and source.username:
            changes["username"] = source.username
        freed = {"phone": source.phone, "user_id": source.user_id}
        source_id = source.pk
        source.delete()
        # The source's ids are the same person's: the room keeps those it lacked.
        for name, value in freed.items():
            if value and getattr(into, name) is None:
                changes[name] = value
        Room.objects.filter(pk=into.pk).update(**changes)
        into.refresh_from_db()
        emit_room_merged(from_room_id=source_id, into=into, groups=sorted(groups))
    return into


def _notes_and_labels_merge(*, source: Room, into: Room) -> None:
    """The notes and the timeline (who changed status, assignment, labels) follow the
    messages; the room keeps every label either room had."""
    from rooms.models import RoomActivity, RoomLabel, RoomNote

    RoomNote.objects.filter(room_id=source.pk).update(room_id=into.pk)
    RoomActivity.objects.filter(room_id=source.pk).update(room_id=into.pk)
    have = set(RoomLabel.objects.filter(room=into).values_list("label_id", flat=True))
    RoomLabel.objects.filter(room=source).exclude(label_id__in=have).update(room_id=into.pk)


def _participants_merge(*, source: Room, into: Room, model) -> None:
    """Each user keeps one participant row. Assignment: the older room's agent stays;
    with none there, the other's comes along. Read state: the earlier read position, so
    no customer message shows as read that was not."""
    mine = {p.user_id: p for p in model.objects.filter(room=into)}
    has_assignee = any(p.is_assigned for p in mine.values())
    for theirs in model.objects.filter(room=source):
        ours = mine.get(theirs.user_id)
        if ours is None:
            theirs.room = into
            if has_assignee:
                theirs.is_assigned = False
            theirs.save(update_fields=["room", "is_assigned", "updated_at"])
            has_assignee = has_assignee or theirs.is_assigned
            continue
        if theirs.last_read_at and ours.last_read_at:
            ours.last_read_at = min(ours.last_read_at, theirs.last_read_at)
        elif theirs.last_read_at or ours.last_read_at:
            ours.last_read_at = None  # one room never read: its messages stay unread
        if theirs.is_assigned and not has_assignee:
            ours.is_assigned, ours.assigned_at = True, theirs.assigned_at
            ours.assigned_by_id = theirs.assigned_by_id
            has_assignee = True
        ours.save()
        theirs.delete()


def room_lead_set(*, room: Room, lead: Lead | None, by) -> Room:
    """Link a room to a lead by hand (a username customer has no phone to match), or
    unlink it; everyone who sees the room hears `lead_updated`."""
    from rooms.events import emit_room_lead_changed

    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        room.lead = lead
        room._history_user = by
        room.save(update_fields=["lead", "updated_at"])
        room_activity_add(
            room=room,
            kind="lead",
            text=f"{by.name} linked the lead {lead.name}"
            if lead
            else f"{by.name} unlinked the lead",
            actor=by,
            data={"lead_id": str(lead.pk) if lead else None},
        )
        emit_room_lead_changed(room=room, by=by)
    return Room.objects.select_related("lead").get(pk=room.pk)


def room_assign(*, room: Room, agent, by) -> Room:
    """Make `agent` the room's one assigned agent (a claim when agent is `by`)."""
    from django.db import transaction
    from django.utils import timezone

    from boztell.errors import BoztellError
    from rooms.events import emit_room_assigned
    from rooms.models import RoomParticipant
    from rooms.selectors import assigned_participants, room_assigned_user_ids

    if not agent.is_active:
        raise BoztellError("That user is inactive.", code="inactive_user")
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        previous = room_assigned_user_ids(room=room)
        if not by.is_supervisor and previous and previous != [agent.pk]:
            raise BoztellError(
                "This room is assigned to another agent; ask a supervisor to reassign it.",
                code="already_assigned",
                status=409,
            )
        assigned_participants().filter(room=room).exclude(user=agent).update(is_assigned=False)
        participant, _ = RoomParticipant.objects.get_or_create(room=room, user=agent)
        participant.is_assigned = True
        participant.assigned_at = timezone.now()
        participant.assigned_by = by
        participant.save()
        activity = room_activity_add(
            room=room,
            kind="assigned",
            text=(
                f"{by.name} took the conversation"
                if agent.pk == by.pk
                else f"{by.name} assigned the conversation to {agent.name}"
            ),
            actor=by,
            data={"to": str(agent.pk), "from": [str(uid) for uid in previous]},
        )
        emit_room_assigned(room=room, previous_user_ids=previous, by=by, activity=activity)
        _capacity_freed(room=room, user_ids=[uid for uid in previous if uid != agent.pk])
    return room


def _capacity_freed(*, room: Room, user_ids) -> None:
    """Agents who lost an open room have room for the next in their teams' queues."""
    from rooms.assignment import teams_hand_out_on_commit

    if room.status == Room.Status.OPEN:
        for user_id in user_ids:
            teams_hand_out_on_commit(user_id=user_id)


def room_unassign(*, room: Room, by) -> Room:
    """Put the room back in the unassigned queue: its agent lets it go, or a supervisor
    takes it from whoever had it."""
    from django.db import transaction

    from boztell.errors import BoztellError
    from rooms.events import emit_room_assigned
    from rooms.selectors import assigned_participants

    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        assigned = assigned_participants().filter(room=room)
        previous = list(assigned.values_list("user_id", flat=True))
        if not by.is_supervisor and previous and by.pk not in previous:
            raise BoztellError(
                "This room is assigned to another agent; ask a supervisor.",
                code="already_assigned",
                status=409,
            )
        if previous:
            assigned.update(is_assigned=False)
            names = ", ".join(
                u.name for u in User.objects.filter(pk__in=previous).order_by("username")
            )
            activity = room_activity_add(
                room=room,
                kind="assigned",
                text=(
                    f"{by.name} released the conversation"
                    if previous == [by.pk]
                    else f"{by.name} unassigned {names}"
                ),
                actor=by,
                data={"to": None, "from": [str(uid) for uid in previous]},
            )
            emit_room_assigned(room=room, previous_user_ids=previous, by=by, activity=activity)
            _capacity_freed(room=room, user_ids=previous)
    return room


def room_activity_add(*, room: Room, kind: str, text: str, actor=None, data=None):
    """One line in the room's timeline (rooms.RoomActivity), in the caller's transaction."""
    from rooms.models import RoomActivity

    return RoomActivity.objects.create(
        room=room, kind=kind, text=text[:300], actor=actor, data=data or {}
    )


def room_labels_set(*, room: Room, names: list[str], by) -> Room:
    """Give the room exactly these labels (by name); unknown names are refused before
    anything changes. A change is one `room_labels_changed` event; no change, no event."""
    from rooms.events import emit_room_labels_changed
    from rooms.models import Label, RoomLabel

    wanted = list(dict.fromkeys(names))
    labels = {label.name: label for label in Label.objects.filter(name__in=wanted)}
    unknown = [name for name in wanted if name not in labels]
    if unknown:
        raise BoztellError(
            f"No label is named {', '.join(repr(n) for n in unknown)}; a supervisor "
            "defines labels in admin.",
            code="unknown_label",
            details={"unknown": unknown},
        )
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        current = dict(RoomLabel.objects.filter(room=room).values_list("label__name", "label_id"))
        added = [name for name in wanted if name not in current]
        removed = sorted(name for name in current if name not in labels)
        if removed:
            RoomLabel.objects.filter(room=room, label_id__in=[current[n] for n in removed]).delete()
        RoomLabel.objects.bulk_create(
            [RoomLabel(room=room, label=labels[name], added_by=by) for name in added]
        )
        if added or removed:
            changes = [f"+{n}" for n in sorted(added)] + [f"-{n}" for n in removed]
            room_activity_add(
                room=room,
                kind="labels",
                text=f"{by.name} changed the labels: {', '.join(changes)}",
                actor=by,
                data={"added": sorted(added), "removed": removed},
            )
            emit_room_labels_changed(room=room, added=sorted(added), removed=removed, by=by)
    logger.info("room %s labels +%d -%d", room.pk, len(added), len(removed))
    return room


MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]{1,150})")


@dataclass
class NoteCreated:
    """The stored note, and the @names that notified nobody (no such active user, or a
    user who may not see the room)."""

    note: object
    not_notified: list = field(default_factory=list)


def room_note_create(*, room: Room, author, text: str) -> NoteCreated:
    """A private note in the room: stored, never sent to WhatsApp, never a message (no
    reply, unread count or last message). Each `@username` of an active user who may see
    the room is a mention: stored with the note and told to that user (`note_mention`)."""
    from boztell.models import User
    from rooms.events import emit_room_note_created
    from rooms.models import RoomNote
    from rooms.selectors import room_is_visible_to

    text = (text or "").strip()
    if not text:
        raise BoztellError("text must not be empty.", code="invalid_request")
    if len(text) > NOTE_LIMIT:
        raise BoztellError(f"text is limited to {NOTE_LIMIT} characters.", code="text_too_long")
    written = list(dict.fromkeys(MENTION.findall(text)))
    # "@agent-a." ends a sentence: the dot is not part of the name when no one has it.
    candidates = {name for w in written for name in (w, w.rstrip(".-+@"))}
    users = {u.username: u for u in User.objects.filter(username__in=candidates)}
    mentioned, not_notified = {}, []
    for w in written:
        user = users.get(w) or users.get(w.rstrip(".-+@"))
        if user is None or not user.is_active or not room_is_visible_to(room=room, user=user):
            not_notified.append(w.rstrip(".-+@"))
        elif user.pk != author.pk:
            mentioned[user.pk] = user
    with transaction.atomic():
        note = RoomNote.objects.create(room=room, author=author, text=text)
        note.mentions.set(mentioned.values())
        note = RoomNote.objects.select_related("author").get(pk=note.pk)
        emit_room_note_created(room=room, note=note)
    logger.info("note %s in room %s mentions=%d", note.pk, room.pk, len(mentioned))
    return NoteCreated(note=note, not_notified=list(dict.fromkeys(not_notified)))


NOTE_LIMIT = 4096


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


# --- Leads and their rooms -------------------------------------------------------------
#
# A lead written by any door (API, admin, import) is linked to the room its phone already
# has, and whoever sees the lead's rooms hears `lead_updated`: rooms' part of a lead write.
# The lead's own part is leads.services; doors call these.


def lead_create(**fields) -> Lead:
    """leads.services.lead_create, and the room that already exists for the phone now shows
    the lead (room_link_lead)."""
    with transaction.atomic():
        lead = lead_services.lead_create(**fields)
        room_link_lead(lead=lead)
    return lead


def lead_update(*, lead: Lead, by, **changes) -> Lead:
    """leads.services.lead_update; then a new phone links the room with that phone (if it
    has no lead) and everyone who sees one of the lead's rooms hears `lead_updated`."""
    from rooms.events import emit_lead_updated

    with transaction.atomic():
        lead = lead_services.lead_update(lead=lead, by=by, **changes)
        if changes:
            if "phone" in changes:
                room_link_lead(lead=lead)
            emit_lead_updated(lead=lead, by=by)
    return lead


def lead_update_status(*, lead: Lead, by, leads_status=None, contact_status=None) -> Lead:
    """Change a lead's statuses (see lead_update)."""
    changes = {"leads_status": leads_status, "contact_status": contact_status}
    return lead_update(lead=lead, by=by, **{k: v for k, v in changes.items() if v is not None})


def lead_import(**options):
    """leads.services.lead_import (same options), each batch linking the rooms of the
    phones it stored, in the batch's transaction (room_link_leads)."""
    return lead_services.lead_import(
        **options, stored=lambda phones: room_link_leads(phones=phones)
    )
