"""The WhatsApp Cloud (Graph) API client: requests with timeouts and pooled connections.

Endpoints: `{base}/{version}/{phone_number_id}/messages`, `/{phone_number_id}/media`,
`/{media_id}`, `/{waba_id}/message_templates`. Settings are read per call, never at import.
"""

import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

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


def _get_media_info(media_id: str) -> MediaInfo:
    """GET /{media_id}: a short-lived download URL and the file's details."""
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


def _download_media(url: str, *, max_bytes: int, into) -> int:
    """Stream the media at `url` (with the bearer token) into a writable file object.
    Refuses, mid-stream if need be, more than `max_bytes`."""
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


class _RateLimited(Exception):
    def __init__(self, response):
        self.response = response


# Waits between tries: 0.5 s, then 1.5 s (three tries in all).
_RETRY_WAIT = wait_exponential(multiplier=0.5, exp_base=3, max=1.5)


def _post_json(path: str, payload: dict, *, retry_throttled: bool = True) -> dict:
    """POST to the Graph API. A connection that never reached Meta is retried (it cannot
    have sent anything), and so is Meta's own rate limit (unless the caller paces itself:
    `retry_throttled=False`); a read timeout is not retried, since the message may have
    gone out."""
    try:
        for attempt in Retrying(
            retry=retry_if_exception_type((requests.ConnectionError, _RateLimited)),
            stop=stop_after_attempt(3),
            wait=_RETRY_WAIT,
            reraise=True,
        ):
            with attempt:
                response = _http().post(
                    _url(path),
                    json=payload,
                    headers=_auth(),
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                )
                limited = response.status_code == 429 or _meta_code(response) in RATE_LIMIT_CODES
                if limited and retry_throttled:
                    raise _RateLimited(response)
    except requests.ConnectionError as exc:  # ConnectTimeout too: nothing reached Meta
        raise GraphError(f"WhatsApp is unreachable: {exc}", retryable=True) from exc
    except requests.Timeout as exc:
        raise GraphError(
            "WhatsApp did not answer in time; the message may or may not have been sent.",
            code="whatsapp_timeout",
            retryable=False,
        ) from exc
    except _RateLimited as limited:
        response = limited.response
    _raise_for_graph_error(response)
    return response.json()


RATE_LIMIT_CODES = frozenset({130429, 4, 80007})


def _meta_code(response) -> int | None:
    if response.ok:
        return None
    try:
        return response.json().get("error", {}).get("code")
    except ValueError:
        return None


# --- The paced path (campaigns): hundreds of sends a second from one process ------------
#
# The same call as _post_json, on urllib3's pool directly: requests' per-call work (merging
# the environment's proxies and .netrc, the CA bundle's stat, hooks, cookies) cost a send
# more CPU than the rest of the worker's share (~0.8 ms against ~0.3 ms, measured in
# bench/campaign.py). The environment's proxy for Meta's host is read once per process.

_pools: dict[tuple, object] = {}
_pools_lock = threading.Lock()
_pool_size = 32


def paced_pool_size(size: int) -> None:
    """Keep-alive connections to Meta for `size` sends in flight at once."""
    global _pool_size
    _pool_size = max(32, size)


def _pool(url: str):
    import certifi
    import urllib3

    parts = urlsplit(url)
    key = (parts.scheme, parts.netloc, _pool_size)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:  # the sender threads' first calls come together
            pool = _pools.get(key)
            if pool is None:
                proxy = requests.utils.get_environ_proxies(url).get(parts.scheme)
                options = {"maxsize": _pool_size, "block": False, "ca_certs": certifi.where()}
                manager = urllib3.ProxyManager if proxy else urllib3.PoolManager
                pool = _pools[key] = manager(proxy, **options) if proxy else manager(**options)
    return pool


@dataclass(frozen=True)
class _Answer:
    """Meta's answer, read as _raise_for_graph_error and _meta_code read a response."""

    status_code: int
    content: bytes

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self):
        import json

        return json.loads(self.content)


# Waits between the paced path's tries (_RETRY_WAIT's): a plain loop costs a send less.
_PACED_WAITS = (0.5, 1.5)


