"""The WhatsApp sandbox: with no WHATSAPP_ACCESS_TOKEN it stands in for Meta.

`SandboxClient` is a WhatsApp backend (settings.WHATSAPP_BACKEND), like
messaging.whatsapp.GraphClient. Sends get a wamid at once; `sent`, `delivered` and `read`
statuses are then played back as signed webhooks through the webhook's own entry point
(webhooks.views.receive_body: signature, parsing, storing), so the embedded default works
end to end. It lives in the webhooks app because it delivers webhooks: messaging never
imports it (settings name it). Nothing leaves the machine.
"""

import json
import logging
import re
import threading
import time
import uuid

from django.conf import settings

logger = logging.getLogger("boztell.sandbox")

SANDBOX_TEMPLATES = [
    {
        "id": "sandbox-hello-world",
        "name": "hello_world",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {
                "type": "BODY",
                "text": "Welcome and congratulations!! This message "
                "demonstrates your ability to send a WhatsApp message notification.",
            },
        ],
    },
    {
        "id": "sandbox-payment-reminder",
        "name": "payment_reminder",
        "language": "id",
        "status": "APPROVED",
        "category": "UTILITY",
        "components": [
            {
                "type": "BODY",
                "text": "Halo {{1}}, tagihan Anda sebesar {{2}} jatuh tempo "
                "pada {{3}}. Balas pesan ini jika ada pertanyaan.",
            },
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Sudah bayar"}]},
        ],
    },
]


def envelope(value: dict) -> dict:
    """Meta's webhook envelope around one change value."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "sandbox",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "sandbox",
                                "phone_number_id": settings.WHATSAPP_PHONE_NUMBER_ID,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def status_body(wa_message_id: str, wa_id: str, status: str) -> dict:
    """Meta's status webhook: `recipient_id` for a send to a number, only
    `recipient_user_id` for a send to a BSUID."""
    from boztell.phones import is_bsuid

    key = "recipient_user_id" if is_bsuid(wa_id) else "recipient_id"
    return envelope(
        {
            "statuses": [
                {
                    "id": wa_message_id,
                    "status": status,
                    "timestamp": str(int(time.time())),
                    key: wa_id,
                }
            ]
        }
    )


def post_webhook(body: dict) -> int:
    """Deliver a signed webhook through the webhook's entry point, as Meta's POST would
    reach it (signature check included); returns the HTTP status it answers."""
    from django.db import close_old_connections

    from webhooks.signature import signature_for
    from webhooks.views import receive_body

    raw = json.dumps(body).encode()
    try:
        response = receive_body(
            raw,
            signature=signature_for(raw, settings.WHATSAPP_APP_SECRET),
            content_type="application/json",
        )
        return response.status_code
    finally:
        close_old_connections()


def _play_statuses(wa_message_id: str, wa_id: str, delays: list[float]) -> None:
    for status, delay in zip(("sent", "delivered", "read"), delays, strict=False):
        time.sleep(delay)
        code = post_webhook(status_body(wa_message_id, wa_id, status))
        logger.info("sandbox status wamid=%s status=%s answer=%s", wa_message_id, status, code)


def send_message(body: dict):
    from messaging.whatsapp import SendResult

    wa_message_id = f"wamid.SANDBOX{uuid.uuid4().hex.upper()}"
    wa_id = body.get("to") or body.get("recipient")  # Meta: `to` wins when both are sent
    delays = [float(x) for x in settings.WHATSAPP_SANDBOX_STATUS_DELAYS if x != ""]
    if delays and body.get("type") != "reaction":
        threading.Thread(
            target=_play_statuses, args=(wa_message_id, wa_id, delays), daemon=True
        ).start()
    return SendResult(
        wa_message_id=wa_message_id,
        wa_id=wa_id,
        raw={
            "messaging_product": "whatsapp",
            "contacts": [{"input": wa_id, ("wa_id" if body.get("to") else "user_id"): wa_id}],
            "messages": [{"id": wa_message_id}],
        },
    )


# The only media ids the sandbox knows: the ones it issues (upload_media) and the ones
# simulate_customer makes (sandbox_media_id). Anything else does not exist, so no id can
# name another stored file.
SANDBOX_MEDIA_ID = re.compile(r"sim-[0-9a-f]{12}|sandbox-media-[0-9a-f]{16}")


def sandbox_media_id() -> str:
    return f"sim-{uuid.uuid4().hex[:12]}"


def upload_media(*, data: bytes, mime_type: str, filename: str) -> str:
    return f"sandbox-media-{uuid.uuid4().hex[:16]}"


def list_templates() -> list[dict]:
    return SANDBOX_TEMPLATES


def media_info(media_id: str):
    """Media a simulated customer sent, saved under sandbox-media/ by simulate_customer."""
    import mimetypes

    from django.core.files.storage import default_storage

    from messaging.whatsapp import GraphError, MediaInfo

    known = isinstance(media_id, str) and SANDBOX_MEDIA_ID.fullmatch(media_id)
    name = f"sandbox-media/{media_id}"
    if not known or not default_storage.exists(name):
        raise GraphError(
            "Object with this ID does not exist", http_status=400, meta_error={"code": 100}
        )
    return MediaInfo(
        url=f"sandbox:{name}",
        mime_type=mimetypes.guess_type(name)[0],
        file_size=default_storage.size(name),
        sha256=None,
    )


def download(url: str, *, max_bytes: int, into) -> int:
    from django.core.files.storage import default_storage

    from messaging.whatsapp import MediaTooLarge

    with default_storage.open(url.removeprefix("sandbox:"), "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise MediaTooLarge(f"The file exceeds the limit of {max_bytes} bytes.")
    into.write(data)
    return len(data)


class SandboxClient:
    """The WhatsApp backend with no Meta behind it (WHATSAPP_BACKEND's default when there is
    no WHATSAPP_ACCESS_TOKEN): the same methods as messaging.whatsapp.GraphClient."""

    is_sandbox = True

    def send_message(self, body: dict):
        return send_message(body)

    def mark_read(self, wa_message_id: str) -> None:
        return None

    def get_media_info(self, media_id: str):
        return media_info(media_id)

    def download_media(self, url: str, *, max_bytes: int, into) -> int:
        if not url.startswith("sandbox:"):
            from messaging.whatsapp import GraphError

            raise GraphError("The sandbox downloads only its own media.", retryable=False)
        return download(url, max_bytes=max_bytes, into=into)

    def upload_media(self, *, data: bytes, mime_type: str, filename: str) -> str:
        return upload_media(data=data, mime_type=mime_type, filename=filename)

    def list_templates(self) -> list[dict]:
        return list_templates()
