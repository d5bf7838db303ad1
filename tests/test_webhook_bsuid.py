"""Customers Meta names by business-scoped user ID (BSUID): signed webhooks with Meta's
shapes (tests/fixtures/whatsapp/bsuid_*.json, system_user_changed_*.json).

Meta's "Business-scoped user IDs" page: contacts[].user_id always, contacts[].wa_id and
messages[].from only when Meta shows the number, messages[].from_user_id, statuses[]
recipient_user_id, contacts[].profile.username. Meta's system-messages reference:
`user_changed_number` (system.wa_id the new number) and `user_changed_user_id` (the BSUID
changed, no number); since Aug 2026 both carry `system.previous_user_id` beside the new
values (Meta's changelog); `system.user_id` as the new BSUID is our reading,
Meta's page shows only the type.
"""

import copy
import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from django.utils import timezone

from boztell.realtime import SUPERVISORS_GROUP, user_group
from messaging.models import Message
from rooms.models import Room, RoomParticipant
from tests.factories import LeadFactory, MessageFactory, RoomFactory, UserFactory
from tests.helpers import load_fixture, signed_post

pytestmark = pytest.mark.django_db

BSUID = "ID.2081978709342942"
PHONE = "6281234567055"
SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def _post(body, **kwargs):
        from boztell.realtime import flush_events

        with django_capture_on_commit_callbacks(execute=True):
            response = signed_post(client, body, **kwargs)
        flush_events()
        return response

    return _post


def check_schema(name: str, data: dict) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.validate(
        json.loads(json.dumps(data)), schema, format_checker=jsonschema.FormatChecker()
    )


def handled(response) -> dict:
    return {k: v for k, v in response.json()["handled"].items() if v}


def _value(body):
    return body["entry"][0]["changes"][0]["value"]


def _bsuid_only(name: str, user_id: str = BSUID) -> dict:
    """A phone fixture as Meta sends it for a username customer: no wa_id, no from."""
    body = copy.deepcopy(load_fixture(name))
    value = _value(body)
    for contact in value.get("contacts", []):
        contact.pop("wa_id", None)
        contact["user_id"] = user_id
        contact.setdefault("profile", {})["username"] = "rina.kredit"
    for message in value.get("messages", []):
        message.pop("from", None)
        message["from_user_id"] = user_id
    return body


def test_a_username_customer_s_text_is_stored_in_a_room_known_by_bsuid(post, tap):
    listener = tap()
    response = post(load_fixture("bsuid_text"))
    assert response.status_code == 200, response.content
    assert handled(response) == {"messages_created": 1}
    message = Message.objects.get()
    assert message.user_id is None and message.status == "received"
    assert message.content_text == "Halo, saya mau tanya cicilan"
    assert message.metadata["from_user_id"] == BSUID
    room = message.room
    assert (room.phone, room.user_id, room.username) == (None, BSUID, "rina.kredit")
    assert room.display_title == "Rina Kusuma"
    assert room.message_count == 1
    events = listener.drain()
    assert [name for name, _ in events] == ["new_room_complete"]
    data = events[0][1]
    check_schema("new_room_complete", data)
    assert data["room_phone"] == "" and data["room_user_id"] == BSUID
    assert data["room_username"] == "rina.kredit" and data["room_title"] == "Rina Kusuma"


def test_without_a_profile_name_the_room_is_titled_by_username_never_by_bsuid(post):
    body = load_fixture("bsuid_text")
    del _value(body)["contacts"][0]["profile"]["name"]
    post(body)
    room = Room.objects.get()
    assert room.display_title == "@rina.kredit"
    assert BSUID not in room.display_title and "Unknown" not in room.display_title


def test_without_name_or_username_the_title_is_neither_unknown_nor_the_bsuid(post):
    body = load_fixture("bsuid_text")
    _value(body)["contacts"][0]["profile"] = {}
    post(body)
    title = Room.objects.get().display_title
    assert title and BSUID not in title and "Unknown" not in title


def test_the_message_is_kept_even_when_meta_sends_no_contacts_array(post):
    body = load_fixture("bsuid_text")
    del _value(body)["contacts"]
    assert post(body).status_code == 200
    assert Message.objects.get().room.user_id == BSUID


def test_a_message_with_neither_phone_nor_bsuid_is_skipped_with_a_reason(post):
    body = load_fixture("bsuid_text")
    del _value(body)["contacts"]
    del _value(body)["messages"][0]["from_user_id"]
    assert handled(post(body)) == {"skipped": 1}
    assert Message.objects.count() == 0


