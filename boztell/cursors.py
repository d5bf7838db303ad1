"""Opaque keyset cursors: (timestamp, uuid) as URL-safe base64."""

import base64
import uuid
from datetime import datetime

from boztell.errors import BoztellError


class InvalidCursor(BoztellError):
    code = "invalid_cursor"
    status = 400


def encode_cursor(at: datetime, pk) -> str:
    raw = f"{at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not value:
        return None
    try:
        padded = value + "=" * (-len(value) % 4)
        at, pk = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, uuid.UUID(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("The cursor is not one this API gave out.") from exc
