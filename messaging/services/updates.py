"""A webhook body's updates, handled in order, the common cases in bulk.

This is where a webhook becomes messages. A run of customer messages (not reactions)
into rooms that already exist is stored with three statements whatever its length:
lock the rooms (reading their assigned agents on the way), insert the messages (the
unique `wa_message_id` drops redeliveries: the database decides, not a read), update the
rooms' list fields. A run of statuses takes two: lock the messages they name (with their
rooms' agents), write each one's final state; in between every status moves its message
forward only, in order, as message_status_apply would. Everything else (a new customer's
first message, reactions, a status for a message not stored yet) goes through the
one-at-a-time services in receive.py, in its place in the order. Each run and each
single update commits on its own; a redelivered body after a failure half-way is
deduplicated by the same constraints.
"""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from boztell.bulk import insert_returning_ids, server_cursor
from boztell.phones import InvalidPhone
from messaging.inbound import InboundMessage, InboundStatus
from messaging.media import MEDIA_TYPES
from messaging.models import Message
from messaging.services.receive import (
    STATUS_RANK,
    Outcome,
    customer_phone,
    message_from_inbound,
    message_receive,
    message_status_apply,
    status_advance_in_memory,
    status_details,
)
from rooms.events import emit_message_statuses, emit_messages_created, status_payload
from rooms.status import rooms_reopened_by_customer

logger = logging.getLogger("boztell.messaging")

Update = InboundMessage | InboundStatus

_LOCK_ROOMS = """
    SELECT r.id, r.phone, r.user_id, r.username,
           ARRAY(SELECT p.user_id::text FROM room_participants p
                 WHERE p.room_id = r.id AND p.is_assigned ORDER BY p.user_id)
           -- issue 15: the room's audience carries its team; its status before the message
           || CASE WHEN r.team_id IS NULL THEN '{}'::text[] ELSE ARRAY['team:' || r.team_id] END,
           r.status
    FROM rooms r WHERE r.phone = ANY(%s) OR r.user_id = ANY(%s) ORDER BY r.id FOR UPDATE OF r
"""
_LOCK_MESSAGES = """
    SELECT m.id, m.wa_message_id, m.room_id, m.status, m.status_timestamp, m.metadata,
           ARRAY(SELECT p.user_id::text FROM room_participants p
                 WHERE p.room_id = m.room_id AND p.is_assigned ORDER BY p.user_id)
           -- issue 15: the room's audience carries its team
           || ARRAY(SELECT 'team:' || r.team_id FROM rooms r
                    WHERE r.id = m.room_id AND r.team_id IS NOT NULL)
    FROM messages m WHERE m.wa_message_id = ANY(%s) ORDER BY m.id FOR UPDATE OF m
"""
_UPDATE_STATUSES = """
    UPDATE messages AS m SET status = v.status, status_timestamp = v.at, metadata = v.metadata,
        updated_at = v.now
    FROM unnest(%b::uuid[], %b::text[], %b::timestamptz[], %b::jsonb[], %b::timestamptz[])
        AS v(id, status, at, metadata, now)
    WHERE m.id = v.id
"""
_UPDATE_ROOMS = """
    UPDATE rooms AS r SET
        last_message_text = v.text, last_message_type = v.type, last_message_at = v.at,
        last_customer_message_at = v.at, message_count = r.message_count + v.n,
        title = CASE WHEN r.lead_id IS NULL AND v.profile <> ''
                          AND (r.title = '' OR r.title = r.phone)
                     THEN v.profile ELSE r.title END,
        username = CASE WHEN v.username <> '' THEN v.username ELSE r.username END,
        status = 'open', snoozed_until = NULL  -- issue 15: the customer writing reopens it
    FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::timestamptz[], %b::int[], %b::text[],
                %b::text[])
        AS v(id, text, type, at, n, profile, username)
    WHERE r.id = v.id
"""


def updates_process(*, updates: list[Update]) -> list[Outcome]:
    """Handle every update of a body, in order; one Outcome per update."""
    bulk = connection.vendor == "postgresql"
    outcomes: list[Outcome] = []
    run: list[Update] = []
    for update in updates:
        kind = _bulk_kind(update) if bulk else None
        if run and kind is not _bulk_kind(run[0]):
            outcomes += _run_process(run)
            run = []
        if kind is None:
            outcomes.append(_update_process(update))
        else:
            run.append(update)
    if run:
        outcomes += _run_process(run)
    for update, outcome in zip(updates, outcomes, strict=True):
        _log(update, outcome)
    return outcomes


def _bulk_kind(update: Update) -> type | None:
    """What a run of updates handled together is made of: customer messages (not
    reactions) or statuses; None for an update handled alone."""
    if isinstance(update, InboundMessage):
        return None if update.is_reaction or update.changes_identity else InboundMessage
    return InboundStatus


def _run_process(run: list[Update]) -> list[Outcome]:
    if isinstance(run[0], InboundMessage):
        return _messages_receive(run)
    return _statuses_apply(run)


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
        return customer_phone(inbound)
    except InvalidPhone:
        return None


def _settled_room(by_user_id: dict, by_phone: dict, phone: str | None, user_id: str | None):
    """The locked room row that already holds this customer's every id, else None (a new
    customer, an id to attach, two rooms to merge: message_receive does those)."""
    if user_id:
        row = by_user_id.get(user_id)
        return None if row is None or (phone and row[1] != phone) else row
    return by_phone.get(phone) if phone else None


