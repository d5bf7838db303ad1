"""Writes for what agents and clients send: text, templates, media, reactions, forwards,
retries and read receipts.

Every send stores the message first (`pending`), then calls the Graph API outside any
transaction, then records `sent` with Meta's wamid, or `failed` with Meta's error.
"""

import logging
import re
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from boztell.errors import BoztellError
from boztell.models import User
from boztell.phones import is_bsuid, normalize_phone
from messaging import whatsapp
from messaging.errors import SendFailed, map_graph_error
from messaging.events import emit_message_created, emit_message_status
from messaging.media import check_size, media_extension, media_kind
from messaging.models import Message, MessageTemplate
from messaging.services.customers import room_for_customer
from messaging.services.receive import (
    _status_advance,
    message_apply_pending_statuses,
    room_record_message,
)
from messaging.services.templates import template_refresh
from rooms.models import Room, RoomParticipant
from rooms.selectors import room_is_visible_to
from rooms.window import window_fields

logger = logging.getLogger("boztell.send")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


class WindowClosed(BoztellError):
    code = "window_closed"
    status = 422


class RoomNotVisible(BoztellError):
    code = "room_not_visible"
    status = 403


class TemplateError(BoztellError):
    code = "unknown_template"
    status = 400


def window_is_open(room: Room | None, now=None) -> bool:
    """The 24-hour rule (rooms.window), which every payload's `window_open` also uses."""
    if room is None:
        return False
    return window_fields(room.last_customer_message_at, now)["window_open"]


@dataclass(frozen=True)
class Target:
    """Whom a send goes to: the customer's room if there is one, and the ids to address."""

    room: Room | None
    phone: str | None
    user_id: str | None


class UnknownRoom(BoztellError):
    code = "unknown_room"
    status = 404


def address_of(*, phone: str | None, user_id: str | None) -> dict:
    """Meta's addressing: `to` a phone number when we know it, else `recipient` the BSUID
    (Meta: when both are sent, `to` wins; sending to numbers keeps them in webhooks)."""
    return {"to": phone} if phone else {"recipient": user_id}


def _room_address(room: Room) -> dict:
    return address_of(phone=room.phone, user_id=room.user_id)


def send_target(*, sender: User, to: str | None = None, room_id=None) -> Target:
    """`to` is a phone number in any spelling or a BSUID; `room_id` one of our rooms. With
    both, they must name the same customer. A room the sender may not see is refused."""
    room = None
    if room_id:
        room = Room.objects.filter(pk=room_id).first()
        if room is None:
            raise UnknownRoom("No room has this room_id.")
    phone = user_id = None
    if to not in (None, ""):
        to = str(to).strip()
        if is_bsuid(to):
            user_id = to
            by_to = Room.objects.filter(user_id=user_id).first()
        else:
            phone = normalize_phone(to)
            by_to = Room.objects.filter(phone=phone).first()
        if room is not None and (by_to is None or by_to.pk != room.pk):
            raise BoztellError(
                "'to' and 'room_id' name different customers; send one of them.",
                code="recipient_mismatch",
            )
        room = by_to
    elif room is None:
        raise BoztellError(
            "Send 'to' (a phone number or BSUID) or 'room_id'.", code="invalid_request"
        )
    if room is not None:
        if not room_is_visible_to(room=room, user=sender):
            raise RoomNotVisible("This customer's room is assigned to another agent.")
        return Target(room=room, phone=room.phone, user_id=room.user_id)
    return Target(room=None, phone=phone, user_id=user_id)


def _require_window(room: Room | None) -> None:
    if not window_is_open(room):
        raise WindowClosed(
            "The customer has not written in the last 24 hours, so WhatsApp only accepts "
            "a template message now."
        )


