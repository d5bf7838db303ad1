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

from boztell.bulk import insert_returning_ids
from boztell.phones import InvalidPhone
from messaging.events import emit_message_statuses, emit_messages_created, status_payload
from messaging.inbound import InboundMessage, InboundStatus
from messaging.models import Message
from messaging.services.receive import (
    ROOM_FACTS,
    Outcome,
    customer_phone,
    inbound_listeners_notify,
    media_fetch_if_needed,
    message_from_inbound,
    message_receive,
    message_status_apply,
    status_details,
    status_listeners_notify,
)
from messaging.services.rules import (
    room_list_rows,
    rooms_record,
    status_advance_in_memory,
    status_applies,
)
from messaging.services.sql import Column, any_of, execute, lock_of, postgresql, rows_table
from rooms.selectors import assigned_user_ids_from_sql, assigned_user_ids_sql

logger = logging.getLogger("boztell.messaging")

Update = InboundMessage | InboundStatus


def _lock_rooms_sql(phones: list, user_ids: list, facts: list):
    """The rooms of these customers, locked in id order, with their assigned agents, their
    status (what a customer message reopens, read under the same lock) and the answers to
    `facts` (names in receive.ROOM_FACTS)."""
    by_phone, phone_params = any_of("r.phone", phones)
    by_user_id, user_id_params = any_of("r.user_id", user_ids)
    asked = "".join(f", {ROOM_FACTS[name]()}" for name in facts)
    # Only column names, constants and placeholders go into the text; values are
    # parameters.
    return (
        f"SELECT r.id, r.phone, r.user_id, r.username, {assigned_user_ids_sql('r.id')}, r.status"  # noqa: S608
        f"{asked} FROM rooms r WHERE {by_phone} OR {by_user_id} ORDER BY r.id{lock_of('r')}"
    ), [*phone_params, *user_id_params]


def _lock_messages_sql(wamids: list):
    """The messages these statuses name, locked in id order, with their rooms' assigned
    agents."""
    by_wamid, params = any_of("m.wa_message_id", wamids)
    return (
        "SELECT m.id, m.wa_message_id, m.room_id, m.status, m.status_timestamp, m.metadata, "  # noqa: S608
        f"{assigned_user_ids_sql('m.room_id')} "
        f"FROM messages m WHERE {by_wamid} ORDER BY m.id{lock_of('m')}"
    ), params


_STATUS_COLUMNS = (
    Column("id", "uuid"),
    Column("status", "text"),
    Column("at", "timestamptz"),
    Column("metadata", "jsonb"),
    Column("now", "timestamptz"),
)
_UPDATE_STATUSES = """
    UPDATE messages AS m SET status = v.status, status_timestamp = v.at, metadata = v.metadata,
        updated_at = v.now
    FROM {rows}
    WHERE m.id = v.id
"""


