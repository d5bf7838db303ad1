"""Reads for quick replies: search them, and render one for a room and an agent."""

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from boztell.models import User
from replies.models import QuickReply
from replies.placeholders import render
from rooms.models import Room


def quick_reply_search(*, query: str = "", limit: int = 50) -> QuerySet[QuickReply]:
    """Quick replies whose shortcut, title or text holds `query` (a leading '/' is the
    composer's trigger, not part of it); shortcuts that start with it first."""
    query = query.strip().lstrip("/")
    replies = QuickReply.objects.all()
    if not query:
        return replies.order_by("shortcut")[:limit]
    return (
        replies.filter(
            Q(shortcut__icontains=query) | Q(title__icontains=query) | Q(text__icontains=query)
        )
        .annotate(
            rank=Case(
                When(shortcut__istartswith=query, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "shortcut")[:limit]
    )


def placeholder_values(*, room: Room | None, agent: User) -> dict[str, str]:
    """What the placeholders are filled with: the room's lead, else what the room knows
    of the customer (WhatsApp profile name, number), and the agent writing."""
    from leads.selectors import lead_placeholder_values

    values: dict[str, str] = {}
    if room is not None:
        if room.title and room.title != room.phone:
            values["name"] = room.title
        if room.phone:
            values["phone"] = f"+{room.phone}"
        if room.lead_id:
            values.update(lead_placeholder_values(lead=room.lead))
    values["agent"] = agent.name
    return values


def quick_reply_render(*, reply: QuickReply, room: Room | None, agent: User) -> dict:
    text, missing = render(reply.text, placeholder_values(room=room, agent=agent))
    return {"id": reply.pk, "shortcut": reply.shortcut, "text": text, "missing": missing}
