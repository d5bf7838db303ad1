"""Writes for what Meta tells us: a customer's message, a status, fetched media.

Exactly-once is the database's job: `wa_message_id` is unique, statuses move forward
under a row lock, and a status for a message not stored yet waits in `pending_statuses`
(unique per message and status) until that message is stored.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse

from boztell.phones import InvalidPhone, normalize_wa_id
from messaging.events import (
    emit_message_created,
    emit_message_reaction,
    emit_message_status,
    emit_message_updated,
)
from messaging.inbound import InboundMessage, InboundStatus
from messaging.models import Message, PendingStatus
from messaging.services.customers import room_for_customer, room_identity_move
from messaging.services.rules import (
    STATUS_RANK,
    media_to_fetch,
    room_list_rows,
    rooms_record,
    status_advance_in_memory,
    status_applies,
)
from rooms.models import Room

logger = logging.getLogger("boztell.messaging")


# Other apps hear of status changes and customer messages here (campaigns track their
# recipients), without messaging importing them. Each listener is called inside the
# transaction that wrote the change, once per run, with the in-memory messages; it must
# be cheap for messages that are not its own (campaigns look at `metadata` first).
STATUS_LISTENERS: list = []
INBOUND_LISTENERS: list = []

# What an inbound listener wants to know of each room before it does any work, asked in
# the statement that locks a run's rooms (PostgreSQL), so a run whose answer is "no" costs
# it no query: {name: function returning an SQL expression over the rooms row `r`; only
# constants go into its text}. The answers reach the listeners as `facts`
# ({room_id: {name: answer}}); None where messages come one at a time (a new room, a
# changed identity) or on SQLite, and a listener then asks for itself.
ROOM_FACTS: dict = {}


def status_listeners_notify(messages: list[Message]) -> None:
    """Messages whose status just moved forward (saved in the current transaction)."""
    for listener in STATUS_LISTENERS:
        listener(messages)


def inbound_listeners_notify(messages: list[Message], facts: dict | None = None) -> None:
    """Customer messages just stored (not reactions), in the current transaction, with
    their rooms' ROOM_FACTS when the caller read them."""
    for listener in INBOUND_LISTENERS:
        listener(messages, facts)


@dataclass(frozen=True)
class Outcome:
    """What one webhook update did: `created`, `duplicate`, `updated`, `unchanged`,
    `pending` (a status kept for later) or `stale` (an older reaction)."""

    result: str
    message: Message | None = None


def customer_phone(inbound: InboundMessage) -> str | None:
    """The customer's normalised number, if Meta showed one. A number we cannot read
    is dropped when the BSUID still names the customer; with nothing else, InvalidPhone."""
    if not inbound.wa_id:
        return None
    try:
        return normalize_wa_id(inbound.wa_id)
    except InvalidPhone:
        if inbound.user_id:
            logger.warning("unreadable wa_id ignored wamid=%s", inbound.wa_message_id)
            return None
        raise


def message_receive(*, inbound: InboundMessage) -> Outcome:
    """Store a customer's message once, in its room (found by BSUID or phone, made if
    new, merged if Meta just proved two rooms are one person), and emit its event."""
    phone = customer_phone(inbound)
    try:
        with transaction.atomic():
            found = room_for_customer(
                phone=phone,
                user_id=inbound.user_id,
                username=inbound.username,
                title=inbound.profile_name or "",
            )
            room, room_created = found.room, found.created
            # The unique wa_message_id decides: a redelivery fails here and the whole
            # transaction (a merge too) rolls back.
            message = message_from_inbound(inbound, room_id=room.pk)
            message.save(force_insert=True)
            if inbound.is_reaction:
                return _reaction_settle(message)
            if inbound.changes_identity:
                room = _identity_move(inbound, room)
                message.room_id = room.pk
            room_record_message(
                message=message, profile_name=inbound.profile_name, username=inbound.username
            )
            inbound_listeners_notify([message])
            if room_created:
                room = Room.objects.select_related("lead").get(pk=room.pk)
                from rooms.assignment import room_route_on_commit

                room_route_on_commit(room_id=room.pk)  # issue 15: a new room goes to a team
            emit_message_created(room=room, message=message, room_created=room_created)
            # After the message's own event: a fetch that runs at the commit (tasks inline,
            # the embedded default) announces the file after the message, not before it.
            media_fetch_if_needed(message)
    except IntegrityError:
        if Message.objects.filter(wa_message_id=inbound.wa_message_id).exists():
            return Outcome("duplicate")
        raise
    return Outcome("created", message)


