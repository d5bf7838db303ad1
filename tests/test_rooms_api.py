"""GET /rooms/, /rooms/{id}, /rooms/{id}/messages, POST /rooms/{id}/assign; search."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import Message
from tests.factories import LeadFactory, MessageFactory, RoomFactory, RoomParticipantFactory

pytestmark = pytest.mark.django_db


def _room(phone, minutes_ago, title="", lead=None, customer_messages=1):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    room = RoomFactory(
        phone=phone,
        title=title or phone,
        lead=lead,
        last_message_at=at,
        last_customer_message_at=at,
        message_count=customer_messages,
        last_message_text=f"last in {phone}",
    )
    for i in range(customer_messages):
        MessageFactory(room=room, content_text=f"pesan {i} {title}")
    return room


@pytest.fixture
def rooms(agent, other_agent):
    mine = _room("6281100000001", 5, "Mine", customer_messages=2)
    theirs = _room("6281100000002", 1, "Theirs")
    free = _room(
        "6281100000003", 10, "Free", lead=LeadFactory(name="Siti Lead", phone="6281100000003")
    )
    RoomParticipantFactory(room=mine, user=agent)
    RoomParticipantFactory(room=theirs, user=other_agent)
    return {"mine": mine, "theirs": theirs, "free": free}


def _titles(response):
    assert response.status_code == 200, response.content
    return [r["room_title"] for r in response.json()["results"]]


def test_agents_see_their_rooms_and_unassigned_ones_latest_first(agent_api, rooms):
    assert _titles(agent_api.get("/rooms/")) == ["Mine", "Siti Lead"]


def test_supervisors_see_every_room(supervisor_api, rooms):
    assert _titles(supervisor_api.get("/rooms/")) == ["Theirs", "Mine", "Siti Lead"]


def test_filters_mine_unassigned_unread(agent_api, agent, rooms):
    assert _titles(agent_api.get("/rooms/", {"filter": "mine"})) == ["Mine"]
    assert _titles(agent_api.get("/rooms/", {"filter": "unassigned"})) == ["Siti Lead"]
    RoomParticipantFactory(
        room=rooms["free"], user=agent, is_assigned=False, last_read_at=timezone.now()
    )
    assert _titles(agent_api.get("/rooms/", {"filter": "unread"})) == ["Mine"]
    bad = agent_api.get("/rooms/", {"filter": "everything"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


def test_room_rows_carry_the_seed_fields_lead_and_unread(agent_api, rooms):
    rows = {r["room_title"]: r for r in agent_api.get("/rooms/").json()["results"]}
    assert rows["Mine"]["unread_count"] == 2
    assert rows["Siti Lead"]["leads_info"]["name"] == "Siti Lead"
    assert rows["Mine"]["participants"][0]["username"] == "agent-a"
    for key in (
        "room_id",
        "room_phone",
        "room_title",
        "room_created_at",
        "room_updated_at",
        "leads_id",
        "leads_info",
        "last_message_text",
        "last_message_timestamp",
        "last_message_type",
        "unread_count",
        "message_count",
        "participants",
    ):
        assert key in rows["Mine"]


def test_search_by_name_phone_spelling_and_message_text(agent_api, rooms):
    assert _titles(agent_api.get("/rooms/", {"q": "siti"})) == ["Siti Lead"]
    assert _titles(agent_api.get("/rooms/", {"q": "0811-0000-0001"})) == ["Mine"]
    assert _titles(agent_api.get("/rooms/", {"q": "pesan 1"})) == ["Mine"]


def test_other_agents_room_is_not_found_for_an_agent(agent_api, rooms):
    assert agent_api.get(f"/rooms/{rooms['theirs'].id}").status_code == 404
    assert agent_api.get(f"/rooms/{rooms['theirs'].id}/messages").status_code == 404
    assert agent_api.get(f"/rooms/{rooms['mine'].id}").status_code == 200


def test_room_list_query_count_is_constant_in_rooms_and_messages(agent_api, agent):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert agent_api.get("/rooms/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        room = _room(f"628120000{i:04d}", i, f"R{i}", customer_messages=2)
        RoomParticipantFactory(room=room, user=agent)
    few = count_queries()
    for i in range(3, 40):
        room = _room(f"628120000{i:04d}", i, f"R{i}", customer_messages=3)
        RoomParticipantFactory(room=room, user=agent)
    assert count_queries() == few


def test_room_messages_page_back_with_a_stable_cursor(agent_api, rooms):
    room = rooms["mine"]
    Message.objects.filter(room=room).delete()
    base = timezone.now() - timedelta(hours=1)
    for i in range(120):
        message = MessageFactory(room=room, content_text=f"m{i:03d}")
        Message.objects.filter(pk=message.pk).update(created_at=base + timedelta(seconds=i))
    first = agent_api.get(f"/rooms/{room.id}/messages").json()
    assert [m["content_text"] for m in first["results"]] == [f"m{i:03d}" for i in range(70, 120)]
    MessageFactory(room=room, content_text="arrived meanwhile")  # must not shift pages
    second = agent_api.get(f"/rooms/{room.id}/messages", {"before": first["older_cursor"]}).json()
    assert [m["content_text"] for m in second["results"]] == [f"m{i:03d}" for i in range(20, 70)]
    third = agent_api.get(f"/rooms/{room.id}/messages", {"before": second["older_cursor"]}).json()
    assert [m["content_text"] for m in third["results"]] == [f"m{i:03d}" for i in range(20)]
    assert third["older_cursor"] is None
    newer = agent_api.get(f"/rooms/{room.id}/messages", {"after": first["newer_cursor"]}).json()
    assert [m["content_text"] for m in newer["results"]] == ["arrived meanwhile"]
    bad = agent_api.get(f"/rooms/{room.id}/messages", {"before": "garbage!"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"


def test_room_messages_query_count_is_constant(agent_api, rooms):
    room = rooms["mine"]
    with CaptureQueriesContext(connection) as small:
        agent_api.get(f"/rooms/{room.id}/messages")
    for i in range(80):
        MessageFactory(room=room, content_text=f"more {i}")
    with CaptureQueriesContext(connection) as large:
        agent_api.get(f"/rooms/{room.id}/messages")
    assert len(large.captured_queries) == len(small.captured_queries)


def test_agent_claims_an_unassigned_room_and_supervisor_reassigns(
    agent_api, other_agent, supervisor_api, rooms, other_agent_api
):
    free = rooms["free"]
    claimed = agent_api.post(f"/rooms/{free.id}/assign", {}, format="json")
    assert claimed.status_code == 200
    assert claimed.json()["assigned_user_ids"] == [str(agent_api.user.id)]
    assert other_agent_api.get(f"/rooms/{free.id}").status_code == 404
    steal = other_agent_api.post(f"/rooms/{free.id}/assign", {}, format="json")
    assert steal.status_code == 404
    moved = supervisor_api.post(
        f"/rooms/{free.id}/assign", {"user_id": str(other_agent.id)}, format="json"
    )
    assert moved.status_code == 200
    assert moved.json()["assigned_user_ids"] == [str(other_agent.id)]
    assert agent_api.get(f"/rooms/{free.id}").status_code == 404
    forbidden = agent_api.post(
        f"/rooms/{rooms['mine'].id}/assign", {"user_id": str(other_agent.id)}, format="json"
    )
    assert forbidden.status_code == 403


def test_message_search_understands_indonesian_and_english(agent_api, supervisor_api, rooms):
    MessageFactory(room=rooms["mine"], content_text="Saya mau mengajukan pinjaman baru")
    MessageFactory(room=rooms["mine"], content_text="The payments were late again")
    MessageFactory(room=rooms["theirs"], content_text="pinjaman untuk agen lain")
    found = agent_api.get("/messages/search", {"q": "pinjam"}).json()["results"]
    assert [m["content_text"] for m in found] == ["Saya mau mengajukan pinjaman baru"]
    english = agent_api.get("/messages/search", {"q": "payment late"}).json()["results"]
    assert [m["content_text"] for m in english] == ["The payments were late again"]
    every = supervisor_api.get("/messages/search", {"q": "pinjaman"}).json()["results"]
    assert len(every) == 2
    assert agent_api.get("/messages/search").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/messages/search?q=pin%00jam",
        "/rooms?q=%00",
        "/rooms?cursor=a%00b",
        "/messages/templates?status=%00",
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_not_a_database_error(agent_api, rooms, path):
    response = agent_api.get(path)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_nul_in_the_inbox_search_is_a_400(client, agent):
    client.force_login(agent)
    assert client.get("/inbox/?q=%00").status_code == 400


# --- a username customer's room, linked to a lead by hand --------------------------------

BSUID = "ID.2081978709342942"


def test_an_agent_links_a_bsuid_room_to_a_lead_and_the_link_survives_a_merge(
    agent_api, agent, client, django_capture_on_commit_callbacks, tap
):
    import json
    from pathlib import Path

    import jsonschema

    from boztell.realtime import SUPERVISORS_GROUP, flush_events
    from rooms.models import Room
    from tests.helpers import load_fixture, signed_post

    lead = LeadFactory(name="Rina Lead", phone="6281299990000")
    room = RoomFactory(phone=None, user_id=BSUID, username="rina.kredit", title="")
    listener = tap(SUPERVISORS_GROUP)
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_api.post(f"/rooms/{room.pk}/lead", {"lead_id": str(lead.pk)})
    flush_events()
    assert response.status_code == 200, response.content
    assert response.json()["leads_info"]["name"] == "Rina Lead"
    assert response.json()["room_title"] == "Rina Lead"
    [(name, data)] = listener.drain()
    assert name == "lead_updated" and data["leads_id"] == str(lead.pk)
    schema = Path(__file__).resolve().parent.parent / "docs/events/lead_updated.schema.json"
    jsonschema.validate(data, json.loads(schema.read_text()))
    # An older room by phone turns out to be the same person: the hand-made link stays.
    older = RoomFactory(phone="6281234567055", title="Rina")
    Room.objects.filter(pk=older.pk).update(created_at=room.created_at - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, load_fixture("bsuid_text_with_phone")).status_code == 200
    merged = Room.objects.get()
    assert merged.pk == older.pk and merged.lead == lead and merged.user_id == BSUID


def test_linking_needs_a_real_lead_and_a_visible_room(agent_api, other_agent):
    room = RoomFactory(phone=None, user_id=BSUID, title="")
    missing = agent_api.post(
        f"/rooms/{room.pk}/lead", {"lead_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_lead"
    assert agent_api.post(f"/rooms/{room.pk}/lead", {}).status_code == 400
    RoomParticipantFactory(room=room, user=other_agent)
    hidden = agent_api.post(f"/rooms/{room.pk}/lead", {"lead_id": str(LeadFactory().pk)})
    assert hidden.status_code == 404


def test_a_supervisor_links_a_bsuid_room_to_a_lead_in_admin(client, supervisor):
    from rooms.models import Room

    lead = LeadFactory(name="Rina Lead")
    room = RoomFactory(phone=None, user_id=BSUID, username="rina.kredit", title="")
    client.force_login(supervisor)
    page = client.get(f"/admin/rooms/room/{room.pk}/change/")
    assert page.status_code == 200 and BSUID in page.content.decode()
    response = client.post(
        f"/admin/rooms/room/{room.pk}/change/",
        {
            "title": "",
            "lead": str(lead.pk),
            "participants-TOTAL_FORMS": "0",
            "participants-INITIAL_FORMS": "0",
            "participants-MIN_NUM_FORMS": "0",
            "participants-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert Room.objects.get(pk=room.pk).lead == lead
    listing = client.get("/admin/rooms/room/").content.decode()
    assert "Rina Lead" in listing and BSUID not in listing.split("<tbody>")[-1].split("</tbody>")[0]


def test_search_finds_a_username_customer_by_username_or_bsuid(agent_api):
    room = _room("6281100000009", 1, "Rina")
    from rooms.models import Room

    Room.objects.filter(pk=room.pk).update(phone=None, user_id=BSUID, username="rina.kredit")
    for q in ["@rina.kredit", "rina.k", BSUID]:
        assert _titles(agent_api.get("/rooms/", {"q": q})) == ["Rina"], q


def test_an_agent_links_a_room_by_the_borrowers_phone_in_any_spelling(agent_api):
    lead = LeadFactory(name="Bu Rina", phone="6281234567077")
    room = RoomFactory(phone=None, user_id="ID.2081978709342988", username="rina88", title="")
    linked = agent_api.post(f"/rooms/{room.pk}/lead", {"phone": "+62 0812-3456-7077"})
    assert linked.status_code == 200, linked.content
    assert linked.json()["leads_id"] == str(lead.pk)
    room.refresh_from_db()
    assert room.lead_id == lead.pk
    unknown = agent_api.post(f"/rooms/{room.pk}/lead", {"phone": "0812-9999-0000"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_lead"
    bad = agent_api.post(f"/rooms/{room.pk}/lead", {"phone": "1234"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_phone"
    both = agent_api.post(
        f"/rooms/{room.pk}/lead", {"phone": "081234567077", "lead_id": str(lead.pk)}
    )
    assert both.status_code == 400
