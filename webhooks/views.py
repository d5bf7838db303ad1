"""The WhatsApp webhook: verify, check the signature, parse Meta's envelope, then one
messaging call per update, in order. Every effect happens in messaging.services.

What a bad body gets, and why:
- no or wrong signature: 401. It is not Meta; nothing is stored.
- body over 3 MB: 413; wrong content type: 415; malformed JSON: 400; an envelope with
  no `entry` list: 400. A signed body from Meta never looks like this, so a 4xx tells
  whoever sent it (a test tool, a proxy) what is wrong.
- `object` other than whatsapp_business_account, a `field` we do not handle, an item
  with no usable id: 200 and a logged reason. Meta would only redeliver the same body.
  A field of the wrong JSON type is read as absent; what PostgreSQL cannot hold (NaN,
  a NUL, a lone surrogate, an id past 256 characters) is refused or made safe by
  webhooks/parsing.py before anything is stored (tests/test_webhook_fuzz.py).
- the database unavailable: 503, so Meta redelivers later; what was already stored is
  deduplicated on redelivery. The answer is sent only after what the body carries is
  committed: its messages and statuses, or (WEBHOOK_QUEUE=true) the verified body itself,
  which webhook_worker turns into messages (webhooks/services.py).
"""

import logging
from collections import Counter

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from boztell.errors import error_response
from boztell.realtime import deferred_broadcasts
from messaging.inbound import InboundMessage
from messaging.services import updates_process
from webhooks.parsing import EnvelopeError, body_load, parse_body
from webhooks.services import after_stored, delivery_store
from webhooks.signature import signature_is_valid

logger = logging.getLogger("boztell.webhooks")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request):
    if request.method == "GET":
        return _verify(request)
    return _receive(request)


def _verify(request):
    mode = request.GET.get("hub.mode")
    token = request.GET.get("hub.verify_token")
    challenge = request.GET.get("hub.challenge", "")
    if mode == "subscribe" and token and token == settings.WHATSAPP_VERIFY_TOKEN:
        return HttpResponse(challenge, content_type="text/plain")
    logger.warning("webhook verification refused mode=%s", mode)
    return error_response("verification_failed", "Wrong hub.mode or hub.verify_token.", 403)


def _receive(request):
    try:
        raw = request.body
    except RequestDataTooBig:
        return error_response("payload_too_large", "The body is over 3 MB.", 413)
    return receive_body(
        raw,
        signature=request.META.get("HTTP_X_HUB_SIGNATURE_256"),  # headers would copy all
        content_type=request.content_type,
    )


def receive_body(raw: bytes, *, signature: str | None, content_type: str | None):
    """A POSTed webhook body, from its signature to its stored effects: what the view does
    after reading the request (the sandbox delivers its status playback here too)."""
    header = signature
    if not header:
        logger.warning("webhook refused: no signature")
        return error_response("missing_signature", "X-Hub-Signature-256 is required.", 401)
    if not signature_is_valid(raw, header, settings.WHATSAPP_APP_SECRET):
        logger.warning("webhook refused: invalid signature")
        return error_response(
            "invalid_signature", "X-Hub-Signature-256 does not match the body.", 401
        )
    if content_type != "application/json":
        return error_response("unsupported_media_type", "The body must be application/json.", 415)
    try:
        text = raw.decode("utf-8")  # RFC 8259: JSON between systems is UTF-8
        body = body_load(text)
    except (ValueError, UnicodeDecodeError):
        return error_response("malformed_json", "The body is not valid UTF-8 JSON.", 400)
    try:
        parsed = parse_body(body)
    except EnvelopeError as exc:
        if exc.code == "unsupported_object":
            logger.info("webhook ignored: %s", exc.message)
            return JsonResponse({"status": "ignored", "reason": exc.message})
        return error_response(exc.code, exc.message, 400)

    for reason in parsed.skipped:
        logger.warning("webhook item skipped: %s", reason)
    for error in parsed.errors:
        logger.warning(
            "webhook error from Meta: code=%s title=%s", error.get("code"), error.get("title")
        )

    if parsed.templates:
        try:
            _templates_apply(parsed.templates)
        except DatabaseError:
            logger.exception("template status not stored")
            return error_response(
                "unavailable", "Storage is unavailable; Meta will redeliver.", 503
            )
    if settings.WEBHOOK_QUEUE:
        return _enqueue(text, parsed)
    with deferred_broadcasts():
        counts = _handle_updates(parsed.updates)
    if isinstance(counts, JsonResponse):
        return counts
    counts["skipped"] += len(parsed.skipped)
    return JsonResponse({"status": "ok", "handled": dict(counts)})


def _templates_apply(updates) -> None:
    """Template status changes (rare, one small UPDATE each) are applied at once, queued
    set-up or not: a paused template must stop the campaigns sending it now."""
    from messaging.services.templates import template_status_apply

    for update in updates:
        template_status_apply(
            name=update.name, language=update.language, event=update.event, reason=update.reason
        )


def _enqueue(text: str, parsed) -> JsonResponse:
    """Queued set-up: the verified body is committed, then answered; the worker does the
    rest. A body with nothing to do is not kept."""
    if not parsed.updates:
        return JsonResponse({"status": "ok", "queued": 0})
    try:
        delivery_id = delivery_store(body=text)
    except DatabaseError:
        logger.exception("webhook body not queued")
        return error_response("unavailable", "Storage is unavailable; Meta will redeliver.", 503)
    # DEBUG: the worker logs each update with its outcome; a line per body as well would
    # cost the answer a tenth of its CPU.
    logger.debug("webhook queued delivery=%s updates=%d", delivery_id, len(parsed.updates))
    return JsonResponse({"status": "queued", "queued": len(parsed.updates)})


def _handle_updates(updates) -> Counter | JsonResponse:
    """One messaging call for the body's updates, in order (each run commits on its own)."""
    try:
        outcomes = updates_process(updates=updates)
    except DatabaseError:
        logger.exception("webhook body not stored")
        return error_response("unavailable", "Storage is unavailable; Meta will redeliver.", 503)
    except Exception:
        logger.exception("webhook body failed")
        return error_response(
            "processing_failed", "The update could not be processed; retry later.", 503
        )
    after_stored(outcomes)
    counts: Counter = Counter()
    for update, outcome in zip(updates, outcomes, strict=True):
        if outcome.result == "skipped":
            counts["skipped"] += 1
        else:
            kind = "messages" if isinstance(update, InboundMessage) else "statuses"
            counts[f"{kind}_{outcome.result}"] += 1
    return counts