def _store_pending(*, target: Target, sender: User, fields: dict) -> tuple[Message, bool]:
    with transaction.atomic():
        room = None
        if target.room is not None:
            room = Room.objects.select_for_update().filter(pk=target.room.pk).first()
        created = False
        if room is None:  # a new customer (or a room merged away since it was read)
            found = room_for_customer(phone=target.phone, user_id=target.user_id)
            room, created = found.room, found.created
        room = Room.objects.select_for_update().get(pk=room.pk)
        if created:
            RoomParticipant.objects.get_or_create(
                room=room,
                user=sender,
                defaults={"is_assigned": True, "assigned_at": timezone.now()},
            )
        message = Message.objects.create(
            room=room,
            user=sender,
            status=Message.Status.PENDING,
            status_timestamp=timezone.now(),
            metadata=fields.pop("metadata", {}),
            **fields,
        )
        room_record_message(message=message)
        room = Room.objects.select_related("lead").get(pk=room.pk)
        emit_message_created(room=room, message=message, room_created=created)
    return message, created


def _deliver(message: Message, payload: dict) -> Message:
    """Call the Graph API for a stored pending message; record `sent` or `failed`."""
    try:
        result = whatsapp.send_message(payload)
    except whatsapp.GraphError as exc:
        code, status, text = map_graph_error(exc)
        _record_failure(message, code=code, text=text, meta=exc.meta_error)
        logger.info(
            "send failed message=%s code=%s meta=%s",
            message.pk,
            code,
            (exc.meta_error or {}).get("code"),
        )
        raise SendFailed(
            text, code=code, status=status, details={"message_id": str(message.pk)}
        ) from exc
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("room").get(pk=message.pk)
        message.wa_message_id = result.wa_message_id
        message.save(update_fields=["wa_message_id", "updated_at"])
        # `sent` first, then whatever Meta reported before its answer reached us
        # (delivered, read), one event per step.
        if _status_advance(message, Message.Status.SENT, timezone.now(), {}):
            emit_message_status(message=message)
        message_apply_pending_statuses(message=message)
    logger.info(
        "send ok message=%s wamid=%s type=%s",
        message.pk,
        result.wa_message_id,
        message.content_type,
    )
    return message


def _record_failure(message: Message, *, code: str, text: str, meta: dict | None) -> None:
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("room").get(pk=message.pk)
        error = {
            "code": (meta or {}).get("code"),
            "title": (meta or {}).get("error_user_title") or (meta or {}).get("type"),
            "message": (meta or {}).get("message") or text,
            "details": ((meta or {}).get("error_data") or {}).get("details"),
            "boztell_code": code,
        }
        message.metadata = {**(message.metadata or {}), "error": error}
        message.status = Message.Status.FAILED
        message.status_timestamp = timezone.now()
        message.save(update_fields=["metadata", "status", "status_timestamp", "updated_at"])
        emit_message_status(message=message)


def _context(reply_to: str | None) -> dict:
    return {"context": {"message_id": reply_to}} if reply_to else {}


def _text_payload(address: dict, text: str, reply_to: str | None) -> dict:
    return {
        **address,
        "type": "text",
        "text": {"body": text, "preview_url": True},
        **_context(reply_to),
    }


def _template_payload(address: dict, template: dict) -> dict:
    """Meta's template send from what the message keeps in metadata["template"]."""
    body = {"name": template["name"], "language": {"code": template["language"]}}
    if template.get("components"):
        body["components"] = template["components"]
    return {**address, "type": "template", "template": body}


def _refuse_unfilled_placeholders(text: str) -> None:
    """A quick reply's {{placeholder}} never reaches a customer (replies/placeholders.py
    says which braces count)."""
    from replies.placeholders import unfilled_placeholders

    unfilled = unfilled_placeholders(text)
    if unfilled:
        raise BoztellError(
            "The text still has placeholders to fill: "
            + ", ".join("{{" + name + "}}" for name in unfilled)
            + ".",
            code="unfilled_placeholder",
            details={"placeholders": unfilled},
        )


def message_send_text(
    *,
    sender: User,
    to: str | None = None,
    text: str,
    reply_to: str | None = None,
    room_id=None,
) -> Message:
    text = (text or "").strip()
    if not text:
        raise BoztellError("text must not be empty.", code="invalid_request")
    if len(text) > TEXT_LIMIT:
        raise BoztellError(f"text is limited to {TEXT_LIMIT} characters.", code="text_too_long")
    _refuse_unfilled_placeholders(text)
    target = send_target(sender=sender, to=to, room_id=room_id)
    _require_window(target.room)
    message, _ = _store_pending(
        target=target,
        sender=sender,
        fields={"content_type": "text", "content_text": text, "reply_to_wa_message_id": reply_to},
    )
    return _deliver(message, _text_payload(_room_address(message.room), text, reply_to))


