"""A fake WhatsApp Graph API on loopback: Meta's real response and error formats, and a
record of every request it was sent."""

import hashlib
import json
import threading
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

    def json(self):
        return json.loads(self.body)


@dataclass
class FakeGraph:
    version: str = "v21.0"
    media: dict = field(default_factory=dict)  # media_id -> (bytes, mime_type)
    fail_next: dict = field(default_factory=dict)  # path fragment -> [status, ...]
    requests: list = field(default_factory=list)
    declared_sizes: dict = field(default_factory=dict)  # media_id -> size Meta reports

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
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
                error = {
                    "message": message,
                    "type": kind,
                    "code": code,
                    "fbtrace_id": "AbCdEfGhIjK",
                }
                if subcode:
                    error["error_subcode"] = subcode
                self._reply(status, {"error": error})

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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def calls(self, fragment=""):
        return [r for r in self.requests if fragment in r.path]