def _identity_move(inbound: InboundMessage, room: Room) -> Room:
    """A `system` user-change message: the room takes the customer's new number/BSUID."""
    new_phone = None
    if inbound.new_wa_id:
        try:
            new_phone = normalize_wa_id(inbound.new_wa_id)
        except InvalidPhone:
            logger.warning("user change with unreadable wa_id wamid=%s", inbound.wa_message_id)
    if not new_phone and not inbound.new_user_id:
        return room
    moved = room_identity_move(room=room, phone=new_phone, user_id=inbound.new_user_id)
    return moved.room


def message_from_inbound(inbound: InboundMessage, *, room_id) -> Message:
    """The customer's message as we store it (not saved yet)."""
    return Message(
        room_id=room_id,
        user=None,
        content_type=inbound.content_type,
        content_text=inbound.content_text,
        wa_message_id=inbound.wa_message_id,
        reply_to_wa_message_id=inbound.reply_to_wa_message_id,
        reaction_emoji=inbound.reaction_emoji,
        reaction_to_wa_message_id=inbound.reaction_to_wa_message_id,
        media_type=inbound.media_type,
        media_id=inbound.media_id,
        mime_type=inbound.mime_type,
        original_filename=inbound.original_filename,
        metadata=_inbound_metadata(inbound),
        status=Message.Status.RECEIVED,
        status_timestamp=inbound.timestamp,
    )


def _inbound_metadata(inbound: InboundMessage) -> dict:
    metadata = {"wa_timestamp": inbound.timestamp.isoformat(), **inbound.metadata}
    # Who Meta said wrote it, as Meta named them then (a room's ids can change later).
    if inbound.user_id:
        metadata["from_user_id"] = inbound.user_id
    if inbound.username:
        metadata["username"] = inbound.username
    if media_to_fetch(inbound.media_type, inbound.media_id):
        metadata["media_status"] = "pending"
    return metadata


def room_record_message(
    *, message: Message, profile_name: str | None = None, username: str | None = None
) -> None:
    """Keep the room list's fields current for one new message (rules.rooms_record: the
    same statement as a bulk run's)."""
    profiles = {message.wa_message_id: (profile_name or "", username or "")}
    rooms_record(room_list_rows([message], profiles))


def media_fetch_if_needed(message: Message) -> None:
    """Queue the fetch of a stored customer message's file, if it has one to fetch."""
    if media_to_fetch(message.media_type, message.media_id):
        from messaging.tasks import media_fetch_enqueue

        media_fetch_enqueue(message=message)


def _reaction_settle(message: Message) -> Outcome:
    """A customer has one reaction per message: the latest (by Meta's timestamp) is in
    force; older ones are cleared. A removal arrives with no emoji and clears it."""
    siblings = list(
        Message.objects.select_for_update()
        .filter(
            room_id=message.room_id,
            user__isnull=True,
            content_type="reaction",
            reaction_to_wa_message_id=message.reaction_to_wa_message_id,
        )
        .order_by("created_at", "id")
    )
    latest = max(siblings, key=lambda m: ((m.metadata or {}).get("wa_timestamp", ""), m.created_at))
    for sibling in siblings:
        if sibling.pk != latest.pk and sibling.reaction_emoji:
            sibling.reaction_emoji = None
            sibling.metadata = {**(sibling.metadata or {}), "superseded_by": latest.wa_message_id}
            sibling.save(update_fields=["reaction_emoji", "metadata", "updated_at"])
    if latest.pk != message.pk:
        return Outcome("stale", message)
    emit_message_reaction(message=message)
    return Outcome("created", message)


def message_status_apply(*, inbound: InboundStatus) -> Outcome:
    """Move a message's status forward only (sent < delivered < read; failed is final)."""
    if not status_applies(inbound.status):
        logger.info("status ignored wamid=%s status=%s", inbound.wa_message_id, inbound.status)
        return Outcome("unchanged")
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("room")
            .filter(wa_message_id=inbound.wa_message_id)
            .first()
        )
        if message is None:
            try:
                with transaction.atomic():
                    PendingStatus.objects.create(
                        wa_message_id=inbound.wa_message_id,
                        status=inbound.status,
                        status_timestamp=inbound.timestamp,
                        payload=status_details(inbound),
                    )
            except IntegrityError:
                return Outcome("duplicate")
            from messaging.tasks import pending_statuses_sweep_soon

            pending_statuses_sweep_soon()  # the one race its sender cannot see (db_worker)
            return Outcome("pending")
        if not _status_advance(message, inbound.status, inbound.timestamp, status_details(inbound)):
            return Outcome("unchanged", message)
        status_listeners_notify([message])
        emit_message_status(message=message)
    return Outcome("updated", message)


