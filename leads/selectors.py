"""How a lead's money is shown."""

from decimal import ROUND_HALF_UP, Decimal


def format_idr(amount: Decimal | int | None) -> str:
    """Rupiah as Indonesians write it: Rp 12.500.000 (no cents; '.' groups thousands)."""
    if amount is None:
        return "-"
    value = Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}Rp {abs(int(value)):,}".replace(",", ".")
