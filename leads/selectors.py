"""Reads for leads, and how their money is shown."""

from decimal import ROUND_HALF_UP, Decimal

from boztell.phones import InvalidPhone, normalize_phone
from leads.models import Lead


def format_idr(amount: Decimal | int | None) -> str:
    """Rupiah as Indonesians write it: Rp 12.500.000 (no cents; '.' groups thousands)."""
    if amount is None:
        return "-"
    value = Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}Rp {abs(int(value)):,}".replace(",", ".")


def lead_get_by_phone(*, phone: str) -> Lead | None:
    try:
        normalised = normalize_phone(phone)
    except InvalidPhone:
        return None
    return Lead.objects.filter(phone=normalised).first()
