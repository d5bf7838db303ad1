"""Reads for the core app: the event log as one user may read it back."""

from django.db.models import Q, QuerySet

from boztell.models import Event, EventsPruned, User


def events_visible_to(*, user: User, after: int) -> QuerySet[Event]:
    """Events after the cursor that this user may see now: their own, those of rooms they
    may see, and team-wide ones."""
    from rooms.selectors import rooms_visible_to

    events = Event.objects.filter(id__gt=after).order_by("id")
    mine_or_global = Q(user_id=user.pk) | Q(user_id__isnull=True, room_id__isnull=True)
    if user.is_supervisor:
        return events.filter(mine_or_global | Q(user_id__isnull=True, room_id__isnull=False))
    visible_rooms = rooms_visible_to(user=user).values("pk")
    return events.filter(mine_or_global | Q(user_id__isnull=True, room_id__in=visible_rooms))


def events_pruned_through() -> int:
    """The last cursor `manage.py events_prune` deleted (0: nothing pruned yet)."""
    return EventsPruned.objects.filter(pk=1).values_list("through_cursor", flat=True).first() or 0
