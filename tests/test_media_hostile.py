"""Hostile customer media (issue 12, points 1 and 9): a file a browser could run is never
shown on our origin, every media answer carries nosniff and a sandboxing CSP, stored
names are ours, and a media id is an opaque token, never a path."""

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from messaging.models import Message
from tests.helpers import load_fixture, signed_post
from webhooks.sandbox import sandbox_media_id

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"
JPEG = b"\xff\xd8\xff\xe0" + b"customer-photo" * 100
HTML = b"<!doctype html><script>window.__pwned = 1; alert(document.cookie)</script>"
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>window.__pwned = 1</script>'
    b'<rect width="10" height="10"/></svg>'
)
XHTML = (
    b'<html xmlns="http://www.w3.org/1999/xhtml"><body>'
    b"<script>window.__pwned = 1</script></body></html>"
)


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def _post(body):
        with django_capture_on_commit_callbacks(execute=True):
            return signed_post(client, body)

    return _post


def media_webhook(kind: str, *, media_id: str, mime_type: str, filename: str | None = None):
    """A customer's image or document, as Meta delivers it."""
    body = copy.deepcopy(load_fixture("image" if kind == "image" else "document"))
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message[kind]["id"] = media_id
    message[kind]["mime_type"] = mime_type
    if filename is not None:
        message[kind]["filename"] = filename
    return body


def with_wamid(body: dict, wamid: str) -> dict:
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = wamid
    return body


def csp(response) -> dict:
    directives = (d.strip().split() for d in response["Content-Security-Policy"].split(";"))
    return {d[0]: d[1:] for d in directives if d}


def assert_attachment_locked_down(response):
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def assert_inline_locked_down(response):
    """An inert file may show itself, and nothing else: no script, no sandbox escape."""
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = csp(response)
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy
    assert policy["sandbox"] == ["allow-same-origin"], "scripts, forms, popups stay off"


HOSTILE = [
    ("document", "text/html", HTML, "invoice.html"),
    ("image", "image/svg+xml", SVG, None),
    ("document", "application/xhtml+xml", XHTML, "page.xhtml"),
    ("document", "text/xml", SVG, "data.xml"),
    ("image", "TEXT/HTML; charset=utf-8", HTML, None),
]


