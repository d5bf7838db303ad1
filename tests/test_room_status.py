"""Conversation status (issue 15.1): set over REST, reopened by the customer on both
inbound paths, snoozes that end by themselves; the room list's status filter and counts;
the room's timeline and the audit history (issue 15.8). Events are checked on a real
socket (Channels' communicator on the real Redis layer) against docs/events/."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from rooms.models import Room, RoomActivity
from tests.helpers import load_fixture, signed_post, text_webhook
from tests.test_socket import connect

pytestmark = [pytest.mark.django_db(transaction=True)]

PHONE = "6281355500001"


def _room(**fields):
    from tests.factories import MessageFactory, RoomFactory

    room = RoomFactory(phone=PHONE, **fields)
    message = MessageFactory(room=room, content_text="halo")
    Room.objects.filter(pk=room.pk).update(
        last_message_at=message.created_at, last_message_text="halo", message_count=1
    )
    return Room.objects.get(pk=room.pk)


def _status(api, room, **body):
    return api.post(f"/rooms/{room.pk}/status", body, format="json")


async def test_an_agent_resolves_a_room_and_whoever_sees_it_hears_room_status_changed(
    agent, agent_api, other_agent, supervisor
):
    from tests.factories import RoomParticipantFactory

    room = await sync_to_async(_room)()
    await sync_to_async(RoomParticipantFactory)(room=room, user=agent)
    a, b, s = [await connect(u) for u in (agent, other_agent, supervisor)]
    response = await sync_to_async(_status)(agent_api, room, status="resolved")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "resolved"
    assert (await sync_to_async(Room.objects.get)(pk=room.pk)).status == "resolved"
    for socket in (a, s):
        frames = [f for f in await socket.events() if f["event"] == "room_status_changed"]
        assert len(frames) == 1
        data = frames[0]["data"]
        assert data["room_id"] == str(room.pk)
        assert (data["status"], data["previous_status"], data["source"]) == (
            "resolved",
            "open",
            "agent",
        )
        assert data["changed_by"] == str(agent.pk)
        assert data["activity"]["text"] == "Agent A resolved the conversation"
    assert await b.events() == []  # not agent B's room
    for socket in (a, b, s):
        await socket.close()


def test_the_room_list_filters_by_status_and_counts_each_status(agent_api, supervisor_api):
    from tests.factories import MessageFactory, RoomFactory

    rooms = {}
    for i, status in enumerate(["open", "open", "pending", "resolved"]):
        room = RoomFactory(phone=f"62813555100{i:02d}", status=status)
        m = MessageFactory(room=room)
        Room.objects.filter(pk=room.pk).update(last_message_at=m.created_at)
        rooms.setdefault(status, set()).add(str(room.pk))
    for status in ("open", "pending", "resolved", "snoozed"):
        listed = agent_api.get(f"/rooms/?status={status}").json()["results"]
        assert {r["room_id"] for r in listed} == rooms.get(status, set())
        assert {r["status"] for r in listed} <= {status}
    assert len(agent_api.get("/rooms/").json()["results"]) == 4
    assert len(agent_api.get("/rooms/?status=all").json()["results"]) == 4
    counts = {"open": 2, "pending": 1, "snoozed": 0, "resolved": 1}
    assert agent_api.get("/rooms/counts").json() == counts
    assert supervisor_api.get("/rooms/counts").json() == counts
    assert agent_api.get("/rooms/counts?filter=mine").json() == dict.fromkeys(counts, 0)
    bad = agent_api.get("/rooms/?status=closed")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_status"


@pytest.mark.parametrize(
    "body,code",
    [
        ({}, "invalid_status"),
        ({"status": "closed"}, "invalid_status"),
        ({"status": ["resolved"]}, "invalid_status"),
        ({"status": "snoozed"}, "snooze_until_required"),
        ({"status": "snoozed", "until": "tomorrow"}, "invalid_until"),
        ({"status": "snoozed", "until": "2020-01-01T00:00:00Z"}, "snooze_until_past"),
        ({"status": "resolved", "until": "2099-01-01T00:00:00Z"}, "until_not_allowed"),
    ],
)
def test_bad_status_requests_get_400_with_a_stable_code_and_change_nothing(agent_api, body, code):
    room = _room()
    response = agent_api.post(f"/rooms/{room.pk}/status", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    room.refresh_from_db()
    assert room.status == "open" and room.snoozed_until is None
    assert not RoomActivity.objects.exists()


def test_an_agent_cannot_set_the_status_of_a_room_they_may_not_see(
    agent, other_agent_api, agent_api
):
    from tests.factories import RoomParticipantFactory

    room = _room()
    RoomParticipantFactory(room=room, user=agent)
    assert _status(other_agent_api, room, status="resolved").status_code == 404
    assert other_agent_api.get(f"/rooms/{room.pk}/activity").status_code == 404
    room.refresh_from_db()
    assert room.status == "open"
    assert _status(agent_api, room, status="pending").status_code == 200


def test_setting_the_same_status_again_adds_nothing(agent_api):
    room = _room()
    assert _status(agent_api, room, status="pending").status_code == 200
    assert _status(agent_api, room, status="pending").status_code == 200
    assert RoomActivity.objects.filter(room=room).count() == 1


async def test_a_customer_message_reopens_a_resolved_room_in_the_bulk_path(agent, supervisor):
    room = await sync_to_async(_room)(status="resolved")
    s = await connect(supervisor)
    a = await connect(agent)
    body = text_webhook(PHONE, "wamid.REOPEN-1", "saya mau bayar")
    response = await sync_to_async(lambda: signed_post(Client(), body))()
    assert response.status_code == 200
    room = await sync_to_async(Room.objects.get)(pk=room.pk)
    assert room.status == "open" and room.message_count == 2
    for socket in (s, a):  # unassigned and teamless: every agent sees it
        frames = await socket.events()
        names = [f["event"] for f in frames]
        assert "new_message" in names and names.count("room_status_changed") == 1
        changed = next(f["data"] for f in frames if f["event"] == "room_status_changed")
        assert (changed["previous_status"], changed["status"], changed["source"]) == (
            "resolved",
            "open",
            "customer",
        )
        assert changed["changed_by"] is None
        assert changed["activity"]["text"] == "Reopened by the customer"
    lines = await sync_to_async(lambda: list(RoomActivity.objects.filter(room=room)))()
    assert [line.text for line in lines] == ["Reopened by the customer"]
    # Already open: the next message reopens nothing.
    body = text_webhook(PHONE, "wamid.REOPEN-2", "halo lagi")
    await sync_to_async(lambda: signed_post(Client(), body))()
    assert await sync_to_async(RoomActivity.objects.count)() == 1
    for socket in (s, a):
        await socket.close()


@pytest.mark.parametrize("before", ["pending", "snoozed"])
def test_a_customer_message_reopens_the_room_in_the_one_at_a_time_path(client, before):
    """The room knows the phone only; the message also brings the BSUID, so it goes through
    messaging/services/receive.py (the room learns an id), not the bulk SQL."""
    until = timezone.now() + timedelta(hours=2) if before == "snoozed" else None
    room = _room(status=before, snoozed_until=until)
    body = load_fixture("bsuid_text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = PHONE
    value["messages"][0]["from"] = PHONE
    assert signed_post(client, body).status_code == 200
    room.refresh_from_db()
    assert room.user_id == "ID.2081978709342942"  # the receive.py path ran
    assert room.status == "open" and room.snoozed_until is None
    line = RoomActivity.objects.get(room=room)
    assert line.text == "Reopened by the customer" and line.data["from"] == before


def test_a_snooze_ends_by_itself_through_the_task_queue(agent_api, tap, settings):
    import time

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    from boztell.realtime import AGENTS_GROUP

    room = _room()
    until = timezone.now() + timedelta(seconds=1)
    response = _status(agent_api, room, status="snoozed", until=until.isoformat())
    assert response.status_code == 200, response.content
    room.refresh_from_db()
    assert room.status == "snoozed" and room.snoozed_until == until
    task = DBTaskResult.objects.get(task_path="rooms.tasks.rooms_wake")
    assert task.run_after == until
    listener = tap(AGENTS_GROUP)
    call_command("db_worker", "--batch", "--no-startup-delay")  # not due yet: nothing
    room.refresh_from_db()
    assert room.status == "snoozed"
    while timezone.now() <= until:
        time.sleep(0.1)
    call_command("db_worker", "--batch", "--no-startup-delay")
    room.refresh_from_db()
    assert room.status == "open" and room.snoozed_until is None
    events = [data for name, data in listener.drain() if name == "room_status_changed"]
    assert [(e["previous_status"], e["status"], e["source"]) for e in events] == [
        ("snoozed", "open", "snooze_ended")
    ]
    lines = [a["text"] for a in agent_api.get(f"/rooms/{room.pk}/activity").json()["results"]]
    assert lines[0].startswith("Agent A snoozed the conversation until ")
    assert lines[1] == "Snooze ended: the conversation is open again"


def test_rooms_wake_opens_every_due_snooze_once(agent_api):
    from django.core.management import call_command

    room = _room(status="snoozed", snoozed_until=timezone.now() - timedelta(minutes=1))
    call_command("rooms_wake")
    call_command("rooms_wake")
    room.refresh_from_db()
    assert room.status == "open"
    assert RoomActivity.objects.filter(room=room).count() == 1


def test_the_activity_endpoint_pages_the_timeline_oldest_first(agent_api, agent):
    room = _room()
    for status in ["pending", "open", "resolved", "open"]:
        assert _status(agent_api, room, status=status).status_code == 200
    page = agent_api.get(f"/rooms/{room.pk}/activity?limit=3").json()
    assert [a["text"] for a in page["results"]] == [
        "Agent A reopened the conversation",
        "Agent A resolved the conversation",
        "Agent A reopened the conversation",
    ]
    assert all(a["actor_id"] == str(agent.pk) for a in page["results"])
    older = agent_api.get(f"/rooms/{room.pk}/activity?before={page['older_cursor']}").json()
    assert [a["text"] for a in older["results"]] == ["Agent A marked the conversation pending"]
    bad = agent_api.get(f"/rooms/{room.pk}/activity?before=x")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


# --- audit trail (issue 15.8) -------------------------------------------------------------


def test_who_changed_a_rooms_status_is_in_its_history_and_admin_page(
    agent_api, agent, client, supervisor
):
    room = _room()
    assert _status(agent_api, room, status="resolved").status_code == 200
    record = room.history.latest()
    assert record.status == "resolved" and record.history_user == agent
    client.force_login(supervisor)
    page = client.get(f"/admin/rooms/room/{room.pk}/history/")
    assert page.status_code == 200 and b"Agent A" in page.content
    change = client.get(f"/admin/rooms/room/{room.pk}/change/")
    assert b"Agent A resolved the conversation" in change.content


def test_who_changed_a_leads_fields_is_on_the_leads_admin_history_page(client, supervisor):
    from leads.models import Lead
    from tests.factories import LeadFactory

    lead = LeadFactory(name="Budi", leads_status="warm")
    client.force_login(supervisor)
    response = client.post(
        f"/admin/leads/lead/{lead.pk}/change/",
        {
            "name": "Budi",
            "phone": lead.phone,
            "outstanding": "5000000",
            "loan_type": "KTA",
            "leads_status": "hot",
            "contact_status": "contacted",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    record = Lead.history.filter(id=lead.pk).latest()
    assert record.leads_status == "hot" and record.history_user == supervisor
    assert "leads_status" in record.diff_against(record.prev_record).changed_fields
    page = client.get(f"/admin/leads/lead/{lead.pk}/history/")
    assert page.status_code == 200
    assert b"Supervisor S" in page.content or b"super-s" in page.content


def test_a_burst_into_a_resolved_room_reopens_it_once(client, tap):
    from boztell.realtime import AGENTS_GROUP

    room = _room(status="resolved")
    body = text_webhook(PHONE, "wamid.BURST-REOPEN-0", "satu")
    messages = body["entry"][0]["changes"][0]["value"]["messages"]
    for i in (1, 2):
        messages.append({**messages[0], "id": f"wamid.BURST-REOPEN-{i}", "text": {"body": "x"}})
    listener = tap(AGENTS_GROUP)
    assert signed_post(client, body).status_code == 200
    room.refresh_from_db()
    assert room.status == "open" and room.message_count == 4
    names = [name for name, _ in listener.drain()]
    assert names.count("room_status_changed") == 1 and names.count("new_message") == 3
    assert RoomActivity.objects.filter(room=room).count() == 1


def test_who_changed_a_rooms_labels_is_on_its_timeline(agent_api):
    from rooms.models import Label

    Label.objects.create(name="janji-bayar", colour="#16a34a")
    Label.objects.create(name="vip", colour="#ff0000")
    room = _room()
    url = f"/rooms/{room.pk}/labels"
    assert agent_api.put(url, {"labels": ["janji-bayar"]}, format="json").status_code == 200
    assert agent_api.put(url, {"labels": ["vip"]}, format="json").status_code == 200
    assert agent_api.put(url, {"labels": ["vip"]}, format="json").status_code == 200  # no change
    lines = agent_api.get(f"/rooms/{room.pk}/activity").json()["results"]
    assert [(a["kind"], a["text"]) for a in lines] == [
        ("labels", "Agent A changed the labels: +janji-bayar"),
        ("labels", "Agent A changed the labels: +vip, -janji-bayar"),
    ]
