"""Hostile customer media in a real browser (issue 12.1): a customer's HTML or SVG reaches
the inbox through a signed webhook and the sandbox's media fetch, and is only ever offered
as a download; opening it runs no script on our origin."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from messaging.models import Message
from webhooks.sandbox import sandbox_media_id

pytestmark = [pytest.mark.slow]

PHONE = "6281355550077"
HTML = (
    b"<!doctype html><title>Tagihan</title>"
    b"<script>window.__pwned = 1; window.opener && (window.opener.__pwned = 1);"
    b"alert(document.cookie)</script><p>Tagihan Anda</p>"
)
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)


def send_media(customer, kind, data, mime, filename=None):
    """The customer sends a file: the sandbox finds its bytes under sandbox-media/."""
    media_id = sandbox_media_id()
    default_storage.save(f"sandbox-media/{media_id}", ContentFile(data))
    body = {"id": media_id, "mime_type": mime}
    if filename:
        body["filename"] = filename
    customer(PHONE, None, kind=kind, body=body)
    message = Message.objects.get(media_id=media_id)
    assert message.metadata["media_status"] == "ready"
    return message


def test_a_customers_html_document_is_a_download_and_never_runs(open_inbox, agent, customer):
    message = send_media(customer, "document", HTML, "text/html", "tagihan.html")
    inbox = open_inbox(agent)
    page = inbox.page
    dialogs = []
    inbox.context.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    inbox.room_row("Dewi Lestari").click()

    bubble = page.locator(f".msg[data-id='{message.id}']")
    link = bubble.locator("a.doc")
    expect(link).to_contain_text("tagihan.html")
    expect(link).to_have_attribute("href", f"/messages/{message.id}/media")
    expect(link).to_have_attribute("download", "tagihan.html")
    assert link.get_attribute("target") is None, "never opened as a page in a new tab"
    expect(bubble.locator("img, iframe, object, embed")).to_have_count(0)

    inbox_url = page.url
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "tagihan.html"
    assert page.url == inbox_url
    assert len(inbox.context.pages) == 1

    # Typed straight into the address bar, the file is still only a download.
    direct = inbox.context.new_page()
    with direct.expect_download() as download:
        try:
            direct.goto(f"/messages/{message.id}/media")
        except Exception as exc:  # Playwright: navigation ends as "Download is starting"
            assert "Download is starting" in str(exc)
    assert download.value.suggested_filename == "tagihan.html"
    assert direct.evaluate("window.__pwned") is None
    direct.close()

    assert page.evaluate("window.__pwned") is None
    assert dialogs == [], "the customer's script ran"


def test_a_customers_svg_image_is_a_download_not_an_img(open_inbox, agent, customer):
    message = send_media(customer, "image", SVG, "image/svg+xml")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    bubble = inbox.page.locator(f".msg[data-id='{message.id}']")
    expect(bubble.locator("a.doc")).to_have_attribute("download", "")
    expect(bubble.locator("a.doc")).to_contain_text("Image (image/svg+xml)")
    expect(bubble.locator("img, iframe, object, embed")).to_have_count(0)


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cf00000f0003fe5fdb5a3b0000000049454e44ae426082"
)


def test_a_real_photo_stays_an_inline_preview_and_opens_in_its_viewer(open_inbox, agent, customer):
    message = send_media(customer, "image", PNG, "image/png")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    image = inbox.page.locator(f".msg[data-id='{message.id}'] img.media")
    expect(image).to_be_visible()
    assert inbox.page.evaluate("img => img.naturalWidth", image.element_handle()) == 1

    viewer = inbox.context.new_page()
    problems = []
    viewer.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    viewer.goto(f"/messages/{message.id}/media")
    assert viewer.evaluate("document.contentType") == "image/png"
    assert viewer.evaluate("document.images[0].naturalWidth") == 1
    assert problems == [], "the media CSP must not break the browser's own image viewer"
    viewer.close()