def status_details(inbound: InboundStatus) -> dict:
    details: dict = {}
    if inbound.errors:
        first = inbound.errors[0]
        error_data = first.get("error_data")
        details["error"] = {
            "code": _scalar(first.get("code")),
            "title": _scalar(first.get("title")),
            "message": _scalar(first.get("message")),
            "details": _scalar(error_data.get("details")) if isinstance(error_data, dict) else None,
        }
        details["errors"] = inbound.errors
    if inbound.conversation:
        details["conversation"] = inbound.conversation
    if inbound.pricing:
        details["pricing"] = inbound.pricing
    return details


def _scalar(value):
    """One of Meta's error fields as it should be (a number or a text), else None."""
    return value if isinstance(value, str | int | float) and not isinstance(value, bool) else None


def _status_advance(message: Message, status: str, timestamp, details: dict) -> bool:
    if not status_advance_in_memory(message, status, timestamp, details):
        return False
    message.save(update_fields=["status", "status_timestamp", "metadata", "updated_at"])
    return True


def message_apply_pending_statuses(*, message: Message) -> bool:
    """Apply statuses that arrived before this message had its wa_message_id.
    Call inside the transaction that stores the wa_message_id."""
    pending = list(
        PendingStatus.objects.select_for_update().filter(wa_message_id=message.wa_message_id)
    )
    changed = False
    for row in sorted(pending, key=lambda r: STATUS_RANK.get(r.status, 0)):
        # Each step forward is its own event, taken at that step: clients see
        # delivered then read, as they would have live.
        if _status_advance(message, row.status, row.status_timestamp, row.payload):
            emit_message_status(message=message)
            changed = True
    if changed:
        status_listeners_notify([message])
    if pending:
        PendingStatus.objects.filter(pk__in=[r.pk for r in pending]).delete()
    return changed


def pending_statuses_sweep(*, limit: int = 1000) -> int:
    """Apply kept statuses whose message has its wa_message_id by now. A status can be
    kept just as its message's wamid is being stored (each transaction checks before the
    other commits): a task queued when the status is kept (messaging/tasks.py,
    `pending_statuses_sweep_soon`, run by db_worker) calls this a few seconds later, and
    a sender that stores wamids in bulk (campaigns) calls it every second as well. One
    indexed query when there is nothing to do; on PostgreSQL the statuses are applied as a
    webhook run is, in bulk."""
    from django.db import connection
    from django.db.models import Exists, OuterRef

    stored = Message.objects.filter(wa_message_id=OuterRef("wa_message_id"))
    with transaction.atomic():
        rows = list(
            PendingStatus.objects.select_for_update(skip_locked=True)
            .filter(Exists(stored))
            .order_by("id")[:limit]
        )
        if not rows:
            return 0
        if connection.vendor != "postgresql":
            for wamid in {row.wa_message_id for row in rows}:
                message = (
                    Message.objects.select_for_update()
                    .select_related("room")
                    .get(wa_message_id=wamid)
                )
                message_apply_pending_statuses(message=message)
            return len(rows)
        from messaging.services.updates import _statuses_apply

        ordered = sorted(rows, key=lambda r: (r.wa_message_id, STATUS_RANK.get(r.status, 0)))
        PendingStatus.objects.filter(pk__in=[row.pk for row in rows]).delete()
        _statuses_apply(
            [
                InboundStatus(
                    wa_message_id=row.wa_message_id,
                    status=row.status,
                    timestamp=row.status_timestamp,
                    errors=(row.payload or {}).get("errors") or [],
                    conversation=(row.payload or {}).get("conversation"),
                    pricing=(row.payload or {}).get("pricing"),
                )
                for row in ordered
            ]
        )
    return len(rows)


def message_media_stored(
    *, message_id, name: str, size: int, mime_type: str | None
) -> Message | None:
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("room").get(pk=message_id)
        message.gcs_filename = name
        message.gcs_url = reverse("message-media", args=[message.pk])
        message.file_size = size
        message.mime_type = mime_type or message.mime_type
        metadata = dict(message.metadata or {})
        metadata["media_status"] = "ready"
        metadata.pop("media_error", None)
        message.metadata = metadata
        message.save(
            update_fields=[
                "gcs_filename",
                "gcs_url",
                "file_size",
                "mime_type",
                "metadata",
                "updated_at",
            ]
        )
        emit_message_updated(message=message)
    return message


def message_media_attempt_failed(*, message_id, error: str, final: bool, attempt: int) -> None:
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("room").get(pk=message_id)
        metadata = dict(message.metadata or {})
        metadata["media_status"] = "failed" if final else "pending"
        metadata["media_error"] = error
        metadata["media_attempts"] = attempt
        message.metadata = metadata
        message.save(update_fields=["metadata", "updated_at"])
        if final:
            emit_message_updated(message=message)
