"""Reads for leads: how a lead's money is shown, and what a quick reply can fill from a
lead."""

from decimal import ROUND_HALF_UP, Decimal


def format_idr(amount: Decimal | int | None) -> str:
    """Rupiah as Indonesians write it: Rp 12.500.000 (no cents; '.' groups thousands)."""
    if amount is None:
        return "-"
    value = Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}Rp {abs(int(value)):,}".replace(",", ".")


# The lead's fields a quick reply may name as {{placeholder}}. The leads work's typed
# attributes (due date, instalment, DPD, ...) join here: lead_placeholder_names() lists
# every name a lead may fill, lead_placeholder_values() the lead's values for them.
LEAD_PLACEHOLDER_FIELDS = (
    "name",
    "outstanding",
    "phone",
    "loan_type",
    "leads_status",
    "contact_status",
)


def lead_placeholder_names() -> set[str]:
    """Every placeholder name a lead can fill (known even for a room without a lead)."""
    return set(LEAD_PLACEHOLDER_FIELDS)


def lead_placeholder_values(*, lead) -> dict[str, str]:
    """The lead's values for quick-reply placeholders, as a customer should read them
    (money in rupiah, the phone with +); empty fields are left out (no value)."""
    values = {
        "name": lead.name,
        "outstanding": format_idr(lead.outstanding) if lead.outstanding is not None else "",
        "phone": f"+{lead.phone}" if lead.phone else "",
        "loan_type": lead.loan_type,
        "leads_status": lead.leads_status,
        "contact_status": lead.contact_status,
    }
    return {name: str(value) for name, value in values.items() if value not in (None, "")}
