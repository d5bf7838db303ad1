"""The one phone-number rule that joins leads, rooms and sends, and how a BSUID looks.

WhatsApp identifies a customer by `wa_id`, the number in international form without
'+' (an Indonesian mobile is `62812...`). People type the same number as `0812...`,
`+62 812-...`, `+62 0812...`, `62812...` or `812...`; libphonenumber (`phonenumbers`)
reads each of them in the default region (setting PHONE_DEFAULT_REGION, `ID`) and all
of them normalise to the `wa_id` form. A number libphonenumber calls impossible for its
country (`12345678`) is refused with `invalid_phone`.

A customer who hides their number behind a WhatsApp username is known by a
business-scoped user ID (BSUID): an ISO 3166 alpha-2 country code, a period, then up to
128 letters and digits (`ID.2081978709342942`); a parent BSUID has `ENT.` after the
country code (`US.ENT.11815799212886844830`).
"""

import functools
import re

import phonenumbers
from django.conf import settings

from boztell.errors import BoztellError

_ALLOWED = re.compile(r"^\+?[\d\s\-().]+$")
_BSUID = re.compile(r"^[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}$")
MAX_DIGITS = 15  # E.164


class InvalidPhone(BoztellError):
    code = "invalid_phone"
    status = 400


def is_bsuid(value) -> bool:
    """True for text shaped like Meta's business-scoped user ID (or a parent BSUID)."""
    return isinstance(value, str) and bool(_BSUID.fullmatch(value.strip()))


def _region() -> str:
    return getattr(settings, "PHONE_DEFAULT_REGION", "ID") or "ID"


def _wa_id(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def normalize_phone(raw: str | int | None, *, region: str | None = None) -> str:
    """A number as people type it → WhatsApp's `wa_id` (country code and digits), or
    InvalidPhone. Read in `region` (default PHONE_DEFAULT_REGION); digits without '+' that
    are no number there are tried as international (`14155550100`)."""
    if raw is None or isinstance(raw, bool):
        raise InvalidPhone("A phone number is required.")
    text = str(raw).strip()
    if not text:
        raise InvalidPhone("A phone number is required.")
    if not _ALLOWED.fullmatch(text) or text.count("+") > 1:
        raise InvalidPhone(f"'{raw}' is not a phone number: use digits, spaces, dashes and '+'.")
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = re.sub(r"\D", "", text)
    if len(digits) > MAX_DIGITS + 2:
        raise InvalidPhone(f"'{raw}' is not a phone number: too many digits.")
    number = _parse(text, region or _region())
    if number is not None and phonenumbers.is_valid_number(number):
        return _wa_id(number)
    if not text.startswith("+"):
        number = _parse("+" + digits, None)
        if number is not None and phonenumbers.is_valid_number(number):
            return _wa_id(number)
    raise InvalidPhone(f"'{raw}' is not a valid phone number.")


def normalize_wa_id(raw) -> str:
    """Meta's own `wa_id` (international digits, no '+') in our stored form. Meta is the
    authority on its users' numbers, so a number that is possible (not necessarily in
    libphonenumber's current plan) is kept; `+62 0…` spellings lose the trunk 0."""
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    digits = text[1:] if text.startswith("+") else text
    if not digits.isdigit() or not 6 <= len(digits) <= MAX_DIGITS:
        raise InvalidPhone(f"'{raw}' is not a WhatsApp id.")
    return _possible_wa_id(digits) or normalize_phone(digits)


@functools.lru_cache(maxsize=20_000)
def _possible_wa_id(digits: str) -> str | None:
    """The stored form of a possible international number, else None. Remembered: the same
    customers write again and again, and libphonenumber's parse was a quarter of the
    webhook worker's CPU for a customer text (bench/worker.py)."""
    number = _parse("+" + digits, None)
    if number is not None and phonenumbers.is_possible_number(number):
        return _wa_id(number)
    return None