def updates_process(*, updates: list[Update]) -> list[Outcome]:
    """Handle every update of a body, in order; one Outcome per update."""
    outcomes: list[Outcome] = []
    together: list[Update] = []
    for update in updates:
        kind = _bulk_kind(update)
        if together and kind is not _bulk_kind(together[0]):
            outcomes += _run_process(together)
            together = []
        if kind is None:
            outcomes.append(_update_process(update))
        else:
            together.append(update)
    if together:
        outcomes += _run_process(together)
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
    # Each sender's phone is parsed once for the run: re-parsing the rest of the run after
    # every new customer made a burst of new customers quadratic (500 of them: 125,000
    # parses, 20 s of CPU).
    phones = [_phone(inbound) for inbound in run]
    while run:
        stored, run, phones = _messages_store_in_existing_rooms(run, phones)
        outcomes += stored
        if run:
            outcomes.append(_update_process(run[0]))
            run, phones = run[1:], phones[1:]
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
    run: list[InboundMessage], phones: list[str | None]
) -> tuple[list[Outcome], list[InboundMessage], list[str | None]]:
    """Store the longest prefix of `run` (its senders' phones in `phones`) whose rooms
    exist and already know the sender's every id; return its outcomes and the rest, with
    their phones (the rest starts with a message for a new room, one that teaches a room
    an id, or a bad sender)."""
    # Inside the worker's batch transaction no savepoint: a failure here fails the batch,
    # which the worker then does body by body.
    with transaction.atomic(savepoint=False):
        facts = list(ROOM_FACTS) if postgresql() else []
        with connection.cursor() as cursor:
            # Rooms are locked in id order, so two runs never wait on each other in a cycle.
            cursor.execute(
                *_lock_rooms_sql(
                    sorted({p for p in phones if p}),
                    sorted({i.user_id for i in run if i.user_id}),
                    facts,
                )
            )
            room_id = Message.room.field.to_python
            locked = [
                (room_id(row[0]), *row[1:4], assigned_user_ids_from_sql(row[4]), row[5], row[6:])
                for row in cursor.fetchall()
            ]
            by_user_id = {row[2]: row for row in locked if row[2]}
            by_phone = {row[1]: row for row in locked if row[1]}
            targets = [
                _settled_room(by_user_id, by_phone, phone, inbound.user_id)
                for inbound, phone in zip(run, phones, strict=True)
            ]
            size = next((i for i, row in enumerate(targets) if row is None), len(run))
            if size == 0:
                return [], run, phones
            # Each room of the run once (a burst from one customer is many messages, one room).
            settled = {row[0]: row for row in targets[:size]}
            messages = [
                message_from_inbound(inbound, room_id=row[0])
                for inbound, row in zip(run[:size], targets[:size], strict=True)
            ]
            _stamp(messages)
            # The unique wa_message_id drops a redelivery here, inside the same statement.
            inserted = set(insert_returning_ids(messages, ignore_conflicts=True))
            stored = [m for m in messages if m.pk in inserted]
            profiles = {
                i.wa_message_id: (i.profile_name or "", i.username or "") for i in run[:size]
            }
            statuses = {pk: row[5] for pk, row in settled.items()}
            rooms_record(room_list_rows(stored, profiles), statuses=statuses)
            if stored:
                answers = (
                    {pk: dict(zip(facts, row[6], strict=True)) for pk, row in settled.items()}
                    if facts
                    else None
                )
                inbound_listeners_notify(stored, answers)
        emit_messages_created(messages=stored, assigned={pk: row[4] for pk, row in settled.items()})
        for message in stored:  # after their events (see receive.message_receive)
            media_fetch_if_needed(message)
    outcomes = [
        Outcome("created", m) if m.pk in inserted else Outcome("duplicate") for m in messages
    ]
    return outcomes, run[size:], phones[size:]


def _stamp(messages: list[Message]) -> None:
    """Strictly increasing creation times, so a room's timeline keeps the body's order."""
    now = timezone.now()
    step = timedelta(microseconds=1)
    for i, message in enumerate(messages):
        message.created_at = message.updated_at = now + i * step


def _datetime(value):
    """A timestamp read raw: a datetime on PostgreSQL, text on SQLite."""
    if value is None or not isinstance(value, str):
        return value
    return connection.ops.convert_datetimefield_value(value, None, connection)


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
            cursor.execute(*_lock_messages_sql(sorted({s.wa_message_id for s in run})))
            found = {row[1]: row for row in cursor.fetchall()}
            fields = {f.attname: f for f in Message._meta.concrete_fields}
            messages: dict = {}
            assigned: dict = {}
            changes: list = []
            for inbound in run:
                row = found.get(inbound.wa_message_id)
                if row is None or not status_applies(inbound.status):
                    outcomes.append(_update_process(inbound))
                    continue
                message = messages.get(row[0])
                if message is None:
                    pk, wamid, room_id, status, status_at, metadata, users = row
                    # Raw rows as Django's fields read them (SQLite keeps UUIDs as hex and
                    # times as text; Django reads jsonb as text and decodes it).
                    room_id = fields["room_id"].to_python(room_id)
                    message = messages[pk] = Message(
                        id=fields["id"].to_python(pk),
                        wa_message_id=wamid,
                        room_id=room_id,
                        status=status,
                        status_timestamp=_datetime(status_at),
                        metadata=fields["metadata"].from_db_value(metadata, None, connection),
                    )
                    assigned[room_id] = assigned_user_ids_from_sql(users)
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
                from_rows, params = rows_table(_STATUS_COLUMNS, rows)
                execute(_UPDATE_STATUSES.format(rows=from_rows), params)
                status_listeners_notify(list(messages.values()))
        emit_message_statuses(payloads=changes, assigned=assigned)
    return outcomes