def _messages_store_in_existing_rooms(
    run: list[InboundMessage],
) -> tuple[list[Outcome], list[InboundMessage]]:
    """Store the longest prefix of `run` whose rooms exist and already know the sender's
    every id; return its outcomes and the rest (which starts with a message for a new
    room, one that teaches a room an id, or a bad sender)."""
    phones = [_phone(inbound) for inbound in run]
    # Inside the worker's batch transaction no savepoint: a failure here fails the batch,
    # which the worker then does body by body.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            # Rooms are locked in id order, so two runs never wait on each other in a cycle.
            cursor.execute(
                _LOCK_ROOMS,
                [
                    sorted({p for p in phones if p}),
                    sorted({i.user_id for i in run if i.user_id}),
                ],
            )
            locked = cursor.fetchall()
            by_user_id = {row[2]: row for row in locked if row[2]}
            by_phone = {row[1]: row for row in locked if row[1]}
            targets = [
                _settled_room(by_user_id, by_phone, phone, inbound.user_id)
                for inbound, phone in zip(run, phones, strict=True)
            ]
            size = next((i for i, row in enumerate(targets) if row is None), len(run))
            if size == 0:
                return [], run
            rooms = {row[0]: (row[0], row[4]) for row in targets[:size]}
            messages = [
                message_from_inbound(inbound, room_id=row[0])
                for inbound, row in zip(run[:size], targets[:size], strict=True)
            ]
            _stamp(messages)
            # The unique wa_message_id drops a redelivery here, inside the same statement.
            inserted = set(insert_returning_ids(messages, ignore_conflicts=True))
            stored = [m for m in messages if m.pk in inserted]
            if stored:
                _rooms_record(stored, run[:size])
                # issue 15: rooms that were not open are reopened by the customer (one rule,
                # rooms.status.rooms_reopened_by_customer, shared with receive.py).
                written = {m.room_id for m in stored}
                rooms_reopened_by_customer(
                    reopened=list({r[0]: (r[0], r[5], r[4]) for r in targets[:size]}.values()),
                    written=written,
                )
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


def _rooms_record(stored: list[Message], inbounds: list[InboundMessage]) -> None:
    """The room list's fields: each room's latest message, count and profile name."""
    profiles = {inbound.wa_message_id: inbound.profile_name or "" for inbound in inbounds}
    usernames = {inbound.wa_message_id: inbound.username or "" for inbound in inbounds}
    latest: dict = {}
    for message in stored:
        before = latest.get(message.room_id)
        count = before[1] + 1 if before else 1
        profile = profiles.get(message.wa_message_id) or (before[2] if before else "")
        username = usernames.get(message.wa_message_id) or (before[3] if before else "")
        latest[message.room_id] = (message, count, profile, username)
    rows = [
        (room_id, m.content_text, m.content_type, m.created_at, count, profile, username)
        for room_id, (m, count, profile, username) in latest.items()
    ]
    with server_cursor() as cursor:
        cursor.execute(_UPDATE_ROOMS, [list(column) for column in zip(*rows, strict=True)])


def _statuses_apply(run: list[InboundStatus]) -> list[Outcome]:
    """A run of statuses in order, in one transaction: the messages they name are locked
    (id order) and each moves forward only, as message_status_apply does one at a time;
    every step forward is one message_status event. A status for a message not stored
    yet goes through message_status_apply, which keeps it for later."""
    outcomes: list[Outcome] = []
    # Inside the worker's batch transaction no savepoint: a failure here fails the batch,
    # which the worker then does body by body.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_MESSAGES, [sorted({s.wa_message_id for s in run})])
            found = {row[1]: row for row in cursor.fetchall()}
            json_field = Message._meta.get_field("metadata")
            messages: dict = {}
            assigned: dict = {}
            changes: list = []
            for inbound in run:
                row = found.get(inbound.wa_message_id)
                if (
                    row is None
                    or inbound.status not in STATUS_RANK
                    or (inbound.status == Message.Status.PENDING)
                ):
                    outcomes.append(_update_process(inbound))
                    continue
                message = messages.get(row[0])
                if message is None:
                    pk, wamid, room_id, status, status_at, metadata, users = row
                    message = messages[pk] = Message(
                        id=pk,
                        wa_message_id=wamid,
                        room_id=room_id,
                        status=status,
                        status_timestamp=status_at,
                        # Django reads jsonb as text and decodes it in the field.
                        metadata=json_field.from_db_value(metadata, None, connection),
                    )
                    assigned[room_id] = users
                if not status_advance_in_memory(
                    message, inbound.status, inbound.timestamp, status_details(inbound)
                ):
                    outcomes.append(Outcome("unchanged", message))
                    continue
                changes.append(status_payload(message))
                outcomes.append(Outcome("updated", message))
            if changes:
                now = timezone.now()
                rows = [
                    (m.pk, m.status, m.status_timestamp, m.metadata, now) for m in messages.values()
                ]
                columns = [list(column) for column in zip(*rows, strict=True)]
                columns[3] = [Jsonb(value) for value in columns[3]]
                with server_cursor() as arrays:
                    arrays.execute(_UPDATE_STATUSES, columns)
        emit_message_statuses(payloads=changes, assigned=assigned)
    return outcomes
