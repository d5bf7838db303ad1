"""How a value from a spreadsheet or a lead becomes a template parameter: as written
(text), as Rupiah (`Rp 1.500.000`) or as a date in Indonesian (`5 Desember 2026`)."""

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FORMATS = ("text", "idr", "date_id")

MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


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
    if isinstance(value, bool):
        raise FormatError("not an amount")
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = re.sub(r"(?i)^\s*(rp\.?|idr)\s*", "", str(value)).strip().replace(" ", "")
    # Indonesian writing: '.' groups thousands, ',' starts the cents (1.500.000,50).
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", text) or re.fullmatch(r"-?\d+,\d{1,2}", text):
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise FormatError(f"'{value}' is not an amount") from exc


def format_idr(value) -> str:
    """Rupiah as Indonesians write it: Rp 1.500.000 (no cents; '.' groups thousands)."""
    amount = _money(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(int(amount)):,}".replace(",", ".")


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text[:19], pattern).date()
        except ValueError:
            continue
    raise FormatError(f"'{value}' is not a date (use 2026-12-05 or 05/12/2026)")


def format_date_id(value) -> str:
    """A date as Indonesians write it: 5 Desember 2026."""
    day = _date(value)
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"
