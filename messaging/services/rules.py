"""The inbound rules, each written once and called by every write path on both databases:
which statuses apply and in what order, when a message's media is fetched, and what the
room list shows after new messages (its fields and the title rule).

The room list's rule is one SQL statement (`_ROOM_LIST`), run for one message (a new
customer's first message, a send) and for a run of hundreds (updates.py) alike, on
PostgreSQL and on SQLite; only how its rows are passed differs by database (sql.py).
"""

from dataclasses import dataclass
from datetime import datetime

from messaging.media import MEDIA_TYPES
from messaging.models import Message
from messaging.services.sql import Column, execute, rows_table

# --- Status order -------------------------------------------------------------------

STATUS_RANK = {
    Message.Status.PENDING: 0,
    Message.Status.SENT: 1,
    Message.Status.DELIVERED: 2,
    Message.Status.READ: 3,
    Message.Status.FAILED: 4,
}


def status_applies(status: str) -> bool:
    """Whether Meta's status is one we record at all (`pending` is ours, never Meta's)."""
    return status in STATUS_RANK and status != Message.Status.PENDING


def status_is_ahead(current: str, new: str) -> bool:
    """Statuses move forward only: sent < delivered < read; failed is final."""
    return STATUS_RANK.get(current, -1) < STATUS_RANK[new]


def status_advance_in_memory(message: Message, status: str, timestamp, details: dict) -> bool:
    """Move the (locked) message's status forward, if `status` is ahead; not saved."""
    if not status_is_ahead(message.status, status):
        return False
    message.status = status
    message.status_timestamp = timestamp
    message.metadata = {**(message.metadata or {}), **details}
    return True


# --- Media --------------------------------------------------------------------------


def media_to_fetch(media_type: str | None, media_id: str | None) -> bool:
    """A customer's message whose file we fetch from Meta and keep (and mark `pending`
    until it is stored)."""
    return media_type in MEDIA_TYPES and bool(media_id)


# --- The room list ------------------------------------------------------------------


@dataclass(frozen=True)
class RoomListRow:
    """One room's change for the room list: its latest new message, how many messages
    arrived, and what Meta said about the customer with them ("" when nothing)."""

    room_id: object
    text: str | None
    type: str
    at: datetime
    count: int
    from_customer: bool
    profile: str = ""
    username: str = ""


_ROOM_LIST_COLUMNS = (
    Column("id", "uuid"),
    Column("text", "text"),
    Column("type", "text"),
    Column("at", "timestamptz"),
    Column("n", "int"),
    Column("customer", "bool"),
    Column("profile", "text"),
    Column("username", "text"),
)

# The rule. Title: a room with no lead takes the customer's WhatsApp profile name while
# its title is only a placeholder (empty, or the phone). The customer's latest message
# opens the 24-hour window. A username Meta shows replaces the one we had.
_ROOM_LIST = """
    UPDATE rooms AS r SET
        last_message_text = v.text, last_message_type = v.type, last_message_at = v.at,
        last_customer_message_at = CASE WHEN v.customer THEN v.at
                                        ELSE r.last_customer_message_at END,
        message_count = r.message_count + v.n,
        title = CASE WHEN r.lead_id IS NULL AND v.profile <> ''
                          AND (r.title = '' OR r.title = r.phone)
                     THEN v.profile ELSE r.title END,
        username = CASE WHEN v.username <> '' THEN v.username ELSE r.username END,
        -- issue 15: the customer writing reopens the room (rooms.status)
        status = CASE WHEN v.customer THEN 'open' ELSE r.status END,
        snoozed_until = CASE WHEN v.customer THEN NULL ELSE r.snoozed_until END
    FROM {rows}
    WHERE r.id = v.id
"""


def room_list_rows(messages: list[Message], profiles: dict | None = None) -> list[RoomListRow]:
    """Each room's row for new messages stored in order (all the customer's, or one
    message): its latest message, their count, and the latest profile name and username
    Meta sent with them (`profiles` maps a wa_message_id to (profile name, username))."""
    profiles = profiles or {}
    latest: dict = {}
    for message in messages:
        room_id = message.room_id
        before = latest.get(room_id)
        profile, username = profiles.get(message.wa_message_id, ("", ""))
        latest[room_id] = RoomListRow(
            room_id=room_id,
            text=message.content_text,
            type=message.content_type,
            at=message.created_at,
            count=before.count + 1 if before else 1,
            from_customer=message.user_id is None,
            profile=profile or (before.profile if before else ""),
            username=username or (before.username if before else ""),
        )
    return list(latest.values())


def rooms_record(rows: list[RoomListRow], *, statuses: dict | None = None) -> None:
    """Keep the room list's fields current: one UPDATE whatever the number of rooms. Call
    with the rooms locked (or inside the write transaction, on SQLite). `statuses`: each
    room's status, when the caller read it under that lock (saves a query)."""
    if not rows:
        return
    from_rows, params = rows_table(
        _ROOM_LIST_COLUMNS,
        [
            (
                r.room_id,
                r.text,
                r.type,
                r.at,
                r.count,
                r.from_customer,
                r.profile or "",
                r.username or "",
            )
            for r in rows
        ],
    )
    # issue 15: the rooms a customer message reopens (pending, snoozed, resolved), read
    # before the statement opens them; their timeline line and event follow.
    from rooms.models import Room
    from rooms.status import rooms_reopened_by_customer

    customer_rooms = [r.room_id for r in rows if r.from_customer]
    if statuses is not None:
        reopened = [(pk, statuses[pk]) for pk in customer_rooms if statuses[pk] != Room.Status.OPEN]
    elif customer_rooms:
        reopened = list(
            Room.objects.filter(pk__in=customer_rooms)
            .exclude(status=Room.Status.OPEN)
            .values_list("pk", "status")
        )
    else:
        reopened = []
    execute(_ROOM_LIST.format(rows=from_rows), params)
    rooms_reopened_by_customer(reopened=reopened)
