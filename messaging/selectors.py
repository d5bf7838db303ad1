"""Reads for messages: what a user may see, a room's timeline, full-text search."""

from django.db import connection
from django.db.models import QuerySet

from boztell.models import User
from messaging.models import Message
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
