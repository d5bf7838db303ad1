"""A customer's one conversation: the room Meta's ids (phone, BSUID) name, found or
created at most once, and two rooms proven to be one person merged with their messages.

Rooms own the room's rows (rooms.services: room_create_for_customer, room_learn,
room_merge); the messages are messaging's, so the merge that moves them lives here and
every path that settles a customer's room (a webhook, a send, a campaign, the phone
re-normalisation) calls this module."""

import logging
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q

from boztell.errors import BoztellError
from leads.models import Lead
from leads.services import leads_phones_renormalise
from messaging.models import Message
from rooms.models import Room
from rooms.services import room_create_for_customer, room_learn, room_merge

logger = logging.getLogger("boztell.rooms")


@dataclass
class CustomerRoom:
    """The room a customer's update belongs to: `created` when this call made it,
    `merged` the ids of rooms that turned out to be the same person and went into it."""

    room: Room
    created: bool = False
    merged: list = field(default_factory=list)


def room_for_customer(
    *,
    phone: str | None = None,
    user_id: str | None = None,
    username: str | None = None,
    title: str = "",
) -> CustomerRoom:
    """The one room of the customer Meta names by `phone` (normalised wa_id), `user_id`
    (BSUID) or both, created at most once even under concurrency: the unique columns
    decide, not a read-then-write check. A room known by one id learns the other; two
    rooms holding one id each are one person and are merged into the older one. Runs in
    the caller's transaction; the room comes back locked."""
    if not phone and not user_id:
        raise BoztellError("A customer needs a phone number or a BSUID.", code="invalid_request")
    match = Q(phone=phone) if phone else Q()
    if user_id:
        match = match | Q(user_id=user_id) if phone else Q(user_id=user_id)
    with transaction.atomic():
        for _attempt in range(5):
            rooms = list(
                Room.objects.select_for_update().filter(match).order_by("created_at", "id")
            )
            if not rooms:
                created = room_create_for_customer(
                    phone=phone, user_id=user_id, username=username, title=title
                )
                if created is None:
                    continue  # another request made it first: read it, under its lock
                return CustomerRoom(created, created=True)
            into, merged = rooms[0], []
            for other in rooms[1:]:
                conversation_merge(source=other, into=into)
                merged.append(other.pk)
            room_learn(into, phone=phone, user_id=user_id, username=username)
            return CustomerRoom(into, merged=merged)
    raise IntegrityError("could not settle the customer's room")  # pragma: no cover


def room_identity_move(
    *, room: Room, phone: str | None = None, user_id: str | None = None
) -> CustomerRoom:
    """Meta said the room's customer now has this number or BSUID (a user-change
    webhook): the room keeps its history and takes the new id; a room already holding it
    is the same person and is merged with this one (into the older)."""
    with transaction.atomic():
        match = Q(pk__in=[])
        if phone:
            match |= Q(phone=phone)
        if user_id:
            match |= Q(user_id=user_id)
        others = list(
            Room.objects.select_for_update().filter(match).exclude(pk=room.pk).order_by("id")
        )
        room = Room.objects.select_for_update().get(pk=room.pk)
        merged = []
        into = room
        for other in others:
            if (other.created_at, str(other.pk)) < (into.created_at, str(into.pk)):
                conversation_merge(source=into, into=other)
                merged.append(into.pk)
                into = Room.objects.select_for_update().get(pk=other.pk)
            else:
                conversation_merge(source=other, into=into)
                merged.append(other.pk)
        # The old number or BSUID is no longer this customer's: it is replaced, not kept.
        room_learn(into, phone=phone, user_id=user_id, username=None)
        return CustomerRoom(into, merged=merged)


def conversation_merge(*, source: Room, into: Room) -> Room:
    """Two rooms are one person: the messages of `source` go into `into`, then
    rooms.services.room_merge moves what rooms own, deletes `source` and tells every
    client that could see either room (`room_merged`). Both rooms are locked first, in
    one statement, as room_merge locks them."""
    if source.pk == into.pk:
        return into
    with transaction.atomic():
        list(Room.objects.select_for_update().filter(pk__in=[source.pk, into.pk]))
        moved = Message.objects.filter(room_id=source.pk).update(room_id=into.pk)
        source_id = source.pk
        into = room_merge(source=source, into=into)
        logger.info("room %s merged into %s (%d messages)", source_id, into.pk, moved)
    return into


def phones_renormalise(*, write=lambda line: None) -> dict:
    """Stored leads (leads.services.leads_phones_renormalise), then rooms, in today's phone
    rule (boztell/phones.py); two rooms that turn out to hold one number are one customer and
    are merged (conversation_merge, into the older). Each change is reported through
    `write`; the counts come back."""
    from boztell.phones import InvalidPhone, normalize_wa_id

    counts = leads_phones_renormalise(write=write)
    for room_id in list(
        Room.objects.filter(phone__isnull=False)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            room = Room.objects.select_for_update().filter(pk=room_id).first()
            if room is None:
                continue  # merged away above
            try:
                phone = normalize_wa_id(room.phone)
            except InvalidPhone:
                write(f"room {room.pk}: '{room.phone}' is not a phone number; left")
                counts["rooms_invalid"] += 1
                continue
            if phone == room.phone:
                continue
            old = room.phone
            other = Room.objects.select_for_update().filter(phone=phone).first()
            into = room
            if other is not None:
                older = (other.created_at, str(other.pk)) < (room.created_at, str(room.pk))
                source, into = (room, other) if older else (other, room)
                into = conversation_merge(source=source, into=into)
                write(f"room {source.pk} ({old}) is customer {phone}: merged into room {into.pk}")
                counts["rooms_merged"] += 1
            else:
                write(f"room {room.pk}: {old} -> {phone}")
                counts["rooms_renormalised"] += 1
            changes: dict = {"phone": phone}
            if into.title in (old, into.phone):
                changes["title"] = phone
            if into.lead_id is None:
                changes["lead"] = Lead.objects.filter(phone=phone).first()
            Room.objects.filter(pk=into.pk).update(**changes)
    return dict(counts)