def message_send_automatic_text(*, room: Room, sender: User, text: str, kind: str) -> Message:
    """An automatic message (`kind`: "away_message") from the system user, through the
    same store-then-send path as an agent's text: stored `pending`, then `sent` or
    `failed`, with the same events. Only inside the 24-hour window. Whoever calls this
    decided the room should get it; the system user's own room visibility is not asked."""
    _require_window(room)
    target = Target(room=room, phone=room.phone, user_id=room.user_id)
    message, _ = _store_pending(
        target=target,
        sender=sender,
        fields={"content_type": "text", "content_text": text, "metadata": {"automatic": kind}},
    )
    return _deliver(message, _text_payload(_room_address(message.room), text, None))


def _template_for(*, name: str, language: str) -> MessageTemplate | None:
    """The template from the local table, fetched from Meta first when it is not there
    (rate-limited across processes). None when Meta could not be asked: the send then
    goes out unchecked, and Meta's own answer (132001 -> unknown_template) decides."""
    template = MessageTemplate.objects.filter(name=name, language=language).first()
    if template is not None:
        return template
    if template_refresh():
        template = MessageTemplate.objects.filter(name=name, language=language).first()
        if template is None:
            raise TemplateError(
                f"WhatsApp has no template '{name}' in language '{language}'. "
                "Check the name and language."
            )
        return template
    logger.info("template %s/%s not known here, Meta not asked: sent unchecked", name, language)
    return None


_PLACEHOLDER = re.compile(r"{{\s*(\w+)\s*}}")


def _placeholders(text: str | None) -> int:
    return len(set(_PLACEHOLDER.findall(text or "")))


def _render(text: str, params: list[str]) -> str:
    values = iter(params)
    return _PLACEHOLDER.sub(lambda _m: str(next(values, "")), text)


def message_send_template(
    *,
    sender: User,
    to: str | None = None,
    room_id=None,
    name: str,
    language: str,
    body_parameters: list[str] | None = None,
    header_parameters: list[str] | None = None,
    button_parameters: list[list[str]] | None = None,
) -> Message:
    body_parameters = [str(p) for p in body_parameters or []]
    header_parameters = [str(p) for p in header_parameters or []]
    button_parameters = button_parameters or []
    template = _template_for(name=name, language=language)
    if template is not None and template.status != MessageTemplate.Status.APPROVED:
        raise TemplateError(
            f"Template '{name}' is {template.status.lower()}; only approved templates can be sent.",
            code="template_not_approved",
        )
    body = (template and template.component("BODY")) or {}
    header = (template and template.component("HEADER")) or {}
    if template is not None:
        expected = {
            "body": _placeholders(body.get("text")),
            "header": _placeholders(header.get("text")) if header.get("format") == "TEXT" else 0,
        }
        given = {"body": len(body_parameters), "header": len(header_parameters)}
        for part in ("body", "header"):
            if expected[part] != given[part]:
                raise TemplateError(
                    f"Template '{name}' takes {expected[part]} {part} parameter(s); "
                    f"{given[part]} given.",
                    code="template_params_mismatch",
                )
        url_buttons = [b for b in (template.component("BUTTONS") or {}).get("buttons", [])]
    else:
        # Unchecked (Meta could not be asked): parameters go as given, buttons as URL
        # buttons (the kind that takes text), and Meta's answer decides.
        url_buttons = [{"type": "URL"}] * len(button_parameters)
    components = []
    if header_parameters:
        components.append(
            {
                "type": "header",
                "parameters": [{"type": "text", "text": p} for p in header_parameters],
            }
        )
    if body_parameters:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in body_parameters]}
        )
    for index, params in enumerate(button_parameters):
        if index >= len(url_buttons):
            raise TemplateError(
                f"Template '{name}' has no button {index}.", code="template_params_mismatch"
            )
        if params:
            sub_type = "url" if url_buttons[index].get("type") == "URL" else "quick_reply"
            kind = "text" if sub_type == "url" else "payload"
            components.append(
                {
                    "type": "button",
                    "sub_type": sub_type,
                    "index": str(index),
                    "parameters": [{"type": kind, kind: str(p)} for p in params],
                }
            )
    target = send_target(sender=sender, to=to, room_id=room_id)
    rendered = _render(body.get("text") or name, body_parameters)
    message, _ = _store_pending(
        target=target,
        sender=sender,
        fields={
            "content_type": "template",
            "content_text": rendered,
            "metadata": {
                "template": {"name": name, "language": language, "components": components}
            },
        },
    )
    address = _room_address(message.room)
    return _deliver(message, _template_payload(address, message.metadata["template"]))


