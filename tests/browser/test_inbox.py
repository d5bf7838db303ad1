"""The inbox in a real browser. The seed's "Frontend Testing (Required)" checklist, one
test per item, then sending from the page, visibility, reconnects and screenshots."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import LeadFactory, MessageTemplateFactory, RoomParticipantFactory

pytestmark = [pytest.mark.slow]

NEW = "6281355550001"


# --- the seed's checklist -----------------------------------------------------------------


def test_socket_connection_established(open_inbox, agent):
    inbox = open_inbox(agent)
    expect(inbox.page.locator("#connection")).to_have_attribute("data-state", "live")


def test_new_room_complete_received_for_new_customer(open_inbox, agent, customer):
    inbox = open_inbox(agent)
    customer(NEW, "Halo, mau tanya pinjaman")
    expect(inbox.room_row("Dewi Lestari")).to_be_visible()


def test_room_appears_with_complete_data_never_unknown(open_inbox, agent, customer):
    LeadFactory(name="Bu Dewi (lead)", phone=NEW, outstanding="12500000")
    inbox = open_inbox(agent)
    customer(NEW, "Selamat pagi", name="WA Profile Name")
    row = inbox.room_row("Bu Dewi (lead)")
    expect(row).to_be_visible()
    expect(row).to_contain_text("+6281355550001")
    expect(row.locator(".badge")).to_have_text("1")
    expect(inbox.page.locator("#room-list")).not_to_contain_text("Unknown")


def test_last_message_visible_immediately(open_inbox, agent, customer):
    inbox = open_inbox(agent)
    customer(NEW, "Pesan pertama saya")
    expect(inbox.room_row("Dewi Lestari").locator(".preview")).to_have_text("Pesan pertama saya")
    inbox.room_row("Dewi Lestari").click()
    expect(inbox.page.locator(".msg", has_text="Pesan pertama saya")).to_be_visible()


def test_new_message_for_existing_rooms_moves_the_room_up(open_inbox, agent, customer):
    customer("6281355550002", "older room", name="Rudi")
    customer(NEW, "newer room")
    inbox = open_inbox(agent)
    rows = inbox.page.locator(".room-row .name")
    expect(rows.first).to_have_text("Dewi Lestari")
    customer("6281355550002", "Rudi again")
    expect(rows.first).to_have_text("Rudi")
    expect(inbox.room_row("Rudi").locator(".preview")).to_have_text("Rudi again")


def test_unread_count_updates(open_inbox, agent, customer):
    customer(NEW, "one")
    inbox = open_inbox(agent)
    badge = inbox.room_row("Dewi Lestari").locator(".badge")
    expect(badge).to_have_text("1")
    customer(NEW, "two")
    expect(badge).to_have_text("2")
    inbox.room_row("Dewi Lestari").click()
    expect(badge).to_have_attribute("data-count", "0")


def test_notification_sound_plays_when_the_page_is_not_focused(open_inbox, agent, customer):
    inbox = open_inbox(agent)
    inbox.page.evaluate("document.hasFocus = () => false")
    customer(NEW, "while you were away")
    inbox.page.wait_for_function("() => window.boztell.sounds >= 1")
    expect(inbox.page.locator(".toast")).to_contain_text("Dewi Lestari")


def test_messages_update_in_real_time_and_the_open_room_is_marked_read(open_inbox, agent, customer):
    customer(NEW, "first")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    expect(inbox.page.locator(".msg", has_text="first")).to_be_visible()
    customer(NEW, "second, live")
    expect(inbox.page.locator(".msg", has_text="second, live")).to_be_visible()
    expect(inbox.room_row("Dewi Lestari").locator(".badge")).to_have_attribute("data-count", "0")


def test_no_race_or_empty_state_on_a_burst(open_inbox, agent, customer):
    inbox = open_inbox(agent)
    for text in ("satu", "dua", "tiga"):
        customer(NEW, text)
    row = inbox.room_row("Dewi Lestari")
    expect(row).to_have_count(1)
    expect(row.locator(".preview")).to_have_text("tiga")
    expect(row.locator(".badge")).to_have_text("3")
    row.click()
    expect(inbox.page.locator(".msg")).to_have_count(3)


def test_no_refresh_needed(open_inbox, agent, customer):
    inbox = open_inbox(agent)
    inbox.page.evaluate("window.__noReload = true")
    customer(NEW, "a")
    inbox.room_row("Dewi Lestari").click()
    customer(NEW, "b")
    expect(inbox.page.locator(".msg", has_text=re.compile("^b"))).to_be_visible()
    assert inbox.page.evaluate("window.__noReload") is True


# --- sending from the page ----------------------------------------------------------------


def test_send_text_with_enter_and_see_the_ticks_reach_read(open_inbox, agent, customer):
    customer(NEW, "Halo")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    box = inbox.page.locator("#text")
    box.fill("Baris satu")
    box.press("Shift+Enter")
    box.type("baris dua")
    box.press("Enter")
    bubble = inbox.page.locator(".msg.mine", has_text="Baris satu")
    expect(bubble).to_be_visible()
    expect(bubble.locator(".text")).to_have_text("Baris satu\nbaris dua")
    expect(bubble.locator(".tick")).to_have_attribute("data-status", "read")
    expect(box).to_have_value("")


def test_send_a_template_when_the_window_is_closed(open_inbox, agent, customer):
    MessageTemplateFactory()
    customer(NEW, "Halo")
    from rooms.models import Room

    Room.objects.filter(phone=NEW).update(last_customer_message_at="2020-01-01T00:00:00Z")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    expect(inbox.page.locator("#window-closed")).to_be_visible()
    expect(inbox.page.locator("#text")).to_be_disabled()
    inbox.page.click("#window-template")
    inputs = inbox.page.locator("#template-params input")
    expect(inputs).to_have_count(2)
    inputs.nth(0).fill("Dewi")
    inputs.nth(1).fill("Rp 1.250.000")
    inbox.page.click("#template-send")
    expect(
        inbox.page.locator(".msg.mine", has_text="Halo Dewi, tagihan Rp 1.250.000")
    ).to_be_visible()


def test_send_media_with_a_progress_bar(open_inbox, agent, customer, tmp_path):
    customer(NEW, "Kirim foto KTP ya")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    photo = tmp_path / "ktp.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4000)
    inbox.page.locator("#text").fill("KTP saya")
    inbox.page.set_input_files("#file", str(photo))
    bubble = inbox.page.locator(".msg.mine", has_text="KTP saya")
    expect(bubble.locator("img.media")).to_be_visible()
    expect(inbox.page.locator("#upload")).to_be_hidden()


def test_reply_shows_the_quoted_message(open_inbox, agent, customer):
    customer(NEW, "Berapa cicilannya?")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    question = inbox.page.locator(".msg", has_text="Berapa cicilannya?")
    question.hover()
    question.get_by_label("Reply").click()
    expect(inbox.page.locator("#reply-bar")).to_contain_text("Berapa cicilannya?")
    inbox.page.locator("#text").fill("Rp 1.200.000 per bulan")
    inbox.page.locator("#text").press("Enter")
    answer = inbox.page.locator(".msg.mine", has_text="Rp 1.200.000 per bulan")
    expect(answer.locator(".quote")).to_have_text("Berapa cicilannya?")


# --- who sees what, live ------------------------------------------------------------------


def test_two_agents_see_only_their_own_rooms(open_inbox, agent, other_agent, customer):
    from rooms.models import Room

    customer("6281355550010", "for A", name="Customer A")
    customer("6281355550011", "for B", name="Customer B")
    RoomParticipantFactory(room=Room.objects.get(phone="6281355550010"), user=agent)
    RoomParticipantFactory(room=Room.objects.get(phone="6281355550011"), user=other_agent)
    a, b = open_inbox(agent), open_inbox(other_agent)
    expect(a.room_row("Customer A")).to_be_visible()
    expect(a.room_row("Customer B")).to_have_count(0)
    expect(b.room_row("Customer B")).to_be_visible()
    expect(b.room_row("Customer A")).to_have_count(0)
    customer("6281355550011", "B only, live", name="Customer B")
    expect(b.room_row("Customer B").locator(".preview")).to_have_text("B only, live")
    a.page.wait_for_timeout(500)
    expect(a.room_row("Customer B")).to_have_count(0)


def test_a_dropped_socket_reconnects_and_catches_up(open_inbox, agent, customer):
    customer(NEW, "before")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    inbox.page.evaluate("window.boztell.dropSocket()")
    customer(NEW, "while the socket was down")
    expect(inbox.page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(inbox.page.locator(".msg", has_text="while the socket was down")).to_be_visible()


def test_a_page_away_longer_than_the_event_log_keeps_reloads_instead_of_a_gap(
    open_inbox, agent, customer
):
    from io import StringIO

    from django.core.management import call_command

    customer(NEW, "before")
    inbox = open_inbox(agent)
    expect(inbox.room_row("Dewi Lestari")).to_be_visible()
    # The page's own first catch-up must be over: finishing after the cursor is set to 0
    # below, it moved the cursor forward again and the reconnect found nothing expired.
    expect(inbox.page.locator("#app")).to_have_attribute("data-caught-up", re.compile(r"\d+"))
    call_command("events_prune", "--keep-hours", "0", stdout=StringIO(), stderr=StringIO())
    # As if this page had last caught up before the pruned part of the log.
    inbox.page.evaluate("window.stale = true; window.boztell.state.cursor = 0")
    inbox.page.evaluate("window.boztell.dropSocket()")
    inbox.page.wait_for_function("() => window.stale === undefined")  # the page reloaded
    expect(inbox.page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(inbox.room_row("Dewi Lestari")).to_be_visible()
    # Chrome logs the one 410 as a failed load; it is the answer this test asks for.
    gone = [e for e in inbox.errors if "status of 410" in e]
    assert len(gone) == 1, inbox.errors
    inbox.errors[:] = [e for e in inbox.errors if e not in gone]


def test_lead_panel_shows_idr_and_statuses_are_editable(open_inbox, agent, customer):
    lead = LeadFactory(name="Bu Siti", phone=NEW, outstanding="12500000", leads_status="warm")
    customer(NEW, "Halo")
    inbox = open_inbox(agent)
    inbox.room_row("Bu Siti").click()
    panel = inbox.page.locator("#lead-panel")
    expect(panel.locator(".outstanding")).to_have_text(re.compile(r"Rp\s?12\.500\.000"))
    panel.locator("select[name=leads_status]").select_option("hot")
    expect(inbox.page.locator(".toast", has_text="Lead updated")).to_be_visible()
    lead.refresh_from_db()
    assert lead.leads_status == "hot"
    # The lead's history of changes, with who made them (issue 16.9).
    panel.locator("#lead-history summary").click()
    history = panel.locator(".lead-history-list")
    expect(history).to_contain_text(f"{agent.name}: leads status: warm → hot")
    expect(history).to_contain_text("created the lead")
    panel.locator("#claim").click()
    expect(panel).to_contain_text(agent.name)


# --- screenshots --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "device, viewport",
    [
        ("desktop", {"width": 1280, "height": 800}),
        ("phone", {"width": 390, "height": 844}),
    ],
)
def test_screenshots_of_the_inbox_and_a_room(open_inbox, agent, customer, device, viewport):
    LeadFactory(name="Dewi Lestari", phone=NEW, outstanding="12500000")
    customer(NEW, "Halo, saya mau tanya soal pinjaman KTA")
    customer("6281355550002", "Sudah transfer ya", name="Rudi Hartono")
    customer(
        NEW,
        "",
        kind="location",
        body={
            "latitude": -6.2,
            "longitude": 106.8,
            "name": "Kantor Sudirman",
            "address": "Jakarta",
        },
    )
    inbox = open_inbox(agent, viewport=viewport)
    expect(inbox.page.locator(".room-row")).to_have_count(2)
    inbox.screenshot(f"inbox-{device}")
    inbox.room_row("Dewi Lestari").click()
    expect(inbox.page.locator(".msg")).to_have_count(2)
    inbox.page.locator("#text").fill("Baik Bu Dewi, saya bantu cek ya.")
    inbox.page.locator("#text").press("Enter")
    expect(inbox.page.locator(".msg.mine .tick[data-status=read]")).to_be_visible()
    inbox.screenshot(f"room-{device}")
    width = inbox.page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], "nothing overflows sideways"


# --- the rest of the room and composer ----------------------------------------------------


def test_typing_indicator_is_sent_and_shown(open_inbox, agent, supervisor, customer):
    customer(NEW, "Halo")
    typist, watcher = open_inbox(agent), open_inbox(supervisor, viewport=None)
    from rooms.models import Room

    room = Room.objects.get(phone=NEW)
    for inbox in (typist, watcher):
        inbox.room_row("Dewi Lestari").click()
        expect(inbox.page.locator(".msg", has_text="Halo")).to_be_visible()
        # Typing goes only to those in the room: a keystroke before the watcher has
        # joined would be lost (the page sends one typing event per two seconds).
        inbox.expect_joined(room.id)
    typist.page.locator("#text").type("Sebentar ya")
    expect(watcher.page.locator("#typing")).to_have_text(f"{agent.name} is typing…")
    typist.page.locator("#text").press("Enter")
    expect(watcher.page.locator("#typing")).to_have_text("")
    expect(watcher.page.locator(".msg.mine", has_text="Sebentar ya")).to_be_visible()


def test_a_failed_message_shows_its_reason_and_a_retry_button(open_inbox, agent, customer):
    from messaging.models import Message

    customer(NEW, "Halo")
    from rooms.models import Room
    from tests.factories import MessageFactory

    MessageFactory(
        room=Room.objects.get(phone=NEW),
        user=agent,
        content_text="Gagal kirim",
        status="failed",
        wa_message_id=None,
        metadata={"error": {"code": 131026, "message": "Message undeliverable"}},
    )
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    bubble = inbox.page.locator(".msg.mine", has_text="Gagal kirim")
    expect(bubble.locator(".failed-reason")).to_contain_text("Message undeliverable")
    bubble.locator("button.retry").click()
    expect(bubble.locator(".tick")).to_have_attribute(
        "data-status", re.compile("sent|read|delivered")
    )
    assert Message.objects.get(content_text="Gagal kirim").status != "failed"


def test_older_messages_load_when_scrolling_up(open_inbox, agent, customer):
    from datetime import timedelta

    from django.utils import timezone

    from messaging.models import Message
    from rooms.models import Room
    from tests.factories import MessageFactory

    customer(NEW, "newest")
    room = Room.objects.get(phone=NEW)
    start = timezone.now() - timedelta(days=3)
    for i in range(80):
        message = MessageFactory(room=room, content_text=f"old {i:02d}")
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(minutes=i))
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    expect(inbox.page.locator(".msg")).to_have_count(50)
    expect(inbox.page.locator(".msg", has_text="old 00")).to_have_count(0)
    inbox.page.locator("#messages").evaluate("box => box.scrollTop = 0")
    expect(inbox.page.locator(".msg", has_text="old 00")).to_be_visible()
    expect(inbox.page.locator(".msg")).to_have_count(81)
    expect(inbox.page.locator(".day")).not_to_have_count(0)


def test_filters_and_search(open_inbox, agent, customer):
    from rooms.models import Room

    customer("6281355550020", "Mau bayar cicilan", name="Siti Mine")
    customer("6281355550021", "Tanya promo", name="Budi Free")
    RoomParticipantFactory(room=Room.objects.get(phone="6281355550020"), user=agent)
    inbox = open_inbox(agent)
    inbox.page.click("button[data-filter=mine]")
    expect(inbox.room_row("Siti Mine")).to_be_visible()
    expect(inbox.room_row("Budi Free")).to_have_count(0)
    inbox.page.click("button[data-filter=unassigned]")
    expect(inbox.room_row("Budi Free")).to_be_visible()
    expect(inbox.room_row("Siti Mine")).to_have_count(0)
    inbox.page.click("button[data-filter=all]")
    inbox.page.fill("#room-search", "cicilan")
    expect(inbox.room_row("Siti Mine")).to_be_visible()
    expect(inbox.room_row("Budi Free")).to_have_count(0)
    inbox.page.fill("#room-search", "xyz-nothing")
    expect(inbox.page.locator("#rooms-empty")).to_be_visible()


def test_presence_dots_follow_agents_coming_and_going(
    open_inbox, agent, supervisor, customer, browser, inbox_server
):
    from rooms.models import Room

    customer(NEW, "Halo")
    RoomParticipantFactory(room=Room.objects.get(phone=NEW), user=agent)
    boss = open_inbox(supervisor)
    boss.room_row("Dewi Lestari").click()
    dot = boss.page.locator(f'#lead-panel .presence[data-user="{agent.id}"]')
    expect(dot).to_have_attribute("data-online", "false")
    worker = open_inbox(agent)
    expect(dot).to_have_attribute("data-online", "true")
    worker.context.close()
    expect(dot).to_have_attribute("data-online", "false")


def test_react_to_a_customer_message(open_inbox, agent, customer):
    customer(NEW, "Terima kasih banyak")
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    bubble = inbox.page.locator(".msg", has_text="Terima kasih banyak")
    bubble.hover()
    bubble.get_by_label("React 👍").click()
    expect(bubble.locator(".reactions")).to_have_text("👍")


def test_the_inbox_works_from_the_keyboard(open_inbox, agent, customer):
    customer(NEW, "Halo")
    inbox = open_inbox(agent)
    row = inbox.room_row("Dewi Lestari")
    row.focus()
    inbox.page.keyboard.press("Enter")
    expect(inbox.page.locator("#text")).to_be_focused()
    inbox.page.keyboard.type("Dikirim lewat keyboard")
    inbox.page.keyboard.press("Enter")
    expect(inbox.page.locator(".msg.mine", has_text="Dikirim lewat keyboard")).to_be_visible()


def test_media_previews_for_every_kind(open_inbox, agent, customer):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from rooms.models import Room
    from tests.factories import MessageFactory

    customer(NEW, "Halo")
    room = Room.objects.get(phone=NEW)
    files = {
        "image": ("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "foto.png"),
        "sticker": ("image/webp", b"RIFF0000WEBP", "s.webp"),
        "audio": ("audio/ogg", b"OggS", "voice.ogg"),
        "video": ("video/mp4", b"\x00\x00\x00\x18ftypmp42", "clip.mp4"),
        "document": ("application/pdf", b"%PDF-1.4" + b"0" * 2048, "kontrak.pdf"),
    }
    for kind, (mime, data, filename) in files.items():
        message = MessageFactory(
            room=room,
            content_type=kind,
            media_type=kind,
            mime_type=mime,
            original_filename=filename,
            file_size=len(data),
            content_text=filename,
            metadata={"media_status": "ready"},
        )
        name = default_storage.save(f"whatsapp/{room.id}/{message.id}", ContentFile(data))
        message.gcs_filename = name
        message.gcs_url = f"/messages/{message.id}/media"
        message.save()
    MessageFactory(
        room=room,
        content_type="location",
        content_text="Kantor, Jakarta",
        metadata={
            "location": {
                "latitude": -6.2,
                "longitude": 106.8,
                "name": "Kantor",
                "address": "Jakarta",
            }
        },
    )
    MessageFactory(
        room=room,
        content_type="contacts",
        content_text="Contact: Budi",
        metadata={
            "contacts": [
                {
                    "name": {"formatted_name": "Budi Santoso"},
                    "phones": [{"phone": "+62 813-1111-2222"}],
                }
            ]
        },
    )
    inbox = open_inbox(agent)
    inbox.room_row("Dewi Lestari").click()
    page = inbox.page
    expect(page.locator(".msg img.media:not(.sticker)")).to_have_count(1)
    expect(page.locator(".msg img.sticker")).to_have_count(1)
    expect(page.locator(".msg audio")).to_have_count(1)
    expect(page.locator(".msg video")).to_have_count(1)
    expect(page.locator(".msg a.doc")).to_contain_text("kontrak.pdf · 2 KB")
    expect(page.locator(".msg a[href*='maps?q=-6.2,106.8']")).to_contain_text("Kantor, Jakarta")
    expect(page.locator(".msg .doc", has_text="Budi Santoso")).to_contain_text("+62 813-1111-2222")
    served = page.evaluate(
        "fetch(document.querySelector('.msg img.media').src)"
        ".then(r => r.status + ' ' + r.headers.get('content-type'))"
    )
    assert served == "200 image/png", "the preview's file is served to the agent"


def test_supervisor_reassigns_a_room_and_logs_out(open_inbox, supervisor, other_agent, customer):
    from rooms.models import RoomParticipant

    customer(NEW, "Halo")
    inbox = open_inbox(supervisor)
    inbox.room_row("Dewi Lestari").click()
    inbox.page.select_option("#reassign", str(other_agent.id))
    expect(inbox.page.locator(".toast", has_text="Room reassigned")).to_be_visible()
    assert RoomParticipant.objects.get(is_assigned=True).user == other_agent
    expect(inbox.page.locator("#lead-panel")).to_contain_text(other_agent.name)
    before = len(inbox.errors)
    inbox.page.click("text=Log out")
    inbox.page.wait_for_url("**/login/")
    # A request still in flight when the session ended (the room list's counts, refreshed
    # after the reassignment) is refused with 401: the answer a logged-out page must get.
    after_logout = inbox.errors[before:]
    assert all("status of 401" in e for e in after_logout), after_logout
    del inbox.errors[before:]


# --- customers with a WhatsApp username (Meta shows a BSUID, no number) --------------------


def _username_customer(inbox_server, user_id, text, *, name=None, username=None, n=1):
    import time

    from tests.helpers import load_fixture, post_live

    body = load_fixture("bsuid_text")
    value = body["entry"][0]["changes"][0]["value"]
    profile = {}
    if name:
        profile["name"] = name
    if username:
        profile["username"] = username
    value["contacts"] = [{"profile": profile, "user_id": user_id}]
    message = value["messages"][0]
    message.update(
        from_user_id=user_id,
        id=f"wamid.BROWSER-{user_id}-{n}-{time.time()}",
        timestamp=str(int(time.time())),
        text={"body": text},
    )
    response = post_live(inbox_server, body)
    assert response.status_code == 200, response.text


def test_a_username_customer_appears_live_with_the_right_title_and_can_be_answered(
    open_inbox, agent, inbox_server
):
    inbox = open_inbox(agent)
    _username_customer(
        inbox_server,
        "ID.2081978709342942",
        "Halo dari username",
        name="Rina Kusuma",
        username="rina.kredit",
    )
    _username_customer(inbox_server, "ID.2081978709342943", "Tanpa nama", username="budi88")
    row = inbox.room_row("Rina Kusuma")
    expect(row).to_be_visible()
    expect(row.locator(".phone")).to_have_text("@rina.kredit")
    expect(inbox.room_row("@budi88")).to_be_visible()
    room_list = inbox.page.locator("#room-list")
    expect(room_list).not_to_contain_text("Unknown")
    expect(room_list).not_to_contain_text("ID.20819787093429")
    # new_room_complete carries window_open: no reload is needed to answer.
    row.click()
    box = inbox.page.locator("#text")
    box.fill("Halo Bu Rina")
    box.press("Enter")
    bubble = inbox.page.locator(".msg.mine", has_text="Halo Bu Rina")
    expect(bubble.locator(".tick")).to_have_attribute("data-status", "read")


def test_an_agent_links_a_username_customer_to_a_lead_by_the_phone_they_tell(
    open_inbox, agent, inbox_server
):
    from rooms.models import Room

    lead = LeadFactory(name="Bu Rina Kusuma", phone="6281234567077", outstanding="7500000")
    inbox = open_inbox(agent)
    _username_customer(
        inbox_server, "ID.2081978709342977", "Nomor saya 0812-3456-7077", username="rina77"
    )
    inbox.room_row("@rina77").click()
    panel = inbox.page.locator("#lead-panel")
    expect(panel).to_contain_text("This customer shows no phone number.")
    panel.locator("input[name=lead_phone]").fill("1234")
    panel.get_by_role("button", name="Link lead").click()
    expect(inbox.page.locator(".toast")).to_contain_text("phone")
    # Chrome logs the refused number's 400 as a failed load: the answer this step asks for.
    # The console message can come after the toast (it did on a loaded CI host): wait for it.
    for _ in range(200):
        refused = [e for e in inbox.errors if "status of 400" in e]
        if refused:
            break
        inbox.page.wait_for_timeout(50)
    assert len(refused) == 1, inbox.errors
    inbox.errors[:] = [e for e in inbox.errors if e not in refused]
    panel.locator("input[name=lead_phone]").fill("0812-3456-7077")
    panel.get_by_role("button", name="Link lead").click()
    expect(panel.locator(".outstanding")).to_have_text(re.compile(r"Rp\s?7\.500\.000"))
    assert Room.objects.get(user_id="ID.2081978709342977").lead_id == lead.id


def test_a_redrawn_lead_panel_keeps_what_the_agent_types_in_the_link_form(
    open_inbox, agent, inbox_server
):
    """The lead panel is redrawn by the room's events and the agent's own actions (here:
    claiming the room); the phone number half typed into "Link lead" stays."""
    inbox = open_inbox(agent)
    _username_customer(inbox_server, "ID.2081978709342978", "Halo", username="dewi78")
    inbox.room_row("@dewi78").click()
    panel = inbox.page.locator("#lead-panel")
    expect(panel).to_contain_text("This customer shows no phone number.")
    expect(panel).to_contain_text("Nobody yet")
    panel.locator("input[name=lead_phone]").fill("0812-3456")
    panel.get_by_role("button", name="Claim this room").click()
    expect(panel).not_to_contain_text("Nobody yet")  # the panel was redrawn
    expect(panel.locator("input[name=lead_phone]")).to_have_value("0812-3456")