# Every type that works by phone works by BSUID alone.
TYPES = [
    "text",
    "image",
    "audio_voice",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive_button_reply",
    "interactive_list_reply",
    "button",
    "reply",
    "forwarded",
    "unsupported",
    "unknown_type",
]


@pytest.mark.parametrize("name", TYPES)
def test_every_inbound_type_works_by_bsuid_alone(post, name):
    phone_body = load_fixture(name)
    raw = _value(phone_body)["messages"][0]
    response = post(_bsuid_only(name))
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.wa_message_id == raw["id"] and message.user_id is None
    assert message.content_type == (raw["type"] if raw["type"] != "poll_v9" else "poll_v9")
    assert message.room.user_id == BSUID and message.room.phone is None


def test_a_reaction_by_bsuid_is_kept(post):
    post(_bsuid_only("reaction"))
    reaction = Message.objects.get(content_type="reaction")
    assert reaction.reaction_emoji == "\U0001f44d" and reaction.room.user_id == BSUID


def test_a_redelivery_stores_nothing_new_and_emits_nothing(post, tap):
    post(load_fixture("bsuid_text"))
    listener = tap()
    response = post(load_fixture("bsuid_text"))
    assert handled(response) == {"messages_duplicate": 1}
    assert Message.objects.count() == 1 and Room.objects.get().message_count == 1
    assert listener.drain() == []


def test_later_messages_go_to_the_same_room_in_bulk(post, tap):
    post(load_fixture("bsuid_text"))
    listener = tap()
    body = load_fixture("bsuid_text")
    first = _value(body)["messages"][0]
    _value(body)["messages"] = [
        {**first, "id": f"wamid.BSUID-BULK-{i}", "text": {"body": f"pesan {i}"}} for i in range(3)
    ]
    assert handled(post(body)) == {"messages_created": 3}
    room = Room.objects.get()
    assert room.message_count == 4 and room.last_message_text == "pesan 2"
    assert [name for name, _ in listener.drain()] == ["new_message"] * 3


def test_a_status_addressed_by_recipient_user_id_only_moves_forward(post, agent, tap):
    room = RoomFactory(phone=None, user_id=BSUID, title="Rina")
    message = MessageFactory(
        room=room, user=agent, wa_message_id="wamid.OUTBOUND-BSUID-1", status="sent"
    )
    listener = tap()
    assert handled(post(load_fixture("bsuid_status_delivered"))) == {"statuses_updated": 1}
    message.refresh_from_db()
    assert message.status == "delivered"
    read = load_fixture("bsuid_status_delivered")
    _value(read)["statuses"][0].update(status="read", timestamp="1764000400")
    post(read)
    post(load_fixture("bsuid_status_delivered"))  # late: ignored
    message.refresh_from_db()
    assert message.status == "read"
    statuses = [data["status"] for name, data in listener.drain() if name == "message_status"]
    assert statuses == ["delivered", "read"]


# --- one room per person --------------------------------------------------------------


def test_a_person_first_seen_by_bsuid_who_later_shows_a_phone_keeps_one_room(post):
    post(load_fixture("bsuid_text"))
    post(load_fixture("bsuid_text_with_phone"))
    room = Room.objects.get()
    assert (room.phone, room.user_id) == (PHONE, BSUID)
    assert room.message_count == 2 and Message.objects.filter(room=room).count() == 2


def test_a_person_known_by_phone_learns_the_bsuid_and_then_writes_without_phone(post):
    phone_room = RoomFactory(phone=PHONE, title="Rina")
    post(load_fixture("bsuid_text_with_phone"))
    post(load_fixture("bsuid_text"))
    room = Room.objects.get()
    assert room.pk == phone_room.pk and room.user_id == BSUID and room.phone == PHONE
    assert room.message_count == 2


def test_a_known_phone_room_gets_the_lead_when_a_bsuid_room_learns_the_phone(post):
    lead = LeadFactory(phone=PHONE, name="Rina Lead")
    post(load_fixture("bsuid_text"))
    post(load_fixture("bsuid_text_with_phone"))
    room = Room.objects.get()
    assert room.lead == lead and room.display_title == "Rina Lead"


