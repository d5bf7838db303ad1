"""The team's day in the inbox (issue 15): private notes with @mentions, labels, quick
replies with placeholders, the window's last hour, in Chromium against a live server."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import LeadFactory

pytestmark = [pytest.mark.slow]

DEWI = "6281355550001"
RUDI = "6281355550002"


def _drop_expected_400s(inbox, count):
    """Chrome logs a refused request (4xx) as a failed load: these are the answers the step
    asked for, not errors of the page."""
    refused = [e for e in inbox.errors if "status of 400" in e]
    assert len(refused) == count, inbox.errors
    inbox.errors[:] = [e for e in inbox.errors if e not in refused]


# --- private notes --------------------------------------------------------------------------


def test_a_private_note_with_a_mention_is_a_note_not_a_message_and_the_colleague_gets_a_toast(
    open_inbox, agent, other_agent, customer
):
    from messaging.models import Message
    from rooms.models import RoomNote

    customer(DEWI, "Halo, saya mau bayar minggu depan")
    writer, colleague = open_inbox(agent), open_inbox(other_agent)
    expect(colleague.room_row("Dewi Lestari")).to_be_visible()
    page = writer.page
    writer.room_row("Dewi Lestari").click()
    expect(page.locator(".msg", has_text="minggu depan")).to_be_visible()

    page.get_by_role("tab", name="Private note").click()
    expect(page.locator("#composer")).to_have_class(re.compile("note-mode"))
    expect(page.locator("#send")).to_have_text("Add note")
    box = page.locator("#text")
    box.press_sequentially("Janji bayar Senin, tolong follow up @agent-")
    suggestion = page.locator("#suggest .suggestion", has_text="Agent B")
    expect(suggestion).to_be_visible()
    expect(page.locator("#suggest .suggestion", has_text="Agent A")).to_have_count(0)
    box.press("Enter")  # chooses the colleague, does not add the note yet
    expect(box).to_have_value("Janji bayar Senin, tolong follow up @agent-b ")
    box.press_sequentially("ya")
    box.press("Enter")

    note = page.locator(".note", has_text="Janji bayar Senin")
    expect(note).to_be_visible()
    expect(note.locator(".note-tag")).to_have_text("🔒 Private note")
    expect(note.locator(".mention")).to_have_text("@agent-b")
    expect(page.locator(".msg", has_text="Janji bayar")).to_have_count(0)
    stored = RoomNote.objects.get()
    assert stored.text == "Janji bayar Senin, tolong follow up @agent-b ya"
    assert list(stored.mentions.values_list("username", flat=True)) == ["agent-b"]
    assert not Message.objects.filter(user__isnull=False).exists(), "never sent to WhatsApp"

    # The colleague: a toast that opens the room, where the note shows as a note.
    toast = colleague.page.locator(".toast.mention")
    expect(toast).to_contain_text("Agent A mentioned you in Dewi Lestari")
    toast.click()
    expect(colleague.page.locator(".note", has_text="Janji bayar Senin")).to_be_visible()
    # Notes never count as unread.
    expect(colleague.room_row("Dewi Lestari").locator(".badge")).to_have_attribute(
        "data-count", "0"
    )

    # Back to a reply: the composer is a WhatsApp composer again.
    page.get_by_role("tab", name="Reply").click()
    expect(page.locator("#composer")).not_to_have_class(re.compile("note-mode"))
    expect(page.locator("#send")).to_have_text("Send")


def test_a_note_from_a_colleague_appears_live_in_the_open_room(
    open_inbox, agent, other_agent, customer
):
    customer(DEWI, "Halo")
    reader, writer = open_inbox(agent), open_inbox(other_agent)
    for inbox in (reader, writer):
        inbox.room_row("Dewi Lestari").click()
        expect(inbox.page.locator(".msg", has_text="Halo")).to_be_visible()
    writer.page.get_by_role("tab", name="Private note").click()
    writer.page.locator("#text").fill("Sudah ditelepon, tidak diangkat")
    writer.page.locator("#text").press("Enter")
    expect(reader.page.locator(".note", has_text="tidak diangkat")).to_be_visible()
    expect(reader.page.locator(".note .note-author")).to_have_text("Agent B")


# --- labels ---------------------------------------------------------------------------------


def test_labels_are_chips_edited_from_the_header_and_filter_the_room_list(
    open_inbox, agent, other_agent, customer
):
    from rooms.models import Label, Room

    Label.objects.create(name="janji-bayar", colour="#16a34a")
    Label.objects.create(name="vip", colour="#dc2626")
    customer(RUDI, "older", name="Rudi")
    customer(DEWI, "newer")
    inbox, watcher = open_inbox(agent), open_inbox(other_agent)
    page = inbox.page
    inbox.room_row("Dewi Lestari").click()
    page.click("#edit-labels")
    dialog = page.locator("#label-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("label.label-option", has_text="janji-bayar").locator("input").check()
    chip = inbox.room_row("Dewi Lestari").locator(".chip[data-label=janji-bayar]")
    expect(chip).to_be_visible()
    expect(page.locator("#room-labels .chip")).to_have_text(["janji-bayar"])
    dialog.get_by_role("button", name="Done").click()
    assert list(Room.objects.get(phone=DEWI).labels.values_list("name", flat=True)) == [
        "janji-bayar"
    ]
    # The label's colour reaches the chip (through the CSSOM, within the CSP).
    colour = chip.evaluate("n => getComputedStyle(n).borderTopColor")
    assert colour == "rgb(22, 163, 74)"
    # Everyone who sees the room hears it.
    expect(
        watcher.room_row("Dewi Lestari").locator(".chip[data-label=janji-bayar]")
    ).to_be_visible()

    # The filter: only the labelled room (asked of the server: ?label=).
    with page.expect_response(re.compile(r"/rooms/\?.*label=janji-bayar")):
        page.select_option("#label-filter", "janji-bayar")
    expect(page.locator(".room-row")).to_have_count(1)
    expect(inbox.room_row("Dewi Lestari")).to_be_visible()
    # The label comes off (here, by a colleague): the room leaves the filtered list.
    watcher.room_row("Dewi Lestari").click()
    watcher.page.click("#edit-labels")
    watcher.page.locator("#label-dialog label.label-option", has_text="janji-bayar").locator(
        "input"
    ).uncheck()
    expect(page.locator(".room-row")).to_have_count(0)
    page.select_option("#label-filter", "")
    expect(page.locator(".room-row")).to_have_count(2)


# --- quick replies --------------------------------------------------------------------------


def test_a_quick_reply_fills_the_lead_and_leaves_its_unfilled_placeholder_selected(
    open_inbox, agent, customer
):
    from messaging.models import Message
    from replies.models import QuickReply

    LeadFactory(name="Dewi Lestari", phone=DEWI, outstanding="12500000")
    QuickReply.objects.create(shortcut="salam", title="Greeting", text="Selamat pagi {{name}}")
    QuickReply.objects.create(
        shortcut="tagihan",
        title="Reminder",
        text="Halo {{name}}, tagihan Anda {{outstanding}} jatuh tempo {{due_date}}. "
        "Salam, {{agent}}",
    )
    customer(DEWI, "Berapa tagihan saya?")
    inbox = open_inbox(agent)
    page = inbox.page
    inbox.room_row("Dewi Lestari").click()
    box = page.locator("#text")
    box.press_sequentially("/")
    expect(page.locator("#suggest .suggestion")).to_have_count(2)
    box.press_sequentially("tag")
    options = page.locator("#suggest .suggestion")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("/tagihan")
    box.press("Enter")

    filled = (
        "Halo Dewi Lestari, tagihan Anda Rp 12.500.000 jatuh tempo {{due_date}}. Salam, Agent A"
    )
    expect(box).to_have_value(re.compile(r"^Halo Dewi Lestari, tagihan Anda Rp\s12\.500\.000 "))
    assert box.input_value().replace("\xa0", " ") == filled
    # The placeholder the server could not fill is selected, and the hint names it.
    assert box.evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)") == "{{due_date}}"
    expect(page.locator("#fill-hint")).to_contain_text("Fill in: due_date")

    # Sent as it is, the server refuses it; the placeholder is selected again.
    box.press("Enter")
    expect(page.locator(".toast.error")).to_be_visible()
    _drop_expected_400s(inbox, 1)
    assert not Message.objects.filter(user__isnull=False).exists()
    assert box.evaluate("t => t.value.slice(t.selectionStart, t.selectionEnd)") == "{{due_date}}"

    # The agent types over the selection: nothing left to fill, and it goes out.
    box.press_sequentially("5 Desember 2026")
    expect(page.locator("#fill-hint")).to_be_hidden()
    box.press("Enter")
    expect(page.locator(".msg.mine", has_text="jatuh tempo 5 Desember 2026")).to_be_visible()
    sent = Message.objects.get(user__isnull=False)
    assert "{{" not in sent.content_text and "5 Desember 2026" in sent.content_text


# --- the window's last hour -----------------------------------------------------------------


def test_the_header_warns_in_the_windows_last_hour(open_inbox, agent, customer):
    from datetime import timedelta

    from django.utils import timezone

    from rooms.models import Room

    customer(DEWI, "Halo")
    # By the server's clock: 1 hour 2 minutes left.
    wrote = timezone.now() - timedelta(hours=22, minutes=58)
    Room.objects.filter(phone=DEWI).update(last_customer_message_at=wrote)
    inbox = open_inbox(agent)
    page = inbox.page
    page.clock.install()
    page.reload()
    page.wait_for_selector("#connection[data-state=live]")
    inbox.room_row("Dewi Lestari").click()
    status = page.locator("#window-status")
    expect(status).to_have_attribute("data-open", "true")
    expect(status).to_have_attribute("data-closing-soon", "false")
    page.clock.fast_forward("03:00")
    expect(status).to_have_attribute("data-closing-soon", "true")
    expect(status).to_contain_text("under an hour left")
    expect(page.locator("#text")).to_be_enabled()


# --- screenshots ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})],
)
def test_screenshots_of_notes_labels_and_quick_replies(
    open_inbox, agent, other_agent, customer, device, viewport
):
    from replies.models import QuickReply
    from rooms.models import Label, Room, RoomLabel, RoomNote

    LeadFactory(name="Dewi Lestari", phone=DEWI, outstanding="12500000")
    vip = Label.objects.create(name="vip", colour="#dc2626")
    promised = Label.objects.create(name="janji-bayar", colour="#16a34a")
    QuickReply.objects.create(
        shortcut="tagihan", title="Reminder", text="Halo {{name}}, jatuh tempo {{due_date}}"
    )
    QuickReply.objects.create(shortcut="salam", title="Greeting", text="Selamat pagi {{name}}")
    customer(RUDI, "Sudah transfer ya", name="Rudi Hartono")
    customer(DEWI, "Halo, saya mau bayar minggu depan")
    dewi = Room.objects.get(phone=DEWI)
    RoomLabel.objects.create(room=dewi, label=promised)
    RoomLabel.objects.create(room=dewi, label=vip)
    note = RoomNote.objects.create(room=dewi, author=other_agent, text="Sudah janji @agent-a")
    note.mentions.add(agent)
    inbox = open_inbox(agent, viewport=viewport)
    page = inbox.page
    expect(inbox.room_row("Dewi Lestari").locator(".chip")).to_have_count(2)
    inbox.screenshot(f"team-inbox-{device}")
    inbox.room_row("Dewi Lestari").click()
    expect(page.locator(".note")).to_be_visible()
    page.locator("#text").press_sequentially("/")
    expect(page.locator("#suggest .suggestion")).to_have_count(2)
    page.locator("#text").press("ArrowDown")
    expect(page.locator("#suggest .suggestion[aria-selected=true]")).to_contain_text("tagihan")
    inbox.screenshot(f"team-quick-replies-{device}")
    page.locator("#text").press("Enter")
    expect(page.locator("#fill-hint")).to_be_visible()
    inbox.screenshot(f"team-fill-hint-{device}")
    page.get_by_role("tab", name="Private note").click()
    page.locator("#text").press_sequentially("Tolong cek @agent")
    expect(page.locator("#suggest .suggestion")).to_have_count(1)
    inbox.screenshot(f"team-note-{device}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], "nothing overflows sideways"
