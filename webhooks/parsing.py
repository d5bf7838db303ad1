"""Meta's webhook envelope → InboundMessage / InboundStatus, in the order Meta sent them.

Envelope: {"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field",
"value": {"metadata", "contacts", "messages", "statuses", "errors"}}]}]}.
Unknown fields are ignored (Meta adds fields over time); unknown message types are kept.

A customer is named by `messages[].from` / `contacts[].wa_id` (the number, only when Meta
shows it) and `messages[].from_user_id` / `contacts[].user_id` (the business-scoped user ID,
BSUID, always since 2026), with `contacts[].profile.username`; a message needs one of them.
`system` messages `user_changed_number` (`system.wa_id`, and `system.user_id` when Meta
sends the new BSUID) and `user_changed_user_id` (`system.user_id`) move the identity. The
separate `user_id_update` webhook field is not handled yet (logged as a skipped field):
its payload was not documented where we could read it.
"""

import json
import logging
import re
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


@dataclass(frozen=True)
class TemplateStatusUpdate:
    """The `message_template_status_update` field: Meta approved, paused, rejected or
    disabled one of the account's templates."""

    name: str
    language: str
    event: str
    reason: str = ""
    meta_id: str = ""


@dataclass
class ParsedBody:
    updates: list = field(default_factory=list)  # InboundMessage | InboundStatus, in order
    templates: list = field(default_factory=list)  # TemplateStatusUpdate
    skipped: list[str] = field(default_factory=list)  # reasons, for the log
    errors: list[dict] = field(default_factory=list)  # value-level errors Meta reported


# Limits that keep a signed but odd body storable (Meta's own are far lower): an id goes
# into a unique btree index (rows over ~2.7 kB are refused); a message type into the room
# list's 32-character column; a profile name into the room's 200-character title; text
# into the full-text index (a tsvector over 1 MB is refused; WhatsApp allows 4,096 chars).
ID_MAX = 256
TITLE_MAX = 200
TEXT_MAX = 16_384
_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}")
# A NUL or a surrogate escape: PostgreSQL text and jsonb hold neither a NUL nor a lone
# surrogate, so such a body is cleaned (emoji escapes match too; they come out unchanged).
_SUSPECT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads has joined every valid pair
REPLACEMENT = "\ufffd"