def test_two_rooms_proven_one_person_are_merged_into_the_older_with_everything(post, tap):
    agent, supervisor_reader = UserFactory(), UserFactory()
    lead = LeadFactory(name="Rina Lead")
    older = RoomFactory(phone=PHONE, title="Rina (phone)")
    newer = RoomFactory(phone=None, user_id=BSUID, title="", username="rina.kredit", lead=lead)
    Room.objects.filter(pk=newer.pk).update(created_at=older.created_at + timedelta(hours=1))
    now = timezone.now()
    MessageFactory(room=older, user=None, wa_message_id="wamid.OLD-1")
    MessageFactory(room=newer, user=None, wa_message_id="wamid.NEW-1")
    Room.objects.filter(pk=older.pk).update(message_count=1)
    Room.objects.filter(pk=newer.pk).update(message_count=1, last_message_at=now)
    RoomParticipant.objects.create(room=newer, user=agent, is_assigned=True, assigned_at=now)
    RoomParticipant.objects.create(
        room=newer, user=supervisor_reader, is_assigned=False, last_read_at=now
    )
    listener, assignee = tap(SUPERVISORS_GROUP), tap(user_group(agent.pk))
    post(load_fixture("bsuid_text_with_phone"))
    room = Room.objects.get()
    assert room.pk == older.pk
    assert (room.phone, room.user_id, room.username) == (PHONE, BSUID, "rina.kredit")
    assert room.lead == lead, "the lead linked to the other room survives the merge"
    assert Message.objects.filter(room=room).count() == 3 and room.message_count == 3
    assigned = RoomParticipant.objects.get(room=room, is_assigned=True)
    assert assigned.user == agent
    assert RoomParticipant.objects.get(room=room, user=supervisor_reader).last_read_at == now
    events = listener.drain()
    merged = [data for name, data in events if name == "room_merged"]
    assert len(merged) == 1
    check_schema("room_merged", merged[0])
    assert merged[0]["from_room_id"] == str(newer.pk)
    assert merged[0]["into_room_id"] == str(older.pk)
    assert [name for name, _ in events if name == "new_message"] == ["new_message"]
    assert "room_merged" in [name for name, _ in assignee.drain()]


# --- user changes ---------------------------------------------------------------------


def test_user_changed_number_moves_the_room_to_the_new_number_and_bsuid(post):
    post(load_fixture("bsuid_text_with_phone"))
    room = Room.objects.get()
    post(load_fixture("system_user_changed_number_bsuid"))
    room.refresh_from_db()
    assert room.phone == "6281234567066" and room.user_id == "ID.3091978709342999"
    assert Message.objects.filter(room=room).count() == 2, "nothing orphaned"
    new_number = load_fixture("text")
    _value(new_number)["contacts"][0]["wa_id"] = "6281234567066"
    _value(new_number)["messages"][0]["from"] = "6281234567066"
    post(new_number)
    assert Room.objects.count() == 1 and Room.objects.get().message_count == 3


def test_user_changed_user_id_moves_the_bsuid_and_later_messages_find_the_room(post):
    post(load_fixture("bsuid_text"))
    post(load_fixture("system_user_changed_user_id"))
    room = Room.objects.get()
    assert room.user_id == "ID.4101978709343000"
    post(_bsuid_only("text", user_id="ID.4101978709343000"))
    assert Room.objects.count() == 1
    assert Room.objects.get().message_count == 3


def test_a_user_change_onto_an_id_another_room_holds_merges_them(post):
    post(load_fixture("bsuid_text_with_phone"))
    other = RoomFactory(phone="6281234567066", title="Rina new")
    post(load_fixture("system_user_changed_number_bsuid"))
    assert Room.objects.count() == 1
    room = Room.objects.get()
    assert room.phone == "6281234567066" and Message.objects.filter(room=room).count() == 2
    assert room.pk != other.pk or room.user_id == "ID.3091978709342999"


def test_the_sqlite_style_one_at_a_time_path_handles_bsuid_customers_too(post, monkeypatch):
    from messaging.services import updates

    monkeypatch.setattr(updates, "_bulk_kind", lambda update: None)
    post(load_fixture("bsuid_text"))
    post(load_fixture("bsuid_text"))
    post(load_fixture("bsuid_text_with_phone"))
    room = Room.objects.get()
    assert (room.phone, room.user_id, room.message_count) == (PHONE, BSUID, 2)


def test_a_user_change_that_names_the_previous_bsuid_moves_that_room_not_a_new_one(post):
    """Meta's changelog (Aug 2026): the change carries system.previous_user_id beside the new
    values, and the message's own sender may already be the new BSUID."""
    post(load_fixture("bsuid_text"))
    old_room = Room.objects.get()
    post(load_fixture("system_user_changed_user_id_with_previous"))
    assert Room.objects.count() == 1
    room = Room.objects.get()
    assert room.pk == old_room.pk and room.user_id == "ID.4101978709343000"
    assert room.message_count == 2
    post(_bsuid_only("text", user_id="ID.4101978709343000"))
    assert Room.objects.count() == 1
