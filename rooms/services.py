"""Writes for rooms: find or create a customer's room, link leads, assign agents."""

from leads.models import Lead
from rooms.models import Room


def room_link_lead(*, lead: Lead) -> int:
    """Attach the lead to the room with its phone, if there is one."""
    return Room.objects.filter(phone=lead.phone, lead__isnull=True).update(lead=lead)


def room_get_or_create(*, phone: str, title: str = "") -> tuple[Room, bool]:
    """The room for a normalised phone, created at most once even under concurrency:
    the unique `phone` column decides, not a read-then-write check."""
    room = Room.objects.filter(phone=phone).first()
    if room is not None:
        return room, False
    lead = Lead.objects.filter(phone=phone).first()
    defaults = {"title": (lead.name if lead else "") or title or phone, "lead": lead}
    return Room.objects.get_or_create(phone=phone, defaults=defaults)