@pytest.mark.parametrize(("kind", "mime", "data", "filename"), HOSTILE)
def test_a_file_a_browser_could_run_is_served_as_an_attachment_never_inline(
    post, fake_graph, client, supervisor, kind, mime, data, filename
):
    fake_graph.media["1479537139650980"] = (data, mime)
    body = media_webhook(kind, media_id="1479537139650980", mime_type=mime, filename=filename)
    assert post(body).status_code == 200
    message = Message.objects.get()
    assert message.metadata["media_status"] == "ready", "kept and stored, for the record"
    # Named by us: never the customer's .html/.svg/.xhtml, so no store guesses it as a page.
    assert message.gcs_filename == f"whatsapp/{message.room_id}/{message.id}.bin"

    client.force_login(supervisor)
    response = client.get(message.gcs_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert_attachment_locked_down(response)
    assert b"".join(response.streaming_content) == data

    listed = client.get(f"/rooms/{message.room_id}/messages").json()["results"]
    assert [m["media_inline"] for m in listed] == [False]


def test_a_pdf_document_is_an_attachment_too(post, fake_graph, client, supervisor):
    pdf = b"%PDF-1.4 slip gaji" + b"0" * 2048
    fake_graph.media["1479537139650976"] = (pdf, "application/pdf")
    post(load_fixture("document"))
    message = Message.objects.get()
    assert message.gcs_filename.endswith(".pdf")
    client.force_login(supervisor)
    response = client.get(message.gcs_url)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="slip-gaji-oktober.pdf"' in response["Content-Disposition"]
    assert_attachment_locked_down(response)


def test_a_jpeg_is_still_inline_with_nosniff_and_a_csp(post, fake_graph, client, supervisor):
    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    post(load_fixture("image"))
    message = Message.objects.get()
    client.force_login(supervisor)
    response = client.get(message.gcs_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline")
    assert_inline_locked_down(response)
    listed = client.get(f"/rooms/{message.room_id}/messages").json()["results"]
    assert [m["media_inline"] for m in listed] == [True]


def test_a_voice_note_with_codec_parameters_is_inline_audio(post, fake_graph, client, supervisor):
    body = copy.deepcopy(load_fixture("document"))
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(type="audio", audio={"id": "1479537139650981", "mime_type": "audio/ogg"})
    del message["document"]
    fake_graph.media["1479537139650981"] = (b"OggS" + b"0" * 512, "audio/ogg; codecs=opus")
    post(body)
    stored = Message.objects.get()
    assert stored.gcs_filename.endswith(".ogg")
    client.force_login(supervisor)
    response = client.get(stored.gcs_url)
    assert response["Content-Type"] == "audio/ogg"
    assert response["Content-Disposition"].startswith("inline")
    assert_inline_locked_down(response)


def test_the_media_updated_event_tells_the_inbox_not_to_inline_a_page(post, fake_graph, tap):
    listener = tap()
    fake_graph.media["1479537139650980"] = (HTML, "text/html")
    post(media_webhook("document", media_id="1479537139650980", mime_type="text/html"))
    events = dict(listener.drain())
    payload = json.loads(json.dumps(events["message_updated"]))
    schema = json.loads((SCHEMAS / "message_updated.schema.json").read_text())
    jsonschema.validate(payload, schema)
    assert payload["media_inline"] is False and payload["gcs_url"]


def test_a_media_id_that_is_a_path_never_reaches_the_graph_api(post, fake_graph):
    post(media_webhook("image", media_id="../../100000000000001/messages", mime_type="image/jpeg"))
    message = Message.objects.get()
    assert message.metadata["media_status"] == "failed"
    assert message.metadata["media_error"].startswith("invalid_media_id")
    assert message.gcs_filename is None
    assert fake_graph.requests == []


# --- the sandbox (no WhatsApp token): its media ids are its own, never paths ---------------


@pytest.fixture
def sandbox(settings):
    settings.WHATSAPP_BACKEND = "webhooks.sandbox.SandboxClient"
    settings.WHATSAPP_ACCESS_TOKEN = ""


def _stored_in(room_id) -> list[str]:
    return sorted(default_storage.listdir(f"whatsapp/{room_id}")[1])


def test_the_sandbox_serves_the_media_it_issued(post, sandbox):
    media_id = sandbox_media_id()
    default_storage.save(f"sandbox-media/{media_id}", ContentFile(b"KTP scan"))
    post(media_webhook("document", media_id=media_id, mime_type="text/plain", filename="k.txt"))
    message = Message.objects.get()
    assert message.metadata["media_status"] == "ready"
    assert message.gcs_filename == f"whatsapp/{message.room_id}/{message.id}.txt"


@pytest.mark.parametrize("hostile", ["../whatsapp/{room}/{message}.txt", "../../etc/passwd"])
def test_a_sandbox_media_id_that_is_a_path_fails_the_media_and_copies_nothing(
    post, sandbox, client, supervisor, hostile
):
    media_id = sandbox_media_id()
    default_storage.save(f"sandbox-media/{media_id}", ContentFile(b"another room's KTP"))
    first = media_webhook("document", media_id=media_id, mime_type="text/plain", filename="k.txt")
    post(first)
    victim = Message.objects.get()
    assert victim.metadata["media_status"] == "ready"
    before = _stored_in(victim.room_id)

    media_id = hostile.format(room=victim.room_id, message=victim.id)
    body = media_webhook("document", media_id=media_id, mime_type="text/plain", filename="x.txt")
    assert post(with_wamid(body, "wamid.HOSTILE-PATH-ID")).status_code == 200

    message = Message.objects.get(wa_message_id="wamid.HOSTILE-PATH-ID")
    assert message.media_id == media_id, "kept for the record"
    assert message.metadata["media_status"] == "failed"
    assert message.metadata["media_error"].startswith("invalid_media_id")
    assert message.gcs_filename is None and message.gcs_url is None
    assert _stored_in(victim.room_id) == before, "no file copied"
    client.force_login(supervisor)
    assert client.get(f"/messages/{message.id}/media").status_code == 404


def test_the_sandbox_does_not_know_ids_it_did_not_issue(post, sandbox):
    """Even an id of a well-formed shape names no stored file unless the sandbox made it."""
    default_storage.save("sandbox-media/1479537139650973", ContentFile(b"planted"))
    post(media_webhook("image", media_id="1479537139650973", mime_type="image/jpeg"))
    message = Message.objects.get()
    assert message.metadata["media_status"] == "failed"
    assert "does not exist" in message.metadata["media_error"]