def _post_json_paced(path: str, payload: dict) -> dict:
    """_post_json(..., retry_throttled=False) for sends that must go out at most once
    (campaigns): a connection that never reached Meta (refused, connect timeout) is tried
    three times, then retryable; a read timeout, or a connection lost once the request was
    on it, is `whatsapp_timeout` (the message may have gone out: never tried again);
    Meta's refusals, its rate limit too, come straight back."""
    import json
    import time

    import urllib3
    from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError

    url = _url(path)
    raw = json.dumps(payload).encode()
    headers = {**_auth(), "Content-Type": "application/json"}
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    no_retries = urllib3.Retry(total=0, read=False, redirect=False)
    for wait in (*_PACED_WAITS, None):
        try:
            response = _pool(url).request(
                "POST", url, body=raw, headers=headers, timeout=timeout, retries=no_retries
            )
            break
        except (ReadTimeoutError, MaxRetryError, ProtocolError) as exc:
            reason = exc.reason if isinstance(exc, MaxRetryError) else exc
            if isinstance(reason, ReadTimeoutError | ProtocolError):
                raise GraphError(
                    "WhatsApp did not answer (timeout, or the connection was lost); the "
                    "message may or may not have been sent.",
                    code="whatsapp_timeout",
                    retryable=False,
                ) from exc
            if wait is None:
                raise GraphError(f"WhatsApp is unreachable: {exc}", retryable=True) from exc
            time.sleep(wait)
    answer = _Answer(response.status, response.data)
    _raise_for_graph_error(answer)
    return answer.json()


def _send_message(body: dict, *, retry_throttled: bool = True) -> SendResult:
    path = f"{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
    data = _post_json(path, body) if retry_throttled else _post_json_paced(path, body)
    contacts = data.get("contacts") or [{}]
    return SendResult(
        wa_message_id=data["messages"][0]["id"],
        wa_id=contacts[0].get("wa_id") or contacts[0].get("user_id"),
        raw=data,
    )


def _mark_read(wa_message_id: str) -> None:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": wa_message_id}
    _post_json(f"{settings.WHATSAPP_PHONE_NUMBER_ID}/messages", body)


def _upload_media(*, data: bytes, mime_type: str, filename: str) -> str:
    """POST /{phone_number_id}/media (multipart): Meta's media id for a later send."""
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


def _list_templates() -> list[dict]:
    """GET /{waba_id}/message_templates, following Meta's cursor paging."""
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


class GraphClient:
    """Meta's Graph API over HTTP (WHATSAPP_API_BASE_URL): the production backend.

    The backend is chosen in settings, as Django picks an EMAIL_BACKEND:
    WHATSAPP_BACKEND names a class with these methods (GraphClient, or the sandbox's
    webhooks.sandbox.SandboxClient when there is no WHATSAPP_ACCESS_TOKEN)."""

    is_sandbox = False

    def send_message(self, body: dict) -> SendResult:
        return _send_message(body)

    def send_message_paced(self, body: dict) -> SendResult:
        """A send whose caller paces itself: Meta's rate-limit answer comes straight back."""
        return _send_message(body, retry_throttled=False)

    def mark_read(self, wa_message_id: str) -> None:
        _mark_read(wa_message_id)

    def get_media_info(self, media_id: str) -> MediaInfo:
        return _get_media_info(media_id)

    def download_media(self, url: str, *, max_bytes: int, into) -> int:
        return _download_media(url, max_bytes=max_bytes, into=into)

    def upload_media(self, *, data: bytes, mime_type: str, filename: str) -> str:
        return _upload_media(data=data, mime_type=mime_type, filename=filename)

    def list_templates(self) -> list[dict]:
        return _list_templates()


_clients: dict[str, object] = {}


def client():
    """The configured backend (one instance per class: settings may change in tests)."""
    from django.utils.module_loading import import_string

    path = settings.WHATSAPP_BACKEND
    if path not in _clients:
        _clients[path] = import_string(path)()
    return _clients[path]


# What the rest of the app calls: the configured backend's methods.


def send_message(payload: dict, *, retry_throttled: bool = True) -> SendResult:
    """POST /{phone_number_id}/messages with `messaging_product` and `recipient_type` set.
    `retry_throttled=False`: Meta's rate-limit answers come straight back (campaigns pace
    and back off themselves; a backend that never throttles just sends)."""
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", **payload}
    backend = client()
    if not retry_throttled and hasattr(backend, "send_message_paced"):
        return backend.send_message_paced(body)
    return backend.send_message(body)


def mark_read(wa_message_id: str) -> None:
    client().mark_read(wa_message_id)


def get_media_info(media_id: str) -> MediaInfo:
    return client().get_media_info(media_id)


def download_media(url: str, *, max_bytes: int, into) -> int:
    return client().download_media(url, max_bytes=max_bytes, into=into)


def upload_media(*, data: bytes, mime_type: str, filename: str) -> str:
    return client().upload_media(data=data, mime_type=mime_type, filename=filename)


def list_templates() -> list[dict]:
    return client().list_templates()


def is_sandbox() -> bool:
    return client().is_sandbox
