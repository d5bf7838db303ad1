"""The WhatsApp Cloud (Graph) API client: requests with timeouts and pooled connections.

Endpoints: `{base}/{version}/{phone_number_id}/messages`, `/{phone_number_id}/media`,
`/{media_id}`, `/{waba_id}/message_templates`. Settings are read per call, never at import.
"""

import logging
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

from boztell.errors import BoztellError

logger = logging.getLogger("boztell.whatsapp")

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 30
MEDIA_READ_TIMEOUT = 120
CHUNK = 256 * 1024


class GraphError(BoztellError):
    """Meta's Graph API answered with an error, or could not be reached."""

    code = "whatsapp_error"
    status = 502

    def __init__(self, message, *, http_status=None, meta_error=None, retryable=False, **kw):
        super().__init__(message, **kw)
        self.http_status = http_status
        self.meta_error = meta_error or {}
        self.retryable = retryable


class MediaTooLarge(BoztellError):
    code = "media_too_large"
    status = 413


@dataclass(frozen=True)
class MediaInfo:
    url: str
    mime_type: str | None
    file_size: int | None
    sha256: str | None


_session: requests.Session | None = None


def _http() -> requests.Session:
    global _session
    if _session is None:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        _session = session
    return _session


def _url(path: str) -> str:
    base = settings.WHATSAPP_API_BASE_URL.rstrip("/")
    return f"{base}/{settings.WHATSAPP_API_VERSION}/{path.lstrip('/')}"


def _auth() -> dict:
    return {"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"}


def _raise_for_graph_error(response: requests.Response) -> None:
    if response.ok:
        return
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {"message": response.text[:200]}
    retryable = response.status_code == 429 or response.status_code >= 500
    raise GraphError(
        error.get("message") or f"Graph API answered {response.status_code}",
        http_status=response.status_code,
        meta_error=error,
        retryable=retryable,
    )


def get_media_info(media_id: str) -> MediaInfo:
    """GET /{media_id}: a short-lived download URL and the file's details."""
    if settings.WHATSAPP_SANDBOX:
        from messaging import sandbox

        return sandbox.media_info(media_id)
    try:
        response = _http().get(
            _url(media_id), headers=_auth(), timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
        )
    except requests.RequestException as exc:
        raise GraphError(f"Graph API unreachable: {exc}", retryable=True) from exc
    _raise_for_graph_error(response)
    body = response.json()
    size = body.get("file_size")
    return MediaInfo(
        url=body["url"],
        mime_type=body.get("mime_type"),
        file_size=int(size) if size is not None else None,
        sha256=body.get("sha256"),
    )


