"""Writes for leads."""

from decimal import Decimal

from django.db import transaction

from boztell.phones import normalize_phone
from leads.models import Lead


def lead_create(
    *,
    name: str,
    phone: str,
    outstanding: Decimal | int | str = 0,
    loan_type: str = "",
    leads_status: str = "",
    contact_status: str = "",
) -> Lead:
    with transaction.atomic():
        lead = Lead.objects.create(
            name=name,
            phone=normalize_phone(phone),
            outstanding=Decimal(str(outstanding)),
            loan_type=loan_type,
            leads_status=leads_status,
            contact_status=contact_status,
        )
        # A room that already exists for this phone now shows the lead's name.
        from rooms.services import room_link_lead

        room_link_lead(lead=lead)
    return lead


# What a person may change on a lead (the admin form, the API's statuses).
LEAD_FIELDS = ("name", "phone", "outstanding", "loan_type", "leads_status", "contact_status")


def lead_update(*, lead: Lead, by, **changes) -> Lead:
    """Change a lead's fields (any of LEAD_FIELDS); everyone who sees one of its rooms hears
    `lead_updated`. A new phone also links the room with that phone, if it has no lead."""
    from rooms.events import emit_lead_updated
    from rooms.services import room_link_lead

    unknown = set(changes) - set(LEAD_FIELDS)
    if unknown:
        raise TypeError(f"lead_update() cannot change {', '.join(sorted(unknown))}")
    if "phone" in changes:
        changes["phone"] = normalize_phone(changes["phone"])
    if "outstanding" in changes:
        changes["outstanding"] = Decimal(str(changes["outstanding"]))
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if changes:
            for name, value in changes.items():
                setattr(lead, name, value)
            lead.save(update_fields=[*changes, "updated_at"])
            if "phone" in changes:
                room_link_lead(lead=lead)
            emit_lead_updated(lead=lead, by=by)
    return lead


def lead_update_status(*, lead: Lead, by, leads_status=None, contact_status=None) -> Lead:
    """Change a lead's statuses (see lead_update)."""
    changes = {"leads_status": leads_status, "contact_status": contact_status}
    return lead_update(lead=lead, by=by, **{k: v for k, v in changes.items() if v is not None})