def message_send_media(
    *,
    sender: User,
    to: str | None = None,
    room_id=None,
    data: bytes,
    filename: str,
    mime_type: str,
    caption: str | None = None,
    kind: str | None = None,
    reply_to: str | None = None,
) -> Message:
    kind = media_kind(mime_type, kind)
    check_size(kind, len(data))
    caption = (caption or "").strip() or None
    if caption and kind in ("audio", "sticker"):
        raise BoztellError(f"WhatsApp does not take a caption on {kind}.", code="invalid_request")
    if caption and len(caption) > CAPTION_LIMIT:
        raise BoztellError(
            f"caption is limited to {CAPTION_LIMIT} characters.", code="text_too_long"
        )
    target = send_target(sender=sender, to=to, room_id=room_id)
    _require_window(target.room)
    message, _ = _store_pending(
        target=target,
        sender=sender,
        fields={
            "content_type": kind,
            "content_text": caption or (filename if kind == "document" else kind.title()),
            "media_type": kind,
            "mime_type": mime_type,
            "original_filename": filename,
            "file_size": len(data),
            "reply_to_wa_message_id": reply_to,
            "metadata": {"media_status": "ready", **({"caption": caption} if caption else {})},
        },
    )
    name = default_storage.save(
        f"outbound/{message.room_id}/{message.pk}{media_extension(mime_type)}", ContentFile(data)
    )
    Message.objects.filter(pk=message.pk).update(
        gcs_filename=name, gcs_url=reverse("message-media", args=[message.pk])
    )
    message.refresh_from_db()
    address = _room_address(message.room)
    return _deliver_media(message, data=data, address=address, reply_to=reply_to)


def _deliver_media(message: Message, *, data: bytes, address: dict, reply_to: str | None):
    kind = message.media_type
    try:
        media_id = whatsapp.upload_media(
            data=data, mime_type=message.mime_type, filename=message.original_filename or kind
        )
    except whatsapp.GraphError as exc:
        code, status, text = map_graph_error(exc)
        _record_failure(message, code=code, text=text, meta=exc.meta_error)
        raise SendFailed(
            text, code=code, status=status, details={"message_id": str(message.pk)}
        ) from exc
    Message.objects.filter(pk=message.pk).update(media_id=media_id)
    message.media_id = media_id
    body: dict = {"id": media_id}
    caption = (message.metadata or {}).get("caption")
    if caption:
        body["caption"] = caption
    if kind == "document" and message.original_filename:
        body["filename"] = message.original_filename
    return _deliver(message, {**address, "type": kind, kind: body, **_context(reply_to)})


def message_send_reaction(*, sender: User, target: Message, emoji: str) -> Message:
    """React to a message in the room (an empty emoji removes our reaction)."""
    if not target.wa_message_id:
        raise BoztellError("That message has no WhatsApp id yet.", code="not_reactable")
    room = target.room
    if not room_is_visible_to(room=room, user=sender):
        raise RoomNotVisible("You may not see this room.")
    _require_window(room)
    emoji = emoji or ""
    with transaction.atomic():
        message = Message.objects.create(
            room=room,
            user=sender,
            content_type="reaction",
            content_text=emoji or None,
            reaction_emoji=emoji or None,
            reaction_to_wa_message_id=target.wa_message_id,
            status=Message.Status.PENDING,
            status_timestamp=timezone.now(),
            metadata={},
        )
        Message.objects.filter(
            room=room,
            user__isnull=False,
            content_type="reaction",
            reaction_to_wa_message_id=target.wa_message_id,
        ).exclude(pk=message.pk).update(reaction_emoji=None)
    from messaging.events import emit_message_reaction

    message.room = room
    with transaction.atomic():
        emit_message_reaction(message=message)
    payload = {
        **_room_address(room),
        "type": "reaction",
        "reaction": {"message_id": target.wa_message_id, "emoji": emoji},
    }
    return _deliver(message, payload)


