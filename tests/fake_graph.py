"""A fake WhatsApp Graph API on loopback: Meta's real response and error formats, and a
record of every request it was sent."""

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

TOKEN = "EAAG-fake-graph-token"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float = field(default_factory=time.monotonic)  # when it arrived

    def json(self):
        return json.loads(self.body)


# Meta's answers to a send, as (HTTP status, code, message, error_data.details), per code
# (developers.facebook.com, WhatsApp Cloud API error codes). For errors_for.
META_ERRORS = {
    130429: (
        400,
        130429,
        "(#130429) Rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number in a short period of time",
    ),
    131056: (
        400,
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time",
    ),
    131049: (
        400,
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131026: (
        400,
        131026,
        "Message undeliverable",
        "Unable to deliver message. Reasons can include: the recipient phone number is not "
        "a WhatsApp phone number.",
    ),
    131047: (
        400,
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    132001: (
        404,
        132001,
        "(#132001) Template name does not exist in the translation",
        "template name does not exist in the translation",
    ),
    131062: (
        400,
        131062,
        "Business-scoped user ID recipients not supported",
        "This message type cannot be sent to a business-scoped user ID.",
    ),
    132000: (
        400,
        132000,
        "(#132000) Number of parameters does not match the expected number of params",
        "body: number of localizable_params (2) does not match the expected number of params (3)",
    ),
    190: (
        401,
        190,
        "Error validating access token: Session has expired on Sunday, 29-Nov-26 10:00:00 PST.",
        None,
    ),
}


@dataclass
class FakeGraph:
    version: str = "v21.0"
    media: dict = field(default_factory=dict)  # media_id -> (bytes, mime_type)
    fail_next: dict = field(default_factory=dict)  # path fragment -> [status, ...]
    requests: list = field(default_factory=list)
    declared_sizes: dict = field(default_factory=dict)  # media_id -> size Meta reports
    send_errors: list = field(default_factory=list)  # (http status, meta code, message)
    # Per recipient (the `to` or `recipient` of a send): [(http status, meta code, message,
    # details?), ...], one taken per send; Meta's answer to that customer, in order.
    errors_for: dict = field(default_factory=dict)
    templates: list = field(default_factory=list)
    uploads: dict = field(default_factory=dict)  # media id -> (bytes, mime, filename)
    delay_seconds: float = 0.0
    sent: int = 0
    # Called as on_send(payload, wamid) before a send is answered: what Meta does
    # meanwhile (a status webhook that overtakes the answer) happens in there.
    on_send: object = None
    prefix: str = ""  # wamids stay unique across fakes in one database (bench, restarts)
    lock: object = field(default_factory=threading.Lock)

    def error_body(self, code, message, details=None, subcode=None):
        error = {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        if subcode:
            error["error_subcode"] = subcode
        return {"error": error}

    def unknown_template(self, template: dict) -> dict | None:
        """Meta's answer to a send of a template it does not have (name and language among
        `templates`), as Meta words it; None when the template exists."""
        name = template.get("name")
        language = (template.get("language") or {}).get("code")
        if any(t["name"] == name and t["language"] == language for t in self.templates):
            return None
        return self.error_body(
            132001,
            "(#132001) Template name does not exist in the translation",
            f"template name ({name}) does not exist in {language}",
        )

    def messages_sent(self):
        return [
            r.json() for r in self.requests if r.method == "POST" and r.path.endswith("/messages")
        ]

    def error_answer(self, status, code, message, kind="OAuthException", subcode=None):
        error = {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
        if subcode:
            error["error_subcode"] = subcode
        return status, {"error": error}

    def answer_post(self, path: str, headers, body: bytes) -> tuple[int, object]:
        """A POST as Meta answers it: (HTTP status, JSON body); recorded. `headers` reads
        case-insensitively (the HTTP handler's, or bench/campaign.py's server's)."""
        import time as _time

        self.requests.append(Recorded("POST", path, dict(headers), body))
        if self.delay_seconds:
            _time.sleep(self.delay_seconds)
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.error_answer(401, 190, "Invalid OAuth access token.")
        parts = urlparse(path).path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != self.version:
            return self.error_answer(404, 100, "Unknown path")
        if parts[2] == "media":
            from email.parser import BytesParser
            from email.policy import default

            head = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode()
            form = BytesParser(policy=default).parsebytes(head + body)
            fields, upload = {}, None
            for part in form.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename():
                    upload = (part.get_payload(decode=True), part.get_filename())
                else:
                    fields[name] = part.get_content().strip()
            if upload is None or fields.get("messaging_product") != "whatsapp":
                return (400, self.error_body(100, "(#100) The parameter file is required."))
            media_id = f"{9000000000000000 + len(self.uploads)}"
            self.uploads[media_id] = (upload[0], fields.get("type"), upload[1])
            return (200, {"id": media_id})
        if parts[2] != "messages":
            return self.error_answer(404, 100, "Unknown path")
        if self.send_errors:
            status, code, message, *rest = self.send_errors.pop(0)
            details = rest[0] if rest else None
            return (status, self.error_body(code, message, details))
        payload = json.loads(body)
        queued = self.errors_for.get(payload.get("to") or payload.get("recipient"))
        if queued:
            status, code, message, *rest = queued.pop(0)
            details = rest[0] if rest else None
            return (status, self.error_body(code, message, details))
        if payload.get("messaging_product") != "whatsapp":
            return (
                400,
                self.error_body(100, "(#100) The parameter messaging_product is required."),
            )
        if payload.get("status") == "read" and payload.get("message_id"):
            return (200, {"success": True})
        # Meta: `to` (a phone number) or `recipient` (a BSUID); `to` wins if both.
        address = payload.get("to") or payload.get("recipient")
        if not address or not payload.get("type"):
            return (400, self.error_body(100, "(#100) The parameter to is required."))
        if payload.get("type") == "template":
            unknown = self.unknown_template(payload.get("template") or {})
            if unknown:
                return (404, unknown)
        with self.lock:
            self.sent += 1
            wamid = f"wamid.FAKE{self.prefix}{self.sent:06d}"
        if self.on_send is not None:
            self.on_send(payload, wamid)
        key = "wa_id" if payload.get("to") else "user_id"
        return (
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": address, key: address}],
                "messages": [{"id": wamid}],
            },
        )

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as Graph's own front ends: a client's pooled connections are
            # reused (every answer says its Content-Length).
            protocol_version = "HTTP/1.1"
            # Each answer leaves in one write (headers and body), without Nagle's delay.
            wbufsize = -1
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _reply(self, status, body, content_type="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status, code, message, kind="OAuthException", subcode=None):
                self._reply(*fake.error_answer(status, code, message, kind, subcode))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                self._reply(*fake.answer_post(self.path, self.headers, body))

            def do_GET(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(Recorded("GET", self.path, dict(self.headers), body))
                path = urlparse(self.path).path
                for fragment, statuses in fake.fail_next.items():
                    if fragment in path and statuses:
                        status = statuses.pop(0)
                        return self._error(
                            status, 2, "Service temporarily unavailable", kind="OAuthException"
                        )
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._error(401, 190, "Invalid OAuth access token.")
                parts = path.strip("/").split("/")
                if parts[0] == "download" and len(parts) == 2:
                    media = fake.media.get(parts[1])
                    if media is None:
                        return self._error(404, 100, "Media not found")
                    return self._reply(200, media[0], media[1])
                if len(parts) == 3 and parts[2] == "message_templates":
                    query = urlparse(self.path).query
                    half = len(fake.templates) // 2
                    if "after=PAGE2" in query:
                        return self._reply(200, {"data": fake.templates[half:], "paging": {}})
                    return self._reply(
                        200,
                        {
                            "data": fake.templates[:half],
                            "paging": {
                                "cursors": {"after": "PAGE2"},
                                "next": f"{fake.url}{urlparse(self.path).path}?after=PAGE2",
                            },
                        },
                    )
                if len(parts) == 2 and parts[0] == fake.version:
                    media = fake.media.get(parts[1])
                    if media is None:
                        return self._error(
                            400,
                            100,
                            f"Unsupported get request. Object with ID '{parts[1]}' does not exist",
                            subcode=33,
                        )
                    data, mime = media
                    return self._reply(
                        200,
                        {
                            "messaging_product": "whatsapp",
                            "url": f"{fake.url}/download/{parts[1]}",
                            "mime_type": mime,
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "file_size": fake.declared_sizes.get(parts[1], len(data)),
                            "id": parts[1],
                        },
                    )
                return self._error(404, 100, "Unknown path")

        class Server(ThreadingHTTPServer):
            # socketserver's backlog of 5 drops connections opened together (a worker's
            # pool filling up); the kernel then resets them after the request went out,
            # which a campaign must count as maybe sent. Meta's front ends take them all.
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, fragment=""):
        return [r for r in self.requests if fragment in r.path]
