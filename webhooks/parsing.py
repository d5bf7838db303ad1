"""Meta's webhook envelope → InboundMessage / InboundStatus, in the order Meta sent them.

Envelope: {"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field",
"value": {"metadata", "contacts", "messages", "statuses", "errors"}}]}]}.
Unknown fields are ignored (Meta adds fields over time); unknown message types are kept.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from messaging.inbound import InboundMessage, InboundStatus
from messaging.media import MEDIA_TYPES

logger = logging.getLogger("boztell.webhooks")

MEDIA_LABELS = {
    "image": "Photo",
    "video": "Video",
    "audio": "Audio",
    "document": "Document",
    "sticker": "Sticker",
}


class EnvelopeError(ValueError):
    """The body is not a WhatsApp Business Account webhook at all."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


@dataclass
class ParsedBody:
    updates: list = field(default_factory=list)  # InboundMessage | InboundStatus, in order
    skipped: list[str] = field(default_factory=list)  # reasons, for the log
    errors: list[dict] = field(default_factory=list)  # value-level errors Meta reported


def _timestamp(raw) -> datetime:
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(tz=UTC)


def parse_body(body) -> ParsedBody:
    if not isinstance(body, dict):
        raise EnvelopeError("invalid_envelope", "The body must be a JSON object.")
    if body.get("object") != "whatsapp_business_account":
        raise EnvelopeError(
            "unsupported_object",
            f"object '{body.get('object')}' is not whatsapp_business_account.",
        )
    entries = body.get("entry")
    if not isinstance(entries, list):
        raise EnvelopeError("invalid_envelope", "'entry' must be a list.")
    parsed = ParsedBody()
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            parsed.skipped.append("entry without a changes list")
            continue
        for change in changes:
            _parse_change(change, parsed)
    return parsed


def _parse_change(change, parsed: ParsedBody) -> None:
    if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
        parsed.skipped.append("change without a value object")
        return
    if change.get("field", "messages") != "messages":
        parsed.skipped.append(f"field '{change.get('field')}' is not handled")
        return
    value = change["value"]
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    profiles = {}
    for contact in _list(value.get("contacts")):
        if isinstance(contact, dict) and contact.get("wa_id"):
            profiles[str(contact["wa_id"])] = (contact.get("profile") or {}).get("name")
    for raw in _list(value.get("messages")):
        message = _parse_message(raw, profiles, metadata, parsed)
        if message is not None:
            parsed.updates.append(message)
    for raw in _list(value.get("statuses")):
        status = _parse_status(raw, parsed)
        if status is not None:
            parsed.updates.append(status)
    for error in _list(value.get("errors")):
        parsed.errors.append(error)


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _parse_status(raw, parsed: ParsedBody) -> InboundStatus | None:
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("status"):
        parsed.skipped.append("status without id or status")
        return None
    return InboundStatus(
        wa_message_id=str(raw["id"]),
        status=str(raw["status"]),
        timestamp=_timestamp(raw.get("timestamp")),
        recipient_id=raw.get("recipient_id"),
        errors=_list(raw.get("errors")),
        conversation=raw.get("conversation"),
        pricing=raw.get("pricing"),
    )


def _parse_message(raw, profiles: dict, metadata: dict, parsed) -> InboundMessage | None:
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("from"):
        parsed.skipped.append("message without id or from")
        return None
    kind = str(raw.get("type") or "unknown")
    wa_id = str(raw["from"])
    fields: dict = {"content_type": kind}
    extra: dict = {}
    if metadata.get("phone_number_id"):
        extra["phone_number_id"] = metadata["phone_number_id"]

    context = raw.get("context") if isinstance(raw.get("context"), dict) else {}
    if context.get("forwarded") or context.get("frequently_forwarded"):
        extra["forwarded"] = True
        extra["frequently_forwarded"] = bool(context.get("frequently_forwarded"))
    elif context.get("id"):
        fields["reply_to_wa_message_id"] = str(context["id"])
    if context.get("referred_product"):
        extra["referred_product"] = context["referred_product"]
    if isinstance(raw.get("referral"), dict):
        extra["referral"] = raw["referral"]

    body = raw.get(kind) if isinstance(raw.get(kind), dict) else {}
    if kind == "text":
        fields["content_text"] = body.get("body")
    elif kind in MEDIA_TYPES:
        fields.update(
            media_type=kind,
            media_id=body.get("id"),
            mime_type=body.get("mime_type"),
            original_filename=body.get("filename") if kind == "document" else None,
        )
        caption = body.get("caption")
        label = body.get("filename") if kind == "document" else None
        if kind == "audio" and body.get("voice"):
            label = "Voice message"
        fields["content_text"] = caption or label or MEDIA_LABELS[kind]
        if caption:
            extra["caption"] = caption
        for key in ("sha256", "voice", "animated"):
            if key in body:
                extra[key] = body[key]
    elif kind == "location":
        extra["location"] = {
            k: body.get(k) for k in ("latitude", "longitude", "name", "address", "url")
        }
        place = ", ".join(str(body[k]) for k in ("name", "address") if body.get(k))
        fields["content_text"] = (
            place or f"Location {body.get('latitude')}, {body.get('longitude')}"
        )
    elif kind == "contacts":
        cards = _list(raw.get("contacts"))
        extra["contacts"] = cards
        names = [((c.get("name") or {}).get("formatted_name") or "") for c in cards]
        fields["content_text"] = "Contact: " + ", ".join(n for n in names if n) if names else None
    elif kind == "interactive":
        reply_kind = body.get("type")
        reply = body.get(reply_kind) if isinstance(body.get(reply_kind), dict) else {}
        extra["interactive"] = body
        fields["content_text"] = reply.get("title") or reply.get("body") or reply_kind
    elif kind == "button":
        extra["button"] = body
        fields["content_text"] = body.get("text") or body.get("payload")
    elif kind == "reaction":
        fields["reaction_to_wa_message_id"] = body.get("message_id")
        fields["reaction_emoji"] = body.get("emoji") or None
        fields["content_text"] = body.get("emoji") or None
    elif kind == "system":
        extra["system"] = body
        fields["content_text"] = body.get("body")
    elif kind == "order":
        extra["order"] = body
        items = _list(body.get("product_items"))
        fields["content_text"] = f"Order: {len(items)} item(s)"
    else:
        # unsupported and unknown types are kept, with Meta's error details.
        if body:
            extra[kind] = body
        errors = _list(raw.get("errors"))
        if errors:
            extra["errors"] = errors
        title = errors[0].get("title") if errors and isinstance(errors[0], dict) else None
        fields["content_text"] = title or f"Unsupported message ({kind})"
    if raw.get("errors") and "errors" not in extra:
        extra["errors"] = raw["errors"]
    return InboundMessage(
        wa_message_id=str(raw["id"]),
        wa_id=wa_id,
        timestamp=_timestamp(raw.get("timestamp")),
        profile_name=profiles.get(wa_id),
        metadata=extra,
        **fields,
    )