def message_forward(*, sender: User, message: Message, to: str) -> Message:
    if message.content_type == "text":
        return message_send_text(sender=sender, to=to, text=message.content_text or "")
    if message.media_type and message.gcs_filename:
        with default_storage.open(message.gcs_filename, "rb") as handle:
            data = handle.read()
        caption = (message.metadata or {}).get("caption")
        return message_send_media(
            sender=sender,
            to=to,
            data=data,
            filename=message.original_filename or message.gcs_filename.rsplit("/", 1)[-1],
            mime_type=message.mime_type or "application/octet-stream",
            caption=caption,
            kind=message.media_type,
        )
    raise BoztellError(
        f"A {message.content_type} message cannot be forwarded.", code="not_forwardable"
    )


def message_retry(*, sender: User, message: Message) -> Message:
    """Send a failed outbound message again, on the same row."""
    if message.user_id is None or message.status != Message.Status.FAILED:
        raise BoztellError(
            "Only a failed message sent by an agent can be retried.",
            code="not_retryable",
            status=409,
        )
    room = message.room
    if not room_is_visible_to(room=room, user=sender):
        raise RoomNotVisible("You may not see this room.")
    if message.content_type != "template":
        _require_window(room)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.status != Message.Status.FAILED:
            raise BoztellError(
                "This message is already being retried.", code="not_retryable", status=409
            )
        metadata = dict(locked.metadata or {})
        metadata.setdefault("previous_errors", []).append(metadata.pop("error", None))
        locked.metadata = metadata
        locked.status = Message.Status.PENDING
        locked.status_timestamp = timezone.now()
        locked.save(update_fields=["metadata", "status", "status_timestamp", "updated_at"])
    message = locked
    message.room = room
    if message.content_type == "text":
        address = _room_address(room)
        payload = _text_payload(address, message.content_text, message.reply_to_wa_message_id)
        return _deliver(message, payload)
    if message.content_type == "template":
        address = _room_address(room)
        return _deliver(message, _template_payload(address, message.metadata["template"]))
    if message.media_type and message.gcs_filename:
        with default_storage.open(message.gcs_filename, "rb") as handle:
            data = handle.read()
        return _deliver_media(
            message, data=data, address=_room_address(room), reply_to=message.reply_to_wa_message_id
        )
    raise BoztellError("This message cannot be retried.", code="not_retryable", status=409)


def room_mark_read(*, user: User, room: Room) -> dict:
    """The caller has read the room: their unread count resets (in all their tabs), and
    the customer's latest message gets WhatsApp's read receipt."""
    from rooms.events import emit_room_read

    now = timezone.now()
    with transaction.atomic():
        # The room row first, as room_assign takes it: a participant inserted before it
        # waited on the room's lock while an assignment inserted the same participant, and
        # PostgreSQL killed one of them as a deadlock (an agent opening a room as a
        # supervisor assigned it to them).
        list(Room.objects.select_for_update().filter(pk=room.pk).values_list("pk"))
        participant, _ = RoomParticipant.objects.get_or_create(
            room=room, user=user, defaults={"is_assigned": False}
        )
        participant.last_read_at = now
        participant.save(update_fields=["last_read_at", "updated_at"])
        emit_room_read(user=user, room=room, read_at=now)
    latest = (
        Message.objects.filter(room=room, user__isnull=True, wa_message_id__isnull=False)
        .exclude(content_type="reaction")
        .order_by("-created_at", "-id")
        .first()
    )
    receipt = "none"
    if latest is not None:
        try:
            whatsapp.mark_read(latest.wa_message_id)
            receipt = "sent"
        except whatsapp.GraphError as exc:
            logger.warning("read receipt failed room=%s http=%s", room.pk, exc.http_status)
            receipt = "failed"
    return {
        "room_id": room.pk,
        "last_read_at": now,
        "unread_count": 0,
        "read_receipt": receipt,
        "read_wa_message_id": latest.wa_message_id if latest else None,
    }
