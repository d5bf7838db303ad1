"""How a value from a spreadsheet or a lead becomes a template parameter: as written
(text), as Rupiah (`Rp 1.500.000`) or as a date in Indonesian (`5 Desember 2026`)."""

import datetime as dt
from decimal import Decimal

from leads.importing import ValueProblem, parse_date, parse_decimal
from leads.selectors import format_date_id as _format_date_id
from leads.selectors import format_idr as _format_idr

FORMATS = ("text", "idr", "date_id")


class FormatError(ValueError):
    """A value that cannot be shown in the asked format (the recipient is excluded)."""


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def format_value(value, fmt: str) -> str:
    if fmt == "idr":
        return format_idr(value)
    if fmt == "date_id":
        return format_date_id(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # XLSX numbers arrive as floats: 42.0 is 42
    return str(value).strip()


def _money(value) -> Decimal:
    """Amounts as people write them: the leads import's one rule (leads.importing)."""
    try:
        return parse_decimal(value)
    except ValueProblem as exc:
        raise FormatError(f"'{value}' is not an amount") from exc


def format_idr(value) -> str:
    """Rupiah as Indonesians write it: Rp 1.500.000 (leads.selectors.format_idr)."""
    return _format_idr(_money(value))


def _date(value) -> dt.date:
    """Dates as people write them: the leads import's one rule (leads.importing)."""
    try:
        return parse_date(value)
    except ValueProblem as exc:
        raise FormatError(f"'{value}' is not a date (use 2026-12-05 or 05/12/2026)") from exc


def format_date_id(value) -> str:
    """A date as Indonesians write it: 5 Desember 2026 (leads.selectors.format_date_id)."""
    return _format_date_id(_date(value))
