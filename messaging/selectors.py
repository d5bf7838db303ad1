"""Reads for messages: what a user may see, a room's timeline, unread counts (the one
place that rule lives), full-text search."""

from datetime import UTC, datetime

from django.db import connection
from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from boztell.models import User
from messaging.models import Message
from rooms.models import Room, RoomParticipant
from rooms.selectors import rooms_visible_to


def messages_visible_to(*, user: User) -> QuerySet[Message]:
    if user.is_supervisor:
        return Message.objects.all()
    return Message.objects.filter(room__in=rooms_visible_to(user=user))


def _full_text(query: str):
    """The document (Indonesian + English vectors, as indexed by
    messages_text_search_idx) and the query matched in either language."""
    from django.contrib.postgres.search import SearchQuery, SearchVector

    vector = SearchVector("content_text", config="indonesian") + SearchVector(
        "content_text", config="english"
    )
    search = SearchQuery(query, config="indonesian") | SearchQuery(query, config="english")
    return vector, search


def messages_matching(query: str, messages: QuerySet[Message] | None = None) -> QuerySet[Message]:
    """Messages whose text matches: full-text on PostgreSQL, substring on SQLite."""
    messages = Message.objects.all() if messages is None else messages
    if connection.vendor != "postgresql":
        return messages.filter(content_text__icontains=query)
    vector, search = _full_text(query)
    return messages.annotate(document=vector).filter(document=search)


def message_search(*, user: User, query: str, limit: int = 50) -> list[Message]:
    """The caller's messages matching `query`, best match first (newest first on SQLite)."""
    messages = messages_matching(query, messages_visible_to(user=user))
    if connection.vendor != "postgresql":
        return list(messages.order_by("-created_at")[:limit])
    from django.contrib.postgres.search import SearchRank

    vector, search = _full_text(query)
    return list(
        messages.annotate(rank=SearchRank(vector, search)).order_by("-rank", "-created_at")[:limit]
    )


def room_messages(
    *, room: Room, before: tuple | None = None, after: tuple | None = None, limit: int = 50
) -> list[Message]:
    """One page of a room's timeline by keyset on (created_at, id): stable while new
    messages arrive, and as fast at any depth. `before` pages back; `after` catches up."""
    messages = Message.objects.filter(room=room)
    # Row comparisons, so PostgreSQL walks the (room, created_at, id) index directly: an
    # OR of two conditions made a deep page 40 times slower on a million messages.
    if after:
        page = messages.extra(
            where=["(messages.created_at, messages.id) > (%s, %s)"], params=list(after)
        ).order_by("created_at", "id")[:limit]
        return list(page)
    if before:
        messages = messages.extra(
            where=["(messages.created_at, messages.id) < (%s, %s)"], params=list(before)
        )
    page = list(messages.order_by("-created_at", "-id")[:limit])
    page.reverse()
    return page


# --- Unread: the one rule ------------------------------------------------------------
#
# A room's unread count for a reader is the number of the customer's messages (reactions
# aside) after the reader's read position, capped at UNREAD_CAP. The room list and room
# detail (inbox.selectors), the lead export (inbox.selectors) and `counts_as_unread` in
# `new_message` (messaging.events) all say it through this section.

UNREAD_CAP = 100  # the inbox shows "99+"; counting further costs time for nothing
NEVER_READ = Value(datetime(1970, 1, 1, tzinfo=UTC))


class _CappedCount(Subquery):
    """COUNT over a LIMITed subquery: at most UNREAD_CAP rows are read per room."""

    template = "(SELECT count(*) FROM (%(subquery)s) _capped)"
    output_field = IntegerField()


def unread_count(*, room_ref, read_position_ref) -> _CappedCount:
    """The unread count as an expression over a queryset: the customer's messages in the
    room `room_ref` (an OuterRef to the room's id) after `read_position_ref` (an OuterRef
    to a read position, never null). Served by the partial index
    messages_customer_timeline_idx."""
    unread = (
        Message.objects.filter(
            room_id=room_ref,
            user__isnull=True,
            created_at__gt=read_position_ref,
        )
        .exclude(content_type="reaction")
        .order_by()
        .values("created_at")[:UNREAD_CAP]
    )
    return _CappedCount(unread)


def rooms_with_unread_counts(rooms: QuerySet[Room], user: User) -> QuerySet[Room]:
    """The rooms with `unread_count` for `user`: after their read position in each room
    (never read: every customer message)."""
    read_at = RoomParticipant.objects.filter(room=OuterRef("pk"), user=user).values("last_read_at")[
        :1
    ]
    return rooms.annotate(
        read_position=Coalesce(Subquery(read_at), NEVER_READ),
        unread_count=unread_count(
            room_ref=OuterRef("pk"), read_position_ref=OuterRef("read_position")
        ),
    )


def counts_as_unread(message: Message) -> bool:
    """Whether a new message raises its room's unread count: the rule of unread_count (the
    customer's messages, not reactions) for one message."""
    return message.user_id is None and message.content_type != "reaction"
