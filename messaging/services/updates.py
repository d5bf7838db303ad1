"""A webhook body's updates, handled in order, the common case in bulk.

This is where a webhook becomes messages. A run of customer messages (not reactions)
into rooms that already exist is stored with three statements whatever its length:
lock the rooms (reading their assigned agents on the way), insert the messages (the
unique `wa_message_id` drops redeliveries: the database decides, not a read), update the
rooms' list fields. Everything else (a new customer's first message, reactions,
statuses) goes through the one-at-a-time services in receive.py, in its place in the
order. Each run and each single update commits on its own; a redelivered body after a
failure half-way is deduplicated by the same constraints.
"""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from boztell.bulk import insert_returning_ids
from boztell.phones import InvalidPhone, normalize_phone
from messaging.inbound import InboundMessage, InboundStatus
from messaging.media import MEDIA_TYPES
from messaging.models import Message
from messaging.services.receive import (
    Outcome,
    message_from_inbound,
    message_receive,
    message_status_apply,
)
from rooms.events import emit_messages_created

logger = logging.getLogger("boztell.messaging")

Update = InboundMessage | InboundStatus

_LOCK_ROOMS = """
    SELECT r.id, r.phone,
           ARRAY(SELECT p.user_id FROM room_participants p
                 WHERE p.room_id = r.id AND p.is_assigned ORDER BY p.user_id)
    FROM rooms r WHERE r.phone = ANY(%s) ORDER BY r.id FOR UPDATE OF r
"""
_UPDATE_ROOMS = """
    UPDATE rooms AS r SET
        last_message_text = v.text, last_message_type = v.type, last_message_at = v.at,
        last_customer_message_at = v.at, message_count = r.message_count + v.n,
        title = CASE WHEN r.lead_id IS NULL AND v.profile <> '' AND r.title IN ('', r.phone)
                     THEN v.profile ELSE r.title END
    FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::timestamptz[], %s::int[], %s::text[])
        AS v(id, text, type, at, n, profile)
    WHERE r.id = v.id
"""


def updates_process(*, updates: list[Update]) -> list[Outcome]:
    """Handle every update of a body, in order; one Outcome per update."""
    bulk = connection.vendor == "postgresql"
    outcomes: list[Outcome] = []
    run: list[InboundMessage] = []
    for update in updates:
        if bulk and isinstance(update, InboundMessage) and not update.is_reaction:
            run.append(update)
            continue
        if run:
            outcomes += _messages_receive(run)
            run = []
        outcomes.append(_update_process(update))
    if run:
        outcomes += _messages_receive(run)
    for update, outcome in zip(updates, outcomes, strict=True):
        _log(update, outcome)
    return outcomes


def _log(update: Update, outcome: Outcome) -> None:
    """One line per update: ids and outcome, never the text."""
    if isinstance(update, InboundMessage):
        kind, what = "message", update.content_type
    else:
        kind, what = "status", update.status
    if outcome.result == "skipped":
        logger.warning("webhook %s skipped wamid=%s: bad sender", kind, update.wa_message_id)
        return
    logger.info(
        "webhook %s wamid=%s type=%s room=%s outcome=%s",
        kind,
        update.wa_message_id,
        what,
        outcome.message.room_id if outcome.message else "-",
        outcome.result,
    )


def _update_process(update: Update) -> Outcome:
    try:
        if isinstance(update, InboundMessage):
            return message_receive(inbound=update)
        return message_status_apply(inbound=update)
    except InvalidPhone:
        return Outcome("skipped")


def _messages_receive(run: list[InboundMessage]) -> list[Outcome]:
    """A run of customer messages in order: existing rooms in bulk; a message whose room
    does not exist yet alone (it makes the room and its `new_room_complete`), then on."""
    outcomes: list[Outcome] = []
    while run:
        stored, run = _messages_store_in_existing_rooms(run)
        outcomes += stored
        if run:
            outcomes.append(_update_process(run[0]))
            run = run[1:]
    return outcomes


def _phone(inbound: InboundMessage) -> str | None:
    try:
        return normalize_phone(inbound.wa_id)
    except InvalidPhone:
        return None


def _messages_store_in_existing_rooms(
    run: list[InboundMessage],
) -> tuple[list[Outcome], list[InboundMessage]]:
    """Store the longest prefix of `run` whose rooms exist; return its outcomes and the
    rest (which starts with a message for a new room or a bad sender)."""
    phones = [_phone(inbound) for inbound in run]
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Rooms are locked in id order, so two runs never wait on each other in a cycle.
            cursor.execute(_LOCK_ROOMS, [sorted({p for p in phones if p})])
            rooms = {phone: (room_id, assigned) for room_id, phone, assigned in cursor.fetchall()}
            size = next((i for i, p in enumerate(phones) if p not in rooms), len(run))
            if size == 0:
                return [], run
            messages = [
                message_from_inbound(inbound, room_id=rooms[phone][0])
                for inbound, phone in zip(run[:size], phones[:size], strict=True)
            ]
            _stamp(messages)
            # The unique wa_message_id drops a redelivery here, inside the same statement.
            inserted = set(insert_returning_ids(messages, ignore_conflicts=True))
            stored = [m for m in messages if m.pk in inserted]
            if stored:
                _rooms_record(cursor, stored, run[:size])
        for message in stored:
            if message.media_type in MEDIA_TYPES and message.media_id:
                from messaging.tasks import media_fetch_enqueue

                media_fetch_enqueue(message=message)
        assigned = {room_id: ids for room_id, ids in rooms.values()}
        emit_messages_created(
            messages=stored, assigned={m.room_id: assigned[m.room_id] for m in stored}
        )
    return [
        Outcome("created", m) if m.pk in inserted else Outcome("duplicate") for m in messages
    ], run[size:]


def _stamp(messages: list[Message]) -> None:
    """Strictly increasing creation times, so a room's timeline keeps the body's order."""
    now = timezone.now()
    step = timedelta(microseconds=1)
    for i, message in enumerate(messages):
        message.created_at = message.updated_at = now + i * step


def _rooms_record(cursor, stored: list[Message], inbounds: list[InboundMessage]) -> None:
    """The room list's fields: each room's latest message, count and profile name."""
    profiles = {inbound.wa_message_id: inbound.profile_name or "" for inbound in inbounds}
    latest: dict = {}
    for message in stored:
        count = latest[message.room_id][1] + 1 if message.room_id in latest else 1
        profile = profiles.get(message.wa_message_id) or (
            latest[message.room_id][2] if message.room_id in latest else ""
        )
        latest[message.room_id] = (message, count, profile)
    rows = [
        (room_id, m.content_text, m.content_type, m.created_at, count, profile)
        for room_id, (m, count, profile) in latest.items()
    ]
    cursor.execute(_UPDATE_ROOMS, [list(column) for column in zip(*rows, strict=True)])
