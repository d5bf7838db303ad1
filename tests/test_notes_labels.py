"""Private notes (POST/GET /rooms/{id}/notes) and labels (PUT /rooms/{id}/labels,
GET /rooms/?label=), through REST, the event layer and admin (issue 15 points 3 and 4)."""

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from django.utils import timezone

from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP, flush_events, user_group
from rooms.models import Label, Room, RoomLabel, RoomNote
from tests.factories import MessageFactory, RoomFactory, RoomParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"


def check_schema(name: str, data: dict) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.validate(
        json.loads(json.dumps(data)), schema, format_checker=jsonschema.FormatChecker()
    )


def _room(phone="6281355500001", minutes_ago=5, title="Budi"):
    at = timezone.now() - timedelta(minutes=minutes_ago)
    room = RoomFactory(
        phone=phone,
        title=title,
        last_message_at=at,
        last_customer_message_at=at,
        last_message_text="halo",
        last_message_type="text",
        message_count=1,
    )
    MessageFactory(room=room, content_text="halo")
    return room


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run a request with its on-commit callbacks (events), then wait for the publisher."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            response = call()
        flush_events()
        return response

    return run


# --- notes --------------------------------------------------------------------------------


def test_a_note_is_stored_shown_to_the_room_s_audience_and_never_sent_or_counted(
    agent_api, agent, supervisor, fake_graph, committing, tap
):
    room = _room()
    RoomParticipantFactory(room=room, user=agent)
    before = Room.objects.get(pk=room.pk)
    listener = tap(user_group(agent.pk), SUPERVISORS_GROUP, AGENTS_GROUP)
    response = committing(
        lambda: agent_api.post(
            f"/rooms/{room.pk}/notes", {"text": "Janji bayar Jumat, cek lagi"}, format="json"
        )
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["text"] == "Janji bayar Jumat, cek lagi"
    assert body["author"]["username"] == "agent-a" and body["not_notified"] == []
    note = RoomNote.objects.get()
    assert note.room_id == room.pk and note.author == agent
    # Never a message: nothing to Meta, the room list's fields and counts untouched.
    assert fake_graph.requests == []
    after = Room.objects.get(pk=room.pk)
    assert (after.last_message_text, after.message_count, after.last_message_at) == (
        before.last_message_text,
        before.message_count,
        before.last_message_at,
    )
    row = agent_api.get(f"/rooms/{room.pk}").json()
    assert row["unread_count"] == 1 and row["last_message_text"] == "halo"
    assert room.messages.count() == 1
    events = listener.drain()
    # The room is assigned: the agent's group and the supervisors, not every agent.
    assert [e for e, _ in events] == ["room_note_created", "room_note_created"]
    for _, data in events:
        check_schema("room_note_created", data)
        assert data["id"] == str(note.pk) and data["text"] == note.text
    listed = agent_api.get(f"/rooms/{room.pk}/notes").json()
    assert [n["text"] for n in listed["results"]] == ["Janji bayar Jumat, cek lagi"]
    assert listed["older_cursor"] is None


def test_a_mention_notifies_only_a_user_who_may_see_the_room(
    agent_api, agent, other_agent, supervisor, committing, tap
):
    room = _room()
    RoomParticipantFactory(room=room, user=agent)
    UserFactory(username="gone", is_active=False)
    mentioned = tap(user_group(supervisor.pk))
    hidden = tap(user_group(other_agent.pk))
    text = "@super-s tolong cek. @agent-b jangan dulu, @gone @nobody"
    response = committing(
        lambda: agent_api.post(f"/rooms/{room.pk}/notes", {"text": text}, format="json")
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [m["username"] for m in body["mentions"]] == ["super-s"]
    assert body["not_notified"] == ["agent-b", "gone", "nobody"]
    assert list(RoomNote.objects.get().mentions.all()) == [supervisor]
    [(_, data)] = [e for e in mentioned.drain() if e[0] == "note_mention"]
    check_schema("note_mention", data)
    assert data["mentioned_user_id"] == str(supervisor.pk) and data["room_title"] == "Budi"
    # agent-b may not see agent-a's room: nothing reaches their sockets.
    assert hidden.drain() == []


def test_a_note_in_an_unassigned_room_mentions_any_agent_and_reaches_all_agents(
    agent_api, other_agent, committing, tap
):
    room = _room()
    listener = tap(AGENTS_GROUP)
    personal = tap(user_group(other_agent.pk))
    response = committing(
        lambda: agent_api.post(
            f"/rooms/{room.pk}/notes", {"text": "@agent-b, ambil ya."}, format="json"
        )
    )
    assert response.json()["mentions"][0]["username"] == "agent-b"
    assert [e for e, _ in listener.drain()] == ["room_note_created"]
    assert [e for e, _ in personal.drain()] == ["note_mention"]


def test_notes_follow_room_visibility_and_refuse_bad_text(agent_api, other_agent, supervisor_api):
    room = _room()
    RoomParticipantFactory(room=room, user=other_agent)
    assert agent_api.post(f"/rooms/{room.pk}/notes", {"text": "x"}).status_code == 404
    assert agent_api.get(f"/rooms/{room.pk}/notes").status_code == 404
    for bad in ({"text": ""}, {"text": "   "}, {}, {"text": "a\x00b"}, {"text": "x" * 4097}):
        response = supervisor_api.post(f"/rooms/{room.pk}/notes", bad, format="json")
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] in ("invalid_request", "text_too_long")
    assert RoomNote.objects.count() == 0


def test_hostile_note_text_is_stored_as_text_and_escaped_in_admin(agent_api, supervisor, client):
    room = _room()
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    response = agent_api.post(f"/rooms/{room.pk}/notes", {"text": hostile}, format="json")
    assert response.json()["text"] == hostile
    assert RoomNote.objects.get().text == hostile
    client.force_login(supervisor)
    page = client.get("/admin/rooms/roomnote/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_notes_page_back_oldest_to_newest(agent_api, agent):
    room = _room()
    base = timezone.now() - timedelta(hours=1)
    for i in range(60):
        note = RoomNote.objects.create(room=room, author=agent, text=f"n{i:02d}")
        RoomNote.objects.filter(pk=note.pk).update(created_at=base + timedelta(seconds=i))
    first = agent_api.get(f"/rooms/{room.pk}/notes").json()
    assert [n["text"] for n in first["results"]] == [f"n{i:02d}" for i in range(10, 60)]
    second = agent_api.get(f"/rooms/{room.pk}/notes", {"before": first["older_cursor"]}).json()
    assert [n["text"] for n in second["results"]] == [f"n{i:02d}" for i in range(10)]


# --- labels --------------------------------------------------------------------------------


@pytest.fixture
def labels(db):
    return {
        "janji-bayar": Label.objects.create(name="janji-bayar", colour="#16a34a"),
        "vip": Label.objects.create(name="vip", colour="#DC2626"),
    }


def test_an_agent_labels_a_room_and_everyone_who_sees_it_hears(
    agent_api, agent, labels, committing, tap
):
    room = _room()
    RoomParticipantFactory(room=room, user=agent)
    listener = tap(user_group(agent.pk), SUPERVISORS_GROUP)
    response = committing(
        lambda: agent_api.put(
            f"/rooms/{room.pk}/labels", {"labels": ["vip", "janji-bayar"]}, format="json"
        )
    )
    assert response.status_code == 200, response.content
    expected = [
        {"name": "janji-bayar", "colour": "#16a34a"},
        {"name": "vip", "colour": "#DC2626"},
    ]
    assert response.json()["labels"] == expected
    assert set(RoomLabel.objects.values_list("label__name", flat=True)) == {"janji-bayar", "vip"}
    assert RoomLabel.objects.filter(added_by=agent).count() == 2
    events = listener.drain()
    assert [e for e, _ in events] == ["room_labels_changed"] * 2
    for _, data in events:
        check_schema("room_labels_changed", data)
        assert data["labels"] == expected and data["added"] == ["janji-bayar", "vip"]
    # The same set again changes nothing and says nothing.
    committing(
        lambda: agent_api.put(
            f"/rooms/{room.pk}/labels", {"labels": ["janji-bayar", "vip"]}, format="json"
        )
    )
    assert listener.drain() == []
    response = committing(
        lambda: agent_api.put(f"/rooms/{room.pk}/labels", {"labels": ["vip"]}, format="json")
    )
    assert [lb["name"] for lb in response.json()["labels"]] == ["vip"]
    [(_, data), _] = listener.drain()
    assert data["removed"] == ["janji-bayar"] and data["added"] == []


def test_an_unknown_label_is_refused_and_changes_nothing(agent_api, labels):
    room = _room()
    RoomLabel.objects.create(room=room, label=labels["vip"])
    response = agent_api.put(
        f"/rooms/{room.pk}/labels", {"labels": ["janji-bayar", "nope"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_label"
    assert response.json()["error"]["details"]["unknown"] == ["nope"]
    assert list(RoomLabel.objects.values_list("label__name", flat=True)) == ["vip"]
    for bad in ({}, {"labels": "vip"}, {"labels": [None]}, {"labels": ["x" * 51]}):
        assert agent_api.put(f"/rooms/{room.pk}/labels", bad, format="json").status_code == 400


def test_labels_need_a_visible_room(agent_api, other_agent, labels):
    room = _room()
    RoomParticipantFactory(room=room, user=other_agent)
    response = agent_api.put(f"/rooms/{room.pk}/labels", {"labels": ["vip"]}, format="json")
    assert response.status_code == 404 and RoomLabel.objects.count() == 0


def test_the_room_list_filters_by_label_and_shows_labels(agent_api, labels):
    promised = _room("6281355500001", 1, "Promised")
    _room("6281355500002", 2, "Plain")
    both = _room("6281355500003", 3, "Both")
    RoomLabel.objects.create(room=promised, label=labels["janji-bayar"])
    RoomLabel.objects.create(room=both, label=labels["janji-bayar"])
    RoomLabel.objects.create(room=both, label=labels["vip"])
    rows = agent_api.get("/rooms/", {"label": "janji-bayar"}).json()["results"]
    assert [r["room_title"] for r in rows] == ["Promised", "Both"]
    assert rows[1]["labels"] == [
        {"name": "janji-bayar", "colour": "#16a34a"},
        {"name": "vip", "colour": "#DC2626"},
    ]
    assert [
        r["room_title"] for r in agent_api.get("/rooms/", {"label": "vip"}).json()["results"]
    ] == ["Both"]
    assert agent_api.get("/rooms/", {"label": "nope"}).json()["results"] == []
    everything = agent_api.get("/rooms/").json()["results"]
    assert [r["labels"] for r in everything][1] == []


def test_labels_survive_a_room_merge_with_the_notes(agent, labels):
    from messaging.services.customers import conversation_merge
    from rooms.models import RoomActivity
    from rooms.services import room_activity_add

    older, newer = _room("6281355500001"), _room("6281355500002")
    RoomLabel.objects.create(room=older, label=labels["vip"])
    RoomLabel.objects.create(room=newer, label=labels["vip"])
    RoomLabel.objects.create(room=newer, label=labels["janji-bayar"])
    RoomNote.objects.create(room=newer, author=agent, text="catatan")
    room_activity_add(room=newer, kind="status", text="Budi resolved the conversation")
    conversation_merge(source=newer, into=older)
    assert list(RoomActivity.objects.values_list("room_id", "text")) == [
        (older.pk, "Budi resolved the conversation")
    ]
    assert set(RoomLabel.objects.filter(room=older).values_list("label__name", flat=True)) == {
        "vip",
        "janji-bayar",
    }
    assert RoomNote.objects.get().room_id == older.pk


def test_a_room_is_never_deleted_with_its_customers_messages(client, supervisor):
    """room_merge alone (without conversation_merge moving the messages) and admin's
    delete both stop at the messages: nothing the customer wrote goes with a room."""
    from django.db.models import ProtectedError

    from messaging.models import Message
    from rooms.services import room_merge

    older, newer = _room("6281355500011"), _room("6281355500012")
    MessageFactory(room=newer, content_text="jangan hilang")
    with pytest.raises(ProtectedError):
        room_merge(source=newer, into=older)
    assert Room.objects.filter(pk=newer.pk).exists()
    assert Message.objects.get(content_text="jangan hilang").room_id == newer.pk

    client.force_login(supervisor)
    page = client.post(f"/admin/rooms/room/{newer.pk}/delete/", {"post": "yes"})
    assert page.status_code in (200, 403)  # the "cannot delete" page, or no delete at all
    assert Room.objects.filter(pk=newer.pk).exists()
    assert Message.objects.filter(content_text="jangan hilang", room=newer).exists()


def test_supervisors_define_labels_in_admin_with_a_valid_colour(client, supervisor):
    client.force_login(supervisor)
    response = client.post("/admin/rooms/label/add/", {"name": "janji-bayar", "colour": "#16a34a"})
    assert response.status_code == 302, response.content[:2000]
    for name, colour in (("bad colour", "#16a34a"), ("merah", "red"), ("merah", "#12345")):
        page = client.post("/admin/rooms/label/add/", {"name": name, "colour": colour})
        assert page.status_code == 200  # the form again, with the error
    assert list(Label.objects.values_list("name", "colour")) == [("janji-bayar", "#16a34a")]
    assert "janji-bayar" in client.get("/admin/rooms/label/").content.decode()


def test_every_label_is_listed_for_the_inbox_and_only_to_signed_in_users(agent_api, labels):
    from rest_framework.test import APIClient

    response = agent_api.get("/rooms/labels")
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {"name": "janji-bayar", "colour": "#16a34a"},
            {"name": "vip", "colour": "#DC2626"},
        ]
    }
    assert APIClient().get("/rooms/labels").status_code in (401, 403)
