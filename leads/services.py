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


def lead_update_status(*, lead: Lead, by, leads_status=None, contact_status=None) -> Lead:
    """Change a lead's statuses; everyone who sees one of its rooms hears `lead_updated`."""
    from rooms.events import emit_lead_updated

    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        fields = []
        if leads_status is not None:
            lead.leads_status = leads_status
            fields.append("leads_status")
        if contact_status is not None:
            lead.contact_status = contact_status
            fields.append("contact_status")
        if fields:
            lead._history_user = by  # the lead's admin history names who changed it
            lead.save(update_fields=[*fields, "updated_at"])
            emit_lead_updated(lead=lead, by=by)
    return lead