def download_media(url: str, *, max_bytes: int, into) -> int:
    """Stream the media at `url` (with the bearer token) into a writable file object.
    Refuses, mid-stream if need be, more than `max_bytes`."""
    if settings.WHATSAPP_SANDBOX and url.startswith("sandbox:"):
        from messaging import sandbox

        return sandbox.download(url, max_bytes=max_bytes, into=into)
    try:
        with _http().get(
            url, headers=_auth(), stream=True, timeout=(CONNECT_TIMEOUT, MEDIA_READ_TIMEOUT)
        ) as response:
            _raise_for_graph_error(response)
            declared = response.headers.get("Content-Length")
            if declared and int(declared) > max_bytes:
                raise MediaTooLarge(f"The file is {declared} bytes; the limit is {max_bytes}.")
            written = 0
            for chunk in response.iter_content(CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise MediaTooLarge(f"The file exceeds the limit of {max_bytes} bytes.")
                into.write(chunk)
            return written
    except requests.RequestException as exc:
        raise GraphError(f"Media download failed: {exc}", retryable=True) from exc


# --- sends ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    wa_message_id: str
    wa_id: str | None
    raw: dict


def _post_json(path: str, payload: dict, *, retry_throttled: bool = True) -> dict:
    """POST to the Graph API. A connection that never reached Meta is retried (it cannot
    have sent anything), and so is Meta's own rate limit (unless the caller paces itself:
    `retry_throttled=False`); a read timeout is not retried, since the message may have
    gone out."""
    delays = (0.5, 1.5)
    for attempt in range(len(delays) + 1):
        try:
            response = _http().post(
                _url(path),
                json=payload,
                headers=_auth(),
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.ConnectionError as exc:
            if attempt < len(delays):
                time.sleep(delays[attempt])
                continue
            raise GraphError(f"WhatsApp is unreachable: {exc}", retryable=True) from exc
        except requests.Timeout as exc:
            raise GraphError(
                "WhatsApp did not answer in time; the message may or may not have been sent.",
                code="whatsapp_timeout",
                retryable=False,
            ) from exc
        rate_limited = response.status_code == 429 or _meta_code(response) in RATE_LIMIT_CODES
        if rate_limited and retry_throttled and attempt < len(delays):
            time.sleep(delays[attempt])
            continue
        _raise_for_graph_error(response)
        return response.json()
    raise AssertionError("unreachable")


RATE_LIMIT_CODES = frozenset({130429, 4, 80007})


def _meta_code(response) -> int | None:
    if response.ok:
        return None
    try:
        return response.json().get("error", {}).get("code")
    except ValueError:
        return None


def send_message(payload: dict, *, retry_throttled: bool = True) -> SendResult:
    """POST /{phone_number_id}/messages with `messaging_product` and `recipient_type` set.
    `retry_throttled=False`: Meta's rate-limit answers come straight back (campaigns pace
    and back off themselves)."""
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", **payload}
    if settings.WHATSAPP_SANDBOX:
        from messaging import sandbox

        return sandbox.send_message(body)
    data = _post_json(
        f"{settings.WHATSAPP_PHONE_NUMBER_ID}/messages", body, retry_throttled=retry_throttled
    )
    contacts = data.get("contacts") or [{}]
    return SendResult(
        wa_message_id=data["messages"][0]["id"],
        wa_id=contacts[0].get("wa_id") or contacts[0].get("user_id"),
        raw=data,
    )


def mark_read(wa_message_id: str) -> None:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": wa_message_id}
    if settings.WHATSAPP_SANDBOX:
        return
    _post_json(f"{settings.WHATSAPP_PHONE_NUMBER_ID}/messages", body)


def upload_media(*, data: bytes, mime_type: str, filename: str) -> str:
    """POST /{phone_number_id}/media (multipart): Meta's media id for a later send."""
    if settings.WHATSAPP_SANDBOX:
        from messaging import sandbox

        return sandbox.upload_media(data=data, mime_type=mime_type, filename=filename)
    try:
        response = _http().post(
            _url(f"{settings.WHATSAPP_PHONE_NUMBER_ID}/media"),
            headers=_auth(),
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, data, mime_type)},
            timeout=(CONNECT_TIMEOUT, MEDIA_READ_TIMEOUT),
        )
    except requests.ConnectionError as exc:
        raise GraphError(f"WhatsApp is unreachable: {exc}", retryable=True) from exc
    except requests.Timeout as exc:
        raise GraphError("WhatsApp did not answer the upload in time.", retryable=True) from exc
    _raise_for_graph_error(response)
    return response.json()["id"]


def list_templates() -> list[dict]:
    """GET /{waba_id}/message_templates, following Meta's cursor paging."""
    if settings.WHATSAPP_SANDBOX:
        from messaging import sandbox

        return sandbox.list_templates()
    url = _url(f"{settings.WHATSAPP_BUSINESS_ACCOUNT_ID}/message_templates")
    params = {"limit": 100, "fields": "name,language,status,category,components,id"}
    templates: list[dict] = []
    while url:
        try:
            response = _http().get(
                url, headers=_auth(), params=params, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)
            )
        except requests.RequestException as exc:
            raise GraphError(f"WhatsApp is unreachable: {exc}", retryable=True) from exc
        _raise_for_graph_error(response)
        body = response.json()
        templates.extend(body.get("data", []))
        url = (body.get("paging") or {}).get("next")
        params = None
    return templates
