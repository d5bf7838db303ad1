"""Leads out with their rooms' facts: what every export door (GET /leads/export, the leads'
admin page) sends. The writer is leads/export.py; the facts are inbox.selectors'."""

from inbox.selectors import LEAD_ROOM_COLUMNS, leads_with_room_facts
from leads.export import export_response


def lead_export_response(leads, *, format: str, name: str = "leads", request=None):
    """A streamed CSV or XLSX of these leads, each with its room's facts."""
    return export_response(
        leads_with_room_facts(leads),
        format=format,
        name=name,
        request=request,
        columns=LEAD_ROOM_COLUMNS,
    )
