"""Opt-out: a customer who answers with an opt-out keyword or taps the opt-out button is
excluded from later marketing campaigns (and utility ones when the supervisor says so:
CAMPAIGN_OPT_OUT_APPLIES_TO_UTILITY), and gets one confirmation inside the window."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from campaigns.models import CampaignRecipient, OptOut
from rooms.models import Room

logger = logging.getLogger("boztell.campaigns")


def _lead_do_not_contact(lead_id) -> None:
    """Mark the lead do-not-contact through the one lead update service, so its history
    names the change and everyone who sees the lead's rooms hears `lead_updated` after
    the commit (an open lead panel shows it at once). The customer did it, not an agent:
    the system user signs it."""
    from boztell.services import system_user
    from leads.models import Lead
    from rooms.services import lead_update

    lead = Lead.objects.filter(pk=lead_id, do_not_contact=False).first() if lead_id else None
    if lead is not None:
        lead_update(lead=lead, by=system_user(), do_not_contact=True)


def opt_out_record(*, room_id, source: str) -> OptOut | None:
    """Record the opt-out of the customer of this room (once); runs in the caller's
    transaction (the webhook's); the confirmation is sent by a task after the commit."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        return None
    identity = room.phone or room.user_id
    recipient = (
        CampaignRecipient.objects.filter(room_id=room.pk, sent_at__isnull=False)
        .order_by("-sent_at")
        .select_related("campaign")
        .first()
    )
    try:
        with transaction.atomic():
            opt_out = OptOut.objects.create(
                identity=identity,
                room=room,
                lead_id=room.lead_id,
                source=source[:200],
                campaign=recipient.campaign if recipient else None,
            )
    except IntegrityError:
        return None  # already opted out: no second confirmation
    _lead_do_not_contact(room.lead_id)
    logger.info("opt-out room=%s source=%s", room.pk, source)
    sender_id = recipient.campaign.created_by_id if recipient else None
    from campaigns.tasks import opt_out_confirm

    transaction.on_commit(lambda: opt_out_confirm.enqueue(str(room.pk), str(sender_id or "")))
    return opt_out


def opt_out_confirm_send(*, room_id, sender_id) -> str:
    """Send the confirmation as the campaign's creator (else the first supervisor), only
    inside the 24-hour window (the opt-out message itself opened it)."""
    from boztell.errors import BoztellError
    from boztell.models import User
    from messaging.services.send import WindowClosed, message_send_text

    sender = User.objects.filter(pk=sender_id, is_active=True).first() if sender_id else None
    if sender is None:
        sender = (
            User.objects.filter(is_active=True, role=User.Role.SUPERVISOR)
            .order_by("date_joined")
            .first()
        )
    if sender is None:
        return "no sender"
    try:
        message_send_text(
            sender=sender, room_id=room_id, text=settings.CAMPAIGN_OPT_OUT_CONFIRMATION
        )
    except WindowClosed:
        return "window closed"
    except BoztellError as exc:  # Meta refused: the opt-out itself stands
        logger.warning("opt-out confirmation not sent room=%s: %s", room_id, exc.code)
        return exc.code
    return "sent"
