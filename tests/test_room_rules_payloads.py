"""The rules the inbox used to work out for itself now travel in the payloads: the 24-hour
window (`window_open`, `window_closes_at`, from rooms.window), the filters a room is in
for the caller (`assigned_to_me`, `unassigned`) and whether a new message counts as unread
(`counts_as_unread`). Through HTTP, a signed webhook and the events on the channel layer."""

import json
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from django.utils import timezone

from boztell.realtime import SUPERVISORS_GROUP
from rooms.models import Room
from tests.factories import MessageFactory, RoomFactory, RoomParticipantFactory
from tests.helpers import signed_post, text_webhook

pytestmark = pytest.mark.django_db

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"
CUSTOMER = "6281234567001"


def _wire(at):
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _room(phone, *, wrote_hours_ago, title):
    at = timezone.now() - timedelta(hours=wrote_hours_ago) if wrote_hours_ago else None
    room = RoomFactory(
        phone=phone,
        title=title,
        last_message_at=at or timezone.now(),
        last_customer_message_at=at,
        message_count=1,
    )
    MessageFactory(room=room)
    return room


def test_room_rows_carry_the_window_and_the_callers_filters(agent_api, agent, other_agent):
    open_ = _room("6281100000001", wrote_hours_ago=23, title="Open")
    closed = _room("6281100000002", wrote_hours_ago=25, title="Closed")
    never = _room("6281100000003", wrote_hours_ago=None, title="Never")
    RoomParticipantFactory(room=open_, user=agent)
    RoomParticipantFactory(room=never, user=agent)

    response = agent_api.get("/rooms/")
    assert response.status_code == 200, response.content
    rows = {r["room_title"]: r for r in response.json()["results"]}
    assert rows["Open"]["window_open"] is True
    assert rows["Open"]["window_closes_at"] == _wire(
        Room.objects.get(pk=open_.pk).last_customer_message_at + timedelta(hours=24)
    )
    assert rows["Closed"]["window_open"] is False
    assert rows["Closed"]["window_closes_at"] == _wire(
        closed.last_customer_message_at + timedelta(hours=24)
    )
    assert rows["Never"]["window_open"] is False
    assert rows["Never"]["window_closes_at"] is None
    assert (rows["Open"]["assigned_to_me"], rows["Open"]["unassigned"]) == (True, False)
    assert (rows["Closed"]["assigned_to_me"], rows["Closed"]["unassigned"]) == (False, True)

    # Assigned to another agent: no longer this agent's to see.
    RoomParticipantFactory(room=closed, user=other_agent)
    detail = agent_api.get(f"/rooms/{open_.pk}").json()
    assert (detail["assigned_to_me"], detail["window_open"]) == (True, True)
    assert agent_api.get(f"/rooms/{closed.pk}").status_code == 404


def test_new_message_says_it_is_unread_and_reopens_the_window(
    client, tap, django_capture_on_commit_callbacks
):
    from boztell.realtime import flush_events

    room = _room(CUSTOMER, wrote_hours_ago=30, title="Dewi")
    listener = tap(SUPERVISORS_GROUP)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_post(client, text_webhook(CUSTOMER, "wamid.RULES-1", "Halo lagi"))
    flush_events()
    assert response.status_code == 200
    room.refresh_from_db()
    events = [data for name, data in listener.drain() if name == "new_message"]
    assert len(events) == 1
    payload = events[0]
    jsonschema.validate(payload, json.loads((SCHEMAS / "new_message.schema.json").read_text()))
    assert payload["counts_as_unread"] is True
    assert payload["window_open"] is True
    assert payload["window_closes_at"] == _wire(room.last_customer_message_at + timedelta(hours=24))


def test_an_agents_message_is_not_unread_and_leaves_the_window_as_it_was(
    agent_api, agent, tap, fake_graph, django_capture_on_commit_callbacks
):
    from boztell.realtime import flush_events

    room = _room(CUSTOMER, wrote_hours_ago=2, title="Dewi")
    listener = tap(SUPERVISORS_GROUP)
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_api.post(
            "/messages/send", {"room_id": str(room.pk), "text": "Baik Bu"}, format="json"
        )
    flush_events()
    assert response.status_code in (200, 201), response.content
    events = [data for name, data in listener.drain() if name == "new_message"]
    assert len(events) == 1
    assert events[0]["counts_as_unread"] is False
    assert events[0]["window_open"] is True
    assert events[0]["window_closes_at"] == _wire(
        room.last_customer_message_at + timedelta(hours=24)
    )
