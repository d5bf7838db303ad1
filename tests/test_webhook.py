"""POST /webhooks/whatsapp with real-shaped bodies (tests/fixtures/whatsapp/*.json)."""

import copy
import json

import pytest

from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP, room_group
from messaging.models import Message, PendingStatus
from rooms.models import Room
from tests.factories import LeadFactory, MessageFactory, RoomFactory, UserFactory
from tests.helpers import load_fixture, signed_post

pytestmark = pytest.mark.django_db

CUSTOMER = "6281234567001"


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def _post(body, **kwargs):
        from boztell.realtime import flush_events

        with django_capture_on_commit_callbacks(execute=True):
            response = signed_post(client, body, **kwargs)
        flush_events()
        return response

    return _post


# --- verification -----------------------------------------------------------------------


def test_verification_handshake_echoes_the_challenge(client, settings):
    response = client.get(
        "/webhooks/whatsapp",
        {
            "hub.mode": "subscribe",
            "hub.verify_token": settings.WHATSAPP_VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_verification_with_anything_else_is_403(client, params):
    response = client.get("/webhooks/whatsapp", params)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "verification_failed"


# --- signature --------------------------------------------------------------------------


def test_missing_signature_is_401_and_stores_nothing(client, tap):
    listener = tap()
    raw = json.dumps(load_fixture("text")).encode()
    response = client.post("/webhooks/whatsapp", data=raw, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_signature"
    assert Message.objects.count() == 0 and Room.objects.count() == 0
    assert listener.drain() == []


def test_wrong_signature_is_401_and_stores_nothing(post, tap):
    listener = tap()
    response = post(load_fixture("text"), secret="not-the-app-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert Message.objects.count() == 0 and Room.objects.count() == 0
    assert listener.drain() == []


def test_signature_over_a_different_body_is_refused(client, settings):
    from webhooks.signature import signature_for

    signed = json.dumps(load_fixture("text")).encode()
    tampered = signed.replace(b"pinjaman", b"PINJAMAN")
    response = client.post(
        "/webhooks/whatsapp",
        data=tampered,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature_for(signed, settings.WHATSAPP_APP_SECRET),
    )
    assert response.status_code == 401
    assert Message.objects.count() == 0


# --- every inbound type -----------------------------------------------------------------

EXPECTED = {
    "text": {"content_type": "text", "content_text": "Halo, saya mau tanya soal pinjaman"},
    "image": {
        "content_type": "image",
        "content_text": "Foto KTP saya",
        "media_type": "image",
        "media_id": "1479537139650973",
        "mime_type": "image/jpeg",
    },
    "audio_voice": {
        "content_type": "audio",
        "content_text": "Voice message",
        "media_type": "audio",
        "media_id": "1479537139650974",
        "mime_type": "audio/ogg; codecs=opus",
    },
    "video": {"content_type": "video", "content_text": "Video rumah", "media_type": "video"},
    "document": {
        "content_type": "document",
        "content_text": "Slip gaji Oktober",
        "media_type": "document",
        "original_filename": "slip-gaji-oktober.pdf",
        "mime_type": "application/pdf",
    },
    "sticker": {"content_type": "sticker", "media_type": "sticker", "mime_type": "image/webp"},
    "location": {
        "content_type": "location",
        "content_text": "Kantor Cabang Sudirman, Jl. Jend. Sudirman No. 1, Jakarta",
    },
    "contacts": {"content_type": "contacts", "content_text": "Contact: Budi Santoso"},
    "interactive_button_reply": {
        "content_type": "interactive",
        "content_text": "Bayar sekarang",
        "reply_to_wa_message_id": "wamid.OUTBOUND-INTERACTIVE-1",
    },
    "interactive_list_reply": {"content_type": "interactive", "content_text": "Tenor 12 bulan"},
    "button": {
        "content_type": "button",
        "content_text": "Sudah transfer",
        "reply_to_wa_message_id": "wamid.OUTBOUND-TEMPLATE-1",
    },
    "reply": {
        "content_type": "text",
        "content_text": "Iya, benar",
        "reply_to_wa_message_id": "wamid.OUTBOUND-TEXT-1",
    },
    "forwarded": {"content_type": "text", "reply_to_wa_message_id": None},
    "system": {"content_type": "system"},
    "unsupported": {"content_type": "unsupported", "content_text": "Message type unknown"},
    "unknown_type": {"content_type": "poll_v9", "content_text": "Unsupported message (poll_v9)"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_inbound_type_becomes_a_customer_message(post, name):
    body = load_fixture(name)
    response = post(body)
    assert response.status_code == 200, response.content
    message = Message.objects.get()
    raw = body["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message.wa_message_id == raw["id"]
    assert message.user_id is None
    # A user_changed_number system message moves the room to the customer's new number.
    assert message.room.phone == ("6281234567999" if name == "system" else CUSTOMER)
    assert message.status == "received"
    for column, value in EXPECTED[name].items():
        assert getattr(message, column) == value, column


def test_location_keeps_coordinates_name_and_address(post):
    post(load_fixture("location"))
    location = Message.objects.get().metadata["location"]
    assert location["latitude"] == -6.2087634 and location["longitude"] == 106.845599
    assert location["name"] == "Kantor Cabang Sudirman"
    assert location["address"].startswith("Jl. Jend. Sudirman")


def test_forwarded_unsupported_system_and_list_details_are_kept(post):
    for name in ("forwarded", "unsupported", "system", "interactive_list_reply", "contacts"):
        post(load_fixture(name))
    by_type = {m.wa_message_id[-10:]: m.metadata for m in Message.objects.all()}
    forwarded = next(m for k, m in by_type.items() if k.startswith("FWD"))
    assert forwarded["forwarded"] is True and forwarded["frequently_forwarded"] is True
    unsupported = next(m for k, m in by_type.items() if k.startswith("UNSUP"))
    assert unsupported["errors"][0]["code"] == 131051
    system = next(m for k, m in by_type.items() if k.startswith("SYS"))
    assert system["system"]["type"] == "user_changed_number"
    listed = next(m for k, m in by_type.items() if k.startswith("LSTRP"))
    assert listed["interactive"]["list_reply"]["id"] == "tenor_12"
    contact = next(m for k, m in by_type.items() if k.startswith("CONT"))
    assert contact["contacts"][0]["phones"][0]["wa_id"] == "6281311112222"


def test_reaction_sets_then_removal_clears_it(post, tap):
    listener = tap()
    post(load_fixture("reaction"))
    reaction = Message.objects.get(content_type="reaction")
    assert reaction.reaction_emoji == "\U0001f44d"
    assert reaction.reaction_to_wa_message_id == "wamid.OUTBOUND-TEXT-1"
    post(load_fixture("reaction_removed"))
    reaction.refresh_from_db()
    assert reaction.reaction_emoji is None, "a removal clears the reaction"
    removal = Message.objects.get(wa_message_id__endswith="REACT2AA==")
    assert removal.reaction_emoji is None
    events = listener.drain()
    assert [e for e, _ in events] == ["message_reaction", "message_reaction"]
    assert events[0][1]["reaction_emoji"] == "\U0001f44d"
    assert events[1][1]["reaction_emoji"] is None
    room = Room.objects.get()
    assert room.message_count == 0, "reactions do not count as messages in the room list"


def test_a_late_older_reaction_does_not_override_the_newer_one(post):
    post(load_fixture("reaction_removed"))
    post(load_fixture("reaction"))  # older timestamp, delivered late
    assert not Message.objects.filter(reaction_emoji__isnull=False).exists()


# --- batches ------------------------------------------------------------------------------


def _text(wamid, text, wa_id=CUSTOMER, ts="1764000000"):
    return {
        "from": wa_id,
        "id": wamid,
        "timestamp": ts,
        "type": "text",
        "text": {"body": text},
    }


def test_every_item_in_a_batch_is_handled_in_order(post):
    outbound = MessageFactory(
        room=RoomFactory(phone="6281234567002"),
        user=UserFactory(),
        wa_message_id="wamid.OUT-1",
        status="sent",
    )
    body = load_fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"] = [_text(f"wamid.BATCH-{i}", f"message {i}") for i in range(5)]
    second_change = copy.deepcopy(body["entry"][0]["changes"][0])
    second_change["value"]["contacts"] = [{"profile": {"name": "Rudi"}, "wa_id": "6281234567002"}]
    second_change["value"]["messages"] = [_text("wamid.BATCH-R", "from Rudi", "6281234567002")]
    second_change["value"]["statuses"] = [
        {
            "id": "wamid.OUT-1",
            "status": "delivered",
            "timestamp": "1764000001",
            "recipient_id": "6281234567002",
        },
        {
            "id": "wamid.OUT-1",
            "status": "read",
            "timestamp": "1764000002",
            "recipient_id": "6281234567002",
        },
    ]
    body["entry"][0]["changes"].append(second_change)
    third_entry = copy.deepcopy(body["entry"][0])
    third_entry["changes"] = [copy.deepcopy(body["entry"][0]["changes"][0])]
    third_entry["changes"][0]["value"]["messages"] = [_text("wamid.BATCH-9", "third entry")]
    body["entry"].append(third_entry)

    response = post(body)
    assert response.status_code == 200
    texts = list(
        Message.objects.filter(room__phone=CUSTOMER)
        .order_by("created_at", "id")
        .values_list("content_text", flat=True)
    )
    assert texts == [f"message {i}" for i in range(5)] + ["third entry"]
    assert Message.objects.filter(content_text="from Rudi").exists()
    outbound.refresh_from_db()
    assert outbound.status == "read"
    assert response.json()["handled"]["messages_created"] == 7
    assert response.json()["handled"]["statuses_updated"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_one_thousand_messages_is_stored_whole_and_announced_in_order(client, tap):
    listener = tap(AGENTS_GROUP)
    body = load_fixture("text")
    body["entry"][0]["changes"][0]["value"]["messages"] = [
        _text(f"wamid.K-{i:04d}", f"m{i}") for i in range(1000)
    ]
    response = signed_post(client, body)
    assert response.status_code == 200
    assert Message.objects.count() == 1000
    room = Room.objects.get()
    assert room.message_count == 1000
    assert room.last_message_text == "m999"
    events = listener.drain()
    assert events[0][0] == "new_room_complete"
    assert events[0][1]["last_message"]["content_text"] == "m0"
    assert [d["content_text"] for _, d in events[1:]] == [f"m{i}" for i in range(1, 1000)]


def test_a_batch_mixing_known_and_new_customers_and_a_repeat_keeps_order_and_once(post, tap):
    """Customer messages into existing rooms are stored in bulk; a new customer's first
    message still makes one room and one new_room_complete, in its place in the order."""
    known = RoomFactory(phone=CUSTOMER, title=CUSTOMER, message_count=0)
    new_customer = "6281234567009"
    listener = tap(AGENTS_GROUP)
    body = load_fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] = [
        {"profile": {"name": "Dewi Lestari"}, "wa_id": CUSTOMER},
        {"profile": {"name": "Budi"}, "wa_id": new_customer},
    ]
    value["messages"] = [
        _text("wamid.MIX-A1", "a1"),
        _text("wamid.MIX-B1", "b1", new_customer),
        _text("wamid.MIX-A2", "a2"),
        _text("wamid.MIX-A1", "a1 again"),
        _text("wamid.MIX-B2", "b2", new_customer),
    ]
    response = post(body)
    handled = response.json()["handled"]
    assert handled == {"messages_created": 4, "messages_duplicate": 1, "skipped": 0}
    events = [
        (name, data.get("content_text") or data["last_message"]["content_text"])
        for name, data in listener.drain()
    ]
    assert events == [
        ("new_message", "a1"),
        ("new_room_complete", "b1"),
        ("new_message", "a2"),
        ("new_message", "b2"),
    ]
    known.refresh_from_db()
    assert known.message_count == 2 and known.last_message_text == "a2"
    assert known.title == "Dewi Lestari"  # the phone as a title gives way to the profile name
    assert list(Message.objects.filter(room=known).values_list("content_text", flat=True)) == [
        "a1",
        "a2",
    ]
    budi = Room.objects.get(phone=new_customer)
    assert budi.title == "Budi" and budi.message_count == 2 and budi.last_message_text == "b2"
    assert list(Message.objects.filter(room=budi).values_list("content_text", flat=True)) == [
        "b1",
        "b2",
    ]


# --- room and lead ------------------------------------------------------------------------


def test_room_links_the_lead_with_the_same_number_however_it_was_typed(post):
    lead = LeadFactory(name="Dewi Lestari (lead)", phone="6281234567001")
    post(load_fixture("text"))
    room = Room.objects.get()
    assert room.lead == lead
    assert room.title == "Dewi Lestari (lead)"


def test_room_without_a_lead_takes_the_profile_name_else_the_phone(post):
    post(load_fixture("text"))
    assert Room.objects.get(phone=CUSTOMER).title == "Dewi Lestari"
    body = load_fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    del value["contacts"]
    value["messages"] = [_text("wamid.NOPROFILE", "hi", "6281299999999")]
    post(body)
    assert Room.objects.get(phone="6281299999999").title == "6281299999999"


def test_later_messages_go_to_the_same_room(post):
    post(load_fixture("text"))
    post(load_fixture("image"))
    assert Room.objects.count() == 1
    room = Room.objects.get()
    assert room.message_count == 2
    assert room.last_message_type == "image"
    assert room.last_message_text == "Foto KTP saya"
    assert room.last_customer_message_at is not None


# --- exactly once -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["text", "reaction", "image"])
def test_a_redelivered_update_changes_nothing_and_emits_nothing(post, tap, name, fake_graph):
    fake_graph.media["1479537139650973"] = (b"\xff\xd8jpeg", "image/jpeg")
    post(load_fixture(name))
    listener = tap()
    before = list(Message.objects.values())
    room_before = list(Room.objects.values())
    response = post(load_fixture(name))
    assert response.status_code == 200
    assert list(Message.objects.values()) == before
    assert list(Room.objects.values()) == room_before
    assert listener.drain() == []


def test_a_redelivered_status_changes_nothing_and_emits_nothing(post, tap):
    MessageFactory(
        wa_message_id="wamid.OUTBOUND-TEXT-1",
        user=UserFactory(),
        status="sent",
        room=RoomFactory(phone=CUSTOMER),
    )
    post(load_fixture("status_delivered"))
    listener = tap()
    snapshot = list(Message.objects.values())
    post(load_fixture("status_delivered"))
    assert list(Message.objects.values()) == snapshot
    assert listener.drain() == []


# --- statuses -----------------------------------------------------------------------------


@pytest.fixture
def outbound(agent):
    room = RoomFactory(phone=CUSTOMER)
    return MessageFactory(
        room=room, user=agent, wa_message_id="wamid.OUTBOUND-TEXT-1", status="pending"
    )


def test_statuses_move_forward_only(post, outbound):
    post(load_fixture("status_read"))
    outbound.refresh_from_db()
    assert outbound.status == "read"
    read_at = outbound.status_timestamp
    for late in ("status_sent", "status_delivered"):
        post(load_fixture(late))
        outbound.refresh_from_db()
        assert outbound.status == "read"
        assert outbound.status_timestamp == read_at


def test_sent_keeps_pricing_and_conversation(post, outbound):
    post(load_fixture("status_sent"))
    outbound.refresh_from_db()
    assert outbound.status == "sent"
    assert outbound.metadata["pricing"]["category"] == "service"
    assert outbound.metadata["conversation"]["id"] == "c0nv3rs4t10n"
    assert outbound.status_timestamp.timestamp() == 1764000010


def test_failed_keeps_metas_error_and_a_late_sent_never_overwrites_it(post, outbound, tap):
    listener = tap()
    post(load_fixture("status_failed"))
    post(load_fixture("status_sent"))
    outbound.refresh_from_db()
    assert outbound.status == "failed"
    error = outbound.metadata["error"]
    assert error["code"] == 131047
    assert error["title"] == "Re-engagement message"
    assert error["message"] == "Re-engagement message"
    assert "24 hours" in error["details"]
    events = listener.drain()
    assert [e for e, _ in events] == ["message_status"]
    assert events[0][1]["status"] == "failed" and events[0][1]["error"]["code"] == 131047


def _status(wamid, status, ts, **extra):
    return {"id": wamid, "status": status, "timestamp": ts, "recipient_id": CUSTOMER, **extra}


def test_a_batch_of_statuses_moves_each_message_forward_in_order_once(
    post, tap, agent, other_agent
):
    """Statuses of a body are applied together: each message only forward, one event per
    step forward (in order, to the room's agents), nothing for a repeat or a late one; a
    status for a message not stored yet is kept."""
    from boztell.realtime import user_group
    from messaging.models import PendingStatus
    from tests.factories import RoomParticipantFactory

    room = RoomFactory(phone=CUSTOMER)
    RoomParticipantFactory(room=room, user=agent)
    first = MessageFactory(room=room, user=agent, wa_message_id="wamid.B-1", status="pending")
    second = MessageFactory(room=room, user=agent, wa_message_id="wamid.B-2", status="sent")
    mine, theirs = tap(user_group(agent.id)), tap(user_group(other_agent.id))
    body = load_fixture("status_sent")
    error = load_fixture("status_failed")["entry"][0]["changes"][0]["value"]["statuses"][0]
    body["entry"][0]["changes"][0]["value"]["statuses"] = [
        _status("wamid.B-1", "sent", "1764000001"),
        _status("wamid.B-1", "delivered", "1764000002"),
        _status("wamid.B-2", "failed", "1764000003", errors=error["errors"]),
        _status("wamid.B-1", "delivered", "1764000002"),  # Meta's repeat
        _status("wamid.B-1", "read", "1764000004"),
        _status("wamid.B-1", "sent", "1764000001"),  # late
        _status("wamid.B-9", "sent", "1764000005"),  # not stored yet
    ]
    handled = post(body).json()["handled"]
    assert handled == {
        "statuses_updated": 4,
        "statuses_unchanged": 2,
        "statuses_pending": 1,
        "skipped": 0,
    }
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "read" and first.status_timestamp.timestamp() == 1764000004
    assert second.status == "failed"
    assert second.metadata["error"]["code"] == error["errors"][0]["code"]
    assert PendingStatus.objects.filter(wa_message_id="wamid.B-9", status="sent").exists()
    steps = [(d["wa_message_id"], d["status"]) for e, d in mine.drain() if e == "message_status"]
    assert steps == [
        ("wamid.B-1", "sent"),
        ("wamid.B-1", "delivered"),
        ("wamid.B-2", "failed"),
        ("wamid.B-1", "read"),
    ]
    assert theirs.drain() == []


def test_a_status_for_an_unknown_message_is_kept_and_applied_when_it_is_stored(post, agent):
    from django.db import transaction

    from messaging.services import message_apply_pending_statuses

    post(load_fixture("status_delivered"))
    post(load_fixture("status_sent"))
    post(load_fixture("status_sent"))  # redelivered: kept once
    assert PendingStatus.objects.count() == 2
    message = MessageFactory(
        room=RoomFactory(phone=CUSTOMER),
        user=agent,
        wa_message_id="wamid.OUTBOUND-TEXT-1",
        status="pending",
    )
    with transaction.atomic():
        message_apply_pending_statuses(message=message)
    message.refresh_from_db()
    assert message.status == "delivered"
    assert PendingStatus.objects.count() == 0


# --- events -------------------------------------------------------------------------------


def test_first_message_emits_one_new_room_complete_with_lead_and_message(post, tap):
    LeadFactory(name="Dewi L.", phone=CUSTOMER, outstanding="12500000.00")
    listener = tap()
    post(load_fixture("text"))
    events = listener.drain()
    assert [e for e, _ in events] == ["new_room_complete"]
    data = events[0][1]
    room = Room.objects.get()
    message = Message.objects.get()
    assert data["room_id"] == str(room.id)
    assert data["room_phone"] == CUSTOMER
    assert data["room_title"] == "Dewi L."
    assert data["leads_info"]["name"] == "Dewi L."
    assert data["leads_info"]["outstanding"] == 12500000.0
    assert data["last_message"]["id"] == str(message.id)
    assert data["last_message"]["wa_message_id"] == message.wa_message_id
    assert data["last_message"]["user_id"] is None
    assert data["last_message_text"] == "Halo, saya mau tanya soal pinjaman"
    assert data["unread_count"] == 1 and data["message_count"] == 1
    assert data["participants"] == []


def test_later_messages_emit_new_message_and_room_new_message(post, tap):
    post(load_fixture("text"))
    room = Room.objects.get()
    listener = tap(AGENTS_GROUP)
    in_room = tap(room_group(room.id))
    post(load_fixture("reply"))
    events = listener.drain()
    assert [e for e, _ in events] == ["new_message"]
    payload = events[0][1]
    assert payload["room_id"] == str(room.id)
    assert payload["content_text"] == "Iya, benar"
    assert payload["user_id"] is None
    assert set(payload) >= {
        "id",
        "wa_message_id",
        "status",
        "metadata",
        "created_at",
        "updated_at",
        "media_id",
        "gcs_url",
        "reply_to_wa_message_id",
    }
    assert in_room.drain() == [("room:new_message", payload)]


def test_events_for_an_assigned_room_reach_only_its_agent_and_supervisors(
    post, tap, agent, other_agent
):
    from boztell.realtime import user_group
    from tests.factories import RoomParticipantFactory

    post(load_fixture("text"))
    RoomParticipantFactory(room=Room.objects.get(), user=agent)
    mine, theirs, bosses, everyone = (
        tap(user_group(agent.id)),
        tap(user_group(other_agent.id)),
        tap(SUPERVISORS_GROUP),
        tap(AGENTS_GROUP),
    )
    post(load_fixture("reply"))
    assert [e for e, _ in mine.drain()] == ["new_message"]
    assert [e for e, _ in bosses.drain()] == ["new_message"]
    assert theirs.drain() == []
    assert everyone.drain() == []


# --- bad input ----------------------------------------------------------------------------


def _signed_raw(client, raw: bytes, content_type="application/json"):
    from django.conf import settings

    from webhooks.signature import signature_for

    return client.post(
        "/webhooks/whatsapp",
        data=raw,
        content_type=content_type,
        HTTP_X_HUB_SIGNATURE_256=signature_for(raw, settings.WHATSAPP_APP_SECRET),
    )


@pytest.mark.parametrize(
    "raw, status, code",
    [
        (b"{not json", 400, "malformed_json"),
        ('{"object": "whatsapp_business_account"}'.encode("utf-16"), 400, "malformed_json"),
        (b'{"text": "\xff\xfe"}', 400, "malformed_json"),
        (b"[1, 2]", 400, "invalid_envelope"),
        (b'{"object": "whatsapp_business_account"}', 400, "invalid_envelope"),
        (b'{"object": "whatsapp_business_account", "entry": {}}', 400, "invalid_envelope"),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(client, raw, status, code):
    response = _signed_raw(client, raw)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert Message.objects.count() == 0


def test_another_object_is_acknowledged_and_ignored(client):
    response = _signed_raw(client, b'{"object": "page", "entry": []}')
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"


def test_wrong_content_type_is_415(client):
    raw = json.dumps(load_fixture("text")).encode()
    response = _signed_raw(client, raw, content_type="text/plain")
    assert response.status_code == 415
    assert Message.objects.count() == 0


def test_a_body_over_3_mb_is_413(client):
    body = load_fixture("text")
    body["padding"] = "x" * (3 * 1024 * 1024)
    response = _signed_raw(client, json.dumps(body).encode())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_unknown_fields_are_ignored_and_items_without_ids_are_skipped(post):
    body = load_fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    value["brand_new_field"] = {"x": 1}
    value["messages"][0]["future_flag"] = True
    value["messages"].append({"type": "text", "text": {"body": "no id, no sender"}})
    value["statuses"] = [{"status": "read"}]
    response = post(body)
    assert response.status_code == 200
    assert Message.objects.count() == 1
    assert response.json()["handled"]["skipped"] == 2


def test_a_field_other_than_messages_is_acknowledged(post):
    body = load_fixture("text")
    body["entry"][0]["changes"][0]["field"] = "message_template_status_update"
    response = post(body)
    assert response.status_code == 200
    assert Message.objects.count() == 0


def test_a_bad_sender_number_is_skipped_not_a_500(post):
    body = load_fixture("text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "not-a-number"
    response = post(body)
    assert response.status_code == 200
    assert Message.objects.count() == 0 and Room.objects.count() == 0
