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


SEARCH_CONFIGS = ("indonesian", "english")


def messages_matching(query: str) -> QuerySet[Message]:
    """Messages whose text matches: full-text (Indonesian and English) on PostgreSQL,
    served by the GIN index messages_text_search_idx; substring on SQLite."""
    if connection.vendor != "postgresql":
        return Message.objects.filter(content_text__icontains=query)
    from django.contrib.postgres.search import SearchQuery, SearchVector

    vector = SearchVector("content_text", config="indonesian") + SearchVector(
        "content_text", config="english"
    )
    search = SearchQuery(query, config="indonesian") | SearchQuery(query, config="english")
    return Message.objects.annotate(document=vector).filter(document=search)


def message_search(*, user: User, query: str, limit: int = 50) -> list[Message]:
    """PostgreSQL full-text search in Indonesian and English (a match in either counts),
    best match first; plain substring search on SQLite."""
    messages = messages_visible_to(user=user).exclude(content_text__isnull=True)
    if connection.vendor != "postgresql":
        return list(messages.filter(content_text__icontains=query).order_by("-created_at")[:limit])
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = SearchVector("content_text", config="indonesian") + SearchVector(
        "content_text", config="english"
    )
    search = SearchQuery(query, config="indonesian") | SearchQuery(query, config="english")
    return list(
        messages.annotate(document=vector, rank=SearchRank(vector, search))
        .filter(document=search)
        .order_by("-rank", "-created_at")[:limit]
    )
