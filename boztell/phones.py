"""The one phone-number rule that joins leads, rooms and sends.

WhatsApp identifies a customer by `wa_id`, the number in international form
without '+' (an Indonesian mobile is `62812...`). People type the same number as
`0812...`, `+62 812-...`, `62812...` or `812...`; all of them normalise to the
`wa_id` form.
"""

import re

from boztell.errors import BoztellError

_SEPARATORS = re.compile(r"[\s\-().]")
MIN_DIGITS = 8
MAX_DIGITS = 15  # E.164


class InvalidPhone(BoztellError):
    code = "invalid_phone"
    status = 400


def normalize_phone(raw: str | int | None, *, default_country: str = "62") -> str:
    """Return the number as WhatsApp's `wa_id`: country code and digits only."""
    if raw is None:
        raise InvalidPhone("A phone number is required.")
    text = _SEPARATORS.sub("", str(raw).strip())
    if not text:
        raise InvalidPhone("A phone number is required.")
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    if not text.isdigit():
        raise InvalidPhone(f"'{raw}' is not a phone number: use digits, spaces, dashes and '+'.")
    if text.startswith("0"):
        text = default_country + text.lstrip("0")
    elif text.startswith("8") and default_country == "62":
        # An Indonesian mobile typed without its trunk 0: 812...
        text = default_country + text
    if not MIN_DIGITS <= len(text) <= MAX_DIGITS:
        raise InvalidPhone(
            f"'{raw}' is not a phone number: expected {MIN_DIGITS} to {MAX_DIGITS} digits."
        )
    return text