def body_load(text: str):
    """JSON text of a webhook body → Python values, ready for PostgreSQL, or ValueError.

    NaN and Infinity are refused: JSON has no such numbers and jsonb rejects them. A NUL
    or an unpaired surrogate (valid JSON escapes) becomes U+FFFD, keeping the rest."""
    try:
        body = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    if _SUSPECT.search(text):
        try:
            body = _storable(body)
        except RecursionError as exc:  # json.loads' C parser goes deeper than Python's
            raise ValueError("nested too deeply") from exc
    return body


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _storable(value):
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", REPLACEMENT)
        if not value.isascii():
            value = _SURROGATE.sub(REPLACEMENT, value)
        return value
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str | None:
    """A string field as Meta sends it: a number becomes its text, anything else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _id(value) -> str | None:
    """A wamid, wa_id or media id: text of 1 to ID_MAX characters, else None."""
    text = _text(value)
    return text if text and len(text) <= ID_MAX else None


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
            f"object {json.dumps(body.get('object'))[:64]} is not whatsapp_business_account.",
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
    if change.get("field") == "message_template_status_update":
        value = change["value"]

        def clean(key):
            text = _text(value.get(key))
            return text.replace("\x00", "").strip() if text else ""

        name, language = clean("message_template_name"), clean("message_template_language")
        event = clean("event")
        if name and language and event:
            parsed.templates.append(
                TemplateStatusUpdate(
                    name=name[:512],
                    language=language[:15],
                    event=event.upper()[:30],
                    reason=clean("reason")[:200],
                    meta_id=clean("message_template_id")[:64],
                )
            )
        else:
            parsed.skipped.append("template status update without name, language or event")
        return
    if change.get("field", "messages") != "messages":
        parsed.skipped.append(f"field {json.dumps(change.get('field'))[:64]} is not handled")
        return
    value = change["value"]
    metadata = _dict(value.get("metadata"))
    contacts = [_contact(raw) for raw in _list(value.get("contacts"))]
    profiles = {}
    for contact in contacts:
        for key in (contact.wa_id, contact.user_id):
            if key:
                profiles[key] = contact
    if len(contacts) == 1:
        profiles[None] = contacts[0]  # one customer per change: theirs, whatever the keys
    for raw in _list(value.get("messages")):
        message = _parse_message(raw, profiles, metadata, parsed)
        if message is not None:
            parsed.updates.append(message)
    for raw in _list(value.get("statuses")):
        status = _parse_status(raw, parsed)
        if status is not None:
            parsed.updates.append(status)
    for error in _list(value.get("errors")):
        parsed.errors.append(_dict(error))


def _list(value) -> list:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Contact:
    """contacts[]: `wa_id` only when Meta shows the number; `user_id` (BSUID) always since
    2026; `profile.username` when the customer has one."""

    wa_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    username: str | None = None


USERNAME_MAX = 100


def _contact(raw) -> Contact:
    raw = _dict(raw)
    profile = _dict(raw.get("profile"))
    name = _text(profile.get("name"))
    username = _text(profile.get("username"))
    return Contact(
        wa_id=_id(raw.get("wa_id")),
        user_id=_id(raw.get("user_id")),
        name=name[:TITLE_MAX] if name else None,
        username=username.lstrip("@")[:USERNAME_MAX] or None if username else None,
    )


def _parse_status(raw, parsed: ParsedBody) -> InboundStatus | None:
    raw = _dict(raw)
    wa_message_id, status = _id(raw.get("id")), _id(raw.get("status"))
    if not wa_message_id or not status:
        parsed.skipped.append("status without id or status")
        return None
    return InboundStatus(
        wa_message_id=wa_message_id,
        status=status,
        timestamp=_timestamp(raw.get("timestamp")),
        recipient_id=_id(raw.get("recipient_id")),
        recipient_user_id=_id(raw.get("recipient_user_id")),
        errors=[_dict(error) for error in _list(raw.get("errors"))],
        conversation=raw.get("conversation") if isinstance(raw.get("conversation"), dict) else None,
        pricing=raw.get("pricing") if isinstance(raw.get("pricing"), dict) else None,
    )


def _parse_message(raw, profiles: dict, metadata: dict, parsed) -> InboundMessage | None:
    raw = _dict(raw)
    wa_message_id, wa_id = _id(raw.get("id")), _id(raw.get("from"))
    user_id = _id(raw.get("from_user_id"))
    contact = (profiles.get(user_id) if user_id else None) or (
        profiles.get(wa_id) if wa_id else None
    )
    if contact is None and not wa_id and not user_id:
        contact = profiles.get(None)  # a username customer: Meta's one contact is them
    if contact is not None:
        wa_id = wa_id or contact.wa_id
        user_id = user_id or contact.user_id
    if not wa_message_id or not (wa_id or user_id):
        parsed.skipped.append("message without id or sender (from / from_user_id)")
        return None
    kind = _text(raw.get("type")) or "unknown"
    fields: dict = {}
    extra: dict = {}
    identity: dict = {}
    if not _TYPE.fullmatch(kind):
        extra["type"] = kind[:ID_MAX]  # kept for the record; typed as unknown below
        kind = "unknown"
    fields["content_type"] = kind
    if metadata.get("phone_number_id"):
        extra["phone_number_id"] = metadata["phone_number_id"]

    context = _dict(raw.get("context"))
    if context.get("forwarded") or context.get("frequently_forwarded"):
        extra["forwarded"] = True
        extra["frequently_forwarded"] = bool(context.get("frequently_forwarded"))
    elif reply_to := _id(context.get("id")):
        fields["reply_to_wa_message_id"] = reply_to
    if context.get("referred_product"):
        extra["referred_product"] = context["referred_product"]
    if isinstance(raw.get("referral"), dict):
        extra["referral"] = raw["referral"]

    body = _dict(raw.get(kind))
    if kind == "text":
        fields["content_text"] = _text(body.get("body"))
    elif kind in MEDIA_TYPES:
        filename = _text(body.get("filename")) if kind == "document" else None
        fields.update(
            media_type=kind,
            media_id=_id(body.get("id")),
            mime_type=_id(body.get("mime_type")),
            original_filename=filename,
        )
        caption = _text(body.get("caption"))
        label = filename
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
        place = ", ".join(str(body[k]) for k in ("name", "address") if _text(body.get(k)))
        fields["content_text"] = (
            place or f"Location {_text(body.get('latitude'))}, {_text(body.get('longitude'))}"
        )
    elif kind == "contacts":
        cards = _list(raw.get("contacts"))
        extra["contacts"] = cards
        names = [_text(_dict(_dict(card).get("name")).get("formatted_name")) for card in cards]
        fields["content_text"] = "Contact: " + ", ".join(n for n in names if n) if names else None
    elif kind == "interactive":
        reply_kind = _text(body.get("type"))
        reply = _dict(body.get(reply_kind)) if reply_kind else {}
        extra["interactive"] = body
        fields["content_text"] = _text(reply.get("title")) or _text(reply.get("body")) or reply_kind
    elif kind == "button":
        extra["button"] = body
        fields["content_text"] = _text(body.get("text")) or _text(body.get("payload"))
    elif kind == "reaction":
        emoji = _text(body.get("emoji")) or None
        fields["reaction_to_wa_message_id"] = _id(body.get("message_id"))
        fields["reaction_emoji"] = emoji
        fields["content_text"] = emoji
    elif kind == "system":
        extra["system"] = body
        fields["content_text"] = _text(body.get("body"))
        change = _text(body.get("type"))
        # Meta (changelog, Aug 2026): both user-change types carry `previous_user_id` (and
        # `previous_parent_user_id`) beside the new values; the sender fields may already
        # name the new BSUID, so the room is the one the previous BSUID belongs to.
        previous = _id(body.get("previous_user_id"))
        new_user_id = _id(body.get("user_id")) or (user_id if previous else None)
        if change in ("user_changed_number", "user_changed_user_id"):
            if change == "user_changed_number":
                identity["new_wa_id"] = _id(body.get("wa_id"))
            if new_user_id and new_user_id != previous:
                identity["new_user_id"] = new_user_id
            if previous:
                user_id = previous
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
        title = _text(_dict(errors[0]).get("title")) if errors else None
        fields["content_text"] = title or f"Unsupported message ({kind})"
    if raw.get("errors") and "errors" not in extra:
        extra["errors"] = raw["errors"]
    text = fields.get("content_text")
    if text and len(text) > TEXT_MAX:
        # Past what WhatsApp sends: the room list and search get the start, metadata all.
        extra["content_text_full"] = text
        fields["content_text"] = text[:TEXT_MAX]
    if parent := _id(raw.get("from_parent_user_id")):
        extra["from_parent_user_id"] = parent
    return InboundMessage(
        wa_message_id=wa_message_id,
        wa_id=wa_id,
        user_id=user_id,
        username=contact.username if contact else None,
        timestamp=_timestamp(raw.get("timestamp")),
        profile_name=contact.name if contact else None,
        metadata=extra,
        **identity,
        **fields,
    )
