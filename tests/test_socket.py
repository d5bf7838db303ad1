"""The WebSocket at /ws/ (Channels' WebsocketCommunicator against the real ASGI app, the
real Redis layer): handshake, recipients, events, typing, presence, catch-up. Every frame
received is checked against its JSON Schema in docs/events/."""

import json
from pathlib import Path

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from boztell.asgi import application
from tests.helpers import load_fixture, signed_post

pytestmark = [pytest.mark.django_db(transaction=True)]

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"


def check_frame(frame: dict) -> dict:
    frame = json.loads(json.dumps(frame))
    jsonschema.validate(frame, json.loads((SCHEMAS / "frame.schema.json").read_text()))
    name = frame["event"].replace(":", "_")
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.validate(frame["data"], schema, format_checker=jsonschema.FormatChecker())
    return frame


class Socket:
    def __init__(self, headers):
        self.comm = WebsocketCommunicator(application, "/ws/", headers=headers)

    async def open(self):
        connected, _ = await self.comm.connect()
        assert connected
        hello = await self.next()
        assert hello["event"] == "connected"
        return self

    async def next(self, timeout=3, presence=False):
        while True:
            frame = check_frame(await self.comm.receive_json_from(timeout=timeout))
            if presence or frame["event"] != "presence":
                return frame

    async def events(self, timeout=0.6, presence=False) -> list[dict]:
        """Every frame that arrives until a quiet moment (presence frames only if asked)."""
        from boztell.realtime import flush_events

        await sync_to_async(flush_events)()
        frames = []
        while True:
            # receive_nothing waits without cancelling the consumer (a timed-out
            # receive would)
            if await self.comm.receive_nothing(timeout=timeout, interval=0.02):
                return frames
            frame = await self.next(presence=True)
            if presence or frame["event"] != "presence":
                frames.append(frame)

    async def send(self, **content):
        await self.comm.send_json_to(content)

    async def close(self):
        await self.comm.disconnect()


def token_headers(user):
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=user)
    return [(b"authorization", f"Token {token.key}".encode())]


def session_headers(user, origin=b"http://127.0.0.1:8000", host=b"127.0.0.1:8000", extra=()):
    """A browser's handshake: the session cookie, the Host it reached and its page's Origin
    (None: no Origin header)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    headers = [(b"cookie", f"sessionid={cookie}".encode()), (b"host", host), *extra]
    return headers + ([(b"origin", origin)] if origin is not None else [])


async def connect(user, **kw):
    headers = await sync_to_async(token_headers)(user)
    return await Socket(headers).open()


async def webhook(body):
    """Post a signed webhook and wait until its events are handed to the channel layer: a
    socket opened next must not hear this webhook's events (they were published before it
    subscribed, or after, depending on the load; that flaked)."""
    from boztell.realtime import flush_events

    response = await sync_to_async(lambda: signed_post(Client(), body))()
    assert response.status_code == 200, response.content
    await sync_to_async(flush_events)()
    return response


# --- handshake ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"authorization", b"Token not-a-real-token")],
        [(b"authorization", b"Bearer something")],
    ],
)
async def test_anonymous_and_bad_tokens_are_closed_with_4401(headers):
    comm = WebsocketCommunicator(application, "/ws/", headers=headers)
    await comm.connect()
    closing = await comm.receive_output(timeout=3)
    assert closing == {
        "type": "websocket.close",
        "code": 4401,
        "reason": "authentication required",
    }


async def test_inactive_user_is_closed(agent):
    headers = await sync_to_async(token_headers)(agent)
    agent.is_active = False
    await sync_to_async(agent.save)()
    comm = WebsocketCommunicator(application, "/ws/", headers=headers)
    await comm.connect()
    assert (await comm.receive_output(timeout=3))["code"] == 4401


async def test_session_cookie_connects_a_browser_from_an_allowed_origin(agent):
    headers = await sync_to_async(session_headers)(agent)
    socket = await Socket(headers).open()
    await socket.close()


@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example.com",
        b"http://127.0.0.1:9999",  # the same host, another port
        b"https://127.0.0.1:8000",  # the same host and port, another scheme
        b"http://127.0.0.1",  # the same host, the default port
        b"http://localhost:8000",  # an allowed host, but not the one reached
        b"null",
        None,  # no Origin header at all
    ],
)
async def test_a_session_handshake_from_any_other_origin_is_refused(agent, origin):
    headers = await sync_to_async(session_headers)(agent, origin)
    comm = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await comm.connect()
    assert not connected


async def test_behind_the_tls_proxy_only_the_https_origin_is_ours(agent):
    proxied = [(b"x-forwarded-proto", b"https")]
    for origin, ok in ((b"https://127.0.0.1:8000", True), (b"http://127.0.0.1:8000", False)):
        headers = await sync_to_async(session_headers)(agent, origin, extra=proxied)
        comm = WebsocketCommunicator(application, "/ws/", headers=headers)
        connected, _ = await comm.connect()
        assert connected is ok, origin
        await comm.disconnect()


async def test_a_token_client_connects_whatever_its_origin(agent):
    headers = await sync_to_async(token_headers)(agent)
    socket = await Socket([*headers, (b"origin", b"https://elsewhere.example")]).open()
    await socket.close()


# --- recipients and the seed's events -----------------------------------------------------


def _batch(wa_id, texts, name="Nasabah Baru"):
    body = load_fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
    value["messages"] = [
        {
            "from": wa_id,
            "id": f"wamid.SOCK-{wa_id}-{i}",
            "timestamp": "1764000000",
            "type": "text",
            "text": {"body": text},
        }
        for i, text in enumerate(texts)
    ]
    return body


async def test_new_customer_reaches_everyone_once_with_complete_data_then_new_messages(
    agent, other_agent, supervisor
):
    a, b, s = [await connect(u) for u in (agent, other_agent, supervisor)]
    await webhook(_batch("6281300000001", ["first", "second", "third"]))
    for socket in (a, b, s):
        frames = await socket.events()
        assert [f["event"] for f in frames] == ["new_room_complete", "new_message", "new_message"]
        room = frames[0]["data"]
        assert room["room_title"] == "Nasabah Baru"
        assert room["last_message"]["content_text"] == "first"
        assert [f["data"]["content_text"] for f in frames[1:]] == ["second", "third"]
        cursors = [f["cursor"] for f in frames]
        assert cursors == sorted(cursors) and None not in cursors
    for socket in (a, b, s):
        await socket.close()


async def test_an_assigned_rooms_events_reach_its_agent_and_supervisors_only(
    agent, other_agent, supervisor
):
    from rooms.models import Room
    from tests.factories import RoomParticipantFactory

    await webhook(_batch("6281300000002", ["hello"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000002")
    await sync_to_async(RoomParticipantFactory)(room=room, user=agent)
    a, b, s = [await connect(u) for u in (agent, other_agent, supervisor)]
    await webhook(_batch("6281300000002", ["only for A"]) | {})
    body = _batch("6281300000002", ["only for A"])
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.SOCK-ONLY-A"
    await webhook(body)
    got_a, got_b, got_s = [await sock.events() for sock in (a, b, s)]
    assert "only for A" in [f["data"].get("content_text") for f in got_a]
    assert "only for A" in [f["data"].get("content_text") for f in got_s]
    assert got_b == []
    await b.send(action="join_room", room_id=str(room.id))
    refused = await b.next()
    assert refused["event"] == "error" and refused["data"]["code"] == "room_not_visible"
    for socket in (a, b, s):
        await socket.close()


async def test_room_new_message_goes_only_to_sockets_that_joined(agent, supervisor):
    from rooms.models import Room

    await webhook(_batch("6281300000003", ["hi"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000003")
    joined, other = await connect(agent), await connect(supervisor)
    await joined.send(action="join_room", room_id=str(room.id))
    assert (await joined.next())["event"] == "room_joined"
    body = _batch("6281300000003", ["in the open room"])
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.SOCK-JOINED"
    await webhook(body)
    assert [f["event"] for f in await joined.events()] == ["new_message", "room:new_message"]
    assert [f["event"] for f in await other.events()] == ["new_message"]
    await joined.send(action="leave_room", room_id=str(room.id))
    assert (await joined.next())["event"] == "room_left"
    await joined.close()
    await other.close()


async def test_status_and_reaction_events(agent, supervisor):
    from tests.factories import MessageFactory, RoomFactory

    room = await sync_to_async(RoomFactory)(phone="6281234567001")
    await sync_to_async(MessageFactory)(
        room=room, user=agent, wa_message_id="wamid.OUTBOUND-TEXT-1", status="sent"
    )
    s = await connect(supervisor)
    await webhook(load_fixture("status_failed"))
    await webhook(load_fixture("reaction"))
    frames = await s.events()
    assert [f["event"] for f in frames] == ["message_status", "message_reaction"]
    assert frames[0]["data"]["error"]["code"] == 131047
    await s.close()


# --- typing, presence, read state ---------------------------------------------------------


async def test_typing_is_seen_by_the_others_in_the_room_and_throttled(agent, supervisor):
    from rooms.models import Room

    await webhook(_batch("6281300000004", ["hi"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000004")
    typist, watcher = await connect(agent), await connect(supervisor)
    for socket in (typist, watcher):
        await socket.send(action="join_room", room_id=str(room.id))
        await socket.next()
    await typist.send(action="typing", room_id=str(room.id), is_typing=True)
    await typist.send(action="typing", room_id=str(room.id), is_typing=True)  # throttled
    await typist.send(action="typing", room_id=str(room.id), is_typing=False)
    seen = await watcher.events()
    assert [(f["event"], f["data"]["is_typing"]) for f in seen] == [
        ("typing", True),
        ("typing", False),
    ]
    assert seen[0]["data"]["user_id"] == str(agent.id)
    assert await typist.events() == []
    await typist.close()
    await watcher.close()


async def test_presence_is_right_across_several_tabs(agent, supervisor):
    boss = await connect(supervisor)
    await boss.events(presence=True)
    tab1 = await connect(agent)
    tab2 = await connect(agent)
    online = [f for f in await boss.events(presence=True) if f["event"] == "presence"]
    assert [(f["data"]["user_id"], f["data"]["status"]) for f in online] == [
        (str(agent.id), "online")
    ]
    await tab1.close()
    assert [f for f in await boss.events(presence=True) if f["event"] == "presence"] == []
    await tab2.close()
    offline = [f for f in await boss.events(presence=True) if f["event"] == "presence"]
    assert [(f["data"]["user_id"], f["data"]["status"]) for f in offline] == [
        (str(agent.id), "offline")
    ]
    await boss.close()


async def test_room_read_reaches_all_of_the_agents_tabs(agent, agent_api):
    from rooms.models import Room

    await webhook(_batch("6281300000005", ["unread"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000005")
    tab1, tab2 = await connect(agent), await connect(agent)
    await tab1.events()
    await tab2.events()
    response = await sync_to_async(agent_api.post)(
        "/messages/mark-read", {"room_id": str(room.id)}, format="json"
    )
    assert response.status_code == 200
    for tab in (tab1, tab2):
        frames = await tab.events()
        assert [f["event"] for f in frames] == ["room_read"]
        assert frames[0]["data"]["room_id"] == str(room.id)
    await tab1.close()
    await tab2.close()


async def test_bad_frames_get_an_error_not_a_disconnect(agent):
    socket = await connect(agent)
    await socket.send(action="dance")
    assert (await socket.next())["data"]["code"] == "unknown_action"
    await socket.send(action="join_room", room_id="not-a-uuid")
    assert (await socket.next())["data"]["code"] == "invalid_room"
    await socket.send(action=["join_room"])  # unhashable where a name goes
    assert (await socket.next())["data"]["code"] == "unknown_action"
    await socket.send(action="typing", room_id={"id": 1})
    assert (await socket.next())["data"]["code"] == "invalid_room"
    await socket.comm.send_to(text_data="{not json")
    assert (await socket.next())["data"]["code"] == "invalid_frame"
    await socket.comm.send_to(text_data="[" * 100_000 + "]" * 100_000)
    assert (await socket.next())["data"]["code"] == "invalid_frame"
    await socket.comm.send_to(text_data="[1, 2]")
    assert (await socket.next())["data"]["code"] == "invalid_frame"
    await socket.comm.send_to(bytes_data=b'{"action": "ping"}')
    assert (await socket.next())["data"]["code"] == "invalid_frame"
    await socket.send(action="ping")
    assert (await socket.next())["event"] == "pong"
    await socket.close()


# --- nothing missed -----------------------------------------------------------------------


async def test_a_reconnecting_client_catches_up_over_rest_from_its_cursor(
    agent, other_agent, agent_api, other_agent_api
):
    from rooms.models import Room
    from tests.factories import RoomParticipantFactory

    socket = await connect(agent)
    await webhook(_batch("6281300000006", ["before the drop"]))
    last_cursor = (await socket.events())[-1]["cursor"]
    await socket.close()
    # while disconnected: a message, a room for someone else, a status
    body = _batch("6281300000006", ["while away"])
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.AWAY-1"
    await webhook(body)
    await webhook(_batch("6281300000007", ["other agent's customer"]))
    other_room = await sync_to_async(Room.objects.get)(phone="6281300000007")
    await sync_to_async(RoomParticipantFactory)(room=other_room, user=other_agent)
    missed = await sync_to_async(agent_api.get)("/events", {"after": last_cursor})
    assert missed.status_code == 200
    body = missed.json()
    texts = [
        e["data"].get("content_text") or e["data"].get("last_message", {}).get("content_text")
        for e in body["results"]
    ]
    assert texts == ["while away"], "the other agent's room is not readable any more"
    for event in body["results"]:
        check_frame(event)
    theirs = await sync_to_async(other_agent_api.get)("/events", {"after": last_cursor})
    assert "other agent's customer" in json.dumps(theirs.json())
    bad = await sync_to_async(agent_api.get)("/events", {"after": "x"})
    assert bad.status_code == 400


async def test_assignment_and_lead_changes_reach_the_sockets(agent, agent_api, supervisor):
    from leads.models import Lead
    from rooms.models import Room
    from tests.factories import LeadFactory

    await sync_to_async(LeadFactory)(name="Bu Ani", phone="6281300000008")
    await webhook(_batch("6281300000008", ["hi"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000008")
    boss, mine = await connect(supervisor), await connect(agent)
    claimed = await sync_to_async(agent_api.post)(f"/rooms/{room.id}/assign", {}, format="json")
    assert claimed.status_code == 200
    lead = await sync_to_async(Lead.objects.get)(phone="6281300000008")
    changed = await sync_to_async(agent_api.patch)(
        f"/leads/{lead.id}", {"leads_status": "hot"}, format="json"
    )
    assert changed.status_code == 200
    for socket in (boss, mine):
        frames = await socket.events()
        assert [f["event"] for f in frames] == ["room_assigned", "lead_updated"]
        assert frames[0]["data"]["assigned_user_ids"] == [str(agent.id)]
        assert frames[1]["data"]["leads_info"]["leads_status"] == "hot"
    await boss.close()
    await mine.close()


# --- a room taken away: visibility is checked when used (issue 12.2) ----------------------


async def _joined(socket, room_id):
    await socket.send(action="join_room", room_id=str(room_id))
    frame = await socket.next()
    assert frame["event"] == "room_joined", frame
    return socket


def _more(wa_id, text, wamid):
    body = _batch(wa_id, [text])
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = wamid
    return body


def _api_post(user, path, data=None):
    """A REST call, returned once its events are handed to the channel layer (as webhook()
    does): a socket opened next must not hear this call's events late (under load, an
    assignment's room_assigned reached the agent's socket opened after it)."""
    from rest_framework.test import APIClient

    from boztell.realtime import flush_events

    api = APIClient()
    api.force_authenticate(user)
    response = api.post(path, data or {}, format="json")
    flush_events()
    return response


async def test_a_socket_that_joined_an_unassigned_room_leaves_it_when_another_agent_claims_it(
    agent, other_agent
):
    from rooms.models import Room

    await webhook(_batch("6281300000010", ["halo"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000010")
    watcher = await _joined(await connect(other_agent), room.id)
    owner = await _joined(await connect(agent), room.id)
    claimed = await sync_to_async(_api_post)(agent, f"/rooms/{room.id}/assign")
    assert claimed.status_code == 200
    frames = await watcher.events()
    assert [f["event"] for f in frames] == ["room_assigned", "room_left"]
    assert frames[1]["data"] == {"room_id": str(room.id), "reason": "not_visible"}
    await owner.events()
    await webhook(_more("6281300000010", "rahasia", "wamid.SOCK-AFTER-CLAIM"))
    assert await watcher.events() == []
    assert [f["event"] for f in await owner.events()] == ["new_message", "room:new_message"]
    # Its typing no longer reaches the room either.
    await watcher.send(action="typing", room_id=str(room.id), is_typing=True)
    assert (await watcher.next())["data"]["code"] == "not_in_room"
    assert await owner.events() == []
    for socket in (watcher, owner):
        await socket.close()


async def test_a_room_event_from_after_the_room_was_taken_is_dropped_even_unannounced(
    agent, other_agent
):
    """Another process may deliver a room's next message before this one has heard of the
    assignment (and the admin's participants inline announces nothing): the event itself
    says who may see it."""
    from rooms.models import Room, RoomParticipant

    await webhook(_batch("6281300000011", ["halo"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000011")
    watcher = await _joined(await connect(other_agent), room.id)
    await sync_to_async(RoomParticipant.objects.create)(room=room, user=agent, is_assigned=True)
    await webhook(_more("6281300000011", "rahasia", "wamid.SOCK-UNANNOUNCED"))
    frames = await watcher.events()
    assert [f["event"] for f in frames] == ["room_left"]
    assert "rahasia" not in json.dumps(frames)
    await watcher.close()


async def test_typing_into_a_room_taken_away_leaves_it_and_reaches_nobody(
    agent, other_agent, supervisor
):
    from rooms.models import Room, RoomParticipant

    await webhook(_batch("6281300000012", ["halo"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000012")
    typist = await _joined(await connect(other_agent), room.id)
    boss = await _joined(await connect(supervisor), room.id)
    await sync_to_async(RoomParticipant.objects.create)(room=room, user=agent, is_assigned=True)
    await typist.send(action="typing", room_id=str(room.id), is_typing=True)
    left = await typist.next()
    assert left["event"] == "room_left" and left["data"]["reason"] == "not_visible"
    assert await boss.events() == []
    for socket in (typist, boss):
        await socket.close()


async def test_a_supervisor_reassigning_moves_the_room_between_agents_sockets(
    agent, other_agent, supervisor
):
    from rooms.models import Room

    await webhook(_batch("6281300000013", ["halo"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000013")
    path = f"/rooms/{room.id}/assign"
    await sync_to_async(_api_post)(supervisor, path, {"user_id": str(agent.id)})
    first = await _joined(await connect(agent), room.id)
    await sync_to_async(_api_post)(supervisor, path, {"user_id": str(other_agent.id)})
    assert [f["event"] for f in await first.events()] == ["room_assigned", "room_left"]
    # Released to the queue: every agent may see it again, and join it.
    released = await sync_to_async(_api_post)(supervisor, f"/rooms/{room.id}/unassign")
    assert released.status_code == 200
    assert [f["event"] for f in await first.events()] == ["room_assigned"]
    await _joined(first, room.id)
    await webhook(_more("6281300000013", "lagi", "wamid.SOCK-RELEASED"))
    assert [f["event"] for f in await first.events()] == ["new_message", "room:new_message"]
    await first.close()


async def test_an_agent_may_release_only_their_own_room(agent, other_agent):
    from rooms.models import Room

    await webhook(_batch("6281300000014", ["halo"]))
    room = await sync_to_async(Room.objects.get)(phone="6281300000014")
    await sync_to_async(_api_post)(agent, f"/rooms/{room.id}/assign")
    taken = await sync_to_async(_api_post)(other_agent, f"/rooms/{room.id}/unassign")
    assert taken.status_code == 404  # not theirs to see
    mine = await sync_to_async(_api_post)(agent, f"/rooms/{room.id}/unassign")
    assert mine.status_code == 200 and mine.json()["room_id"] == str(room.id)


def _admin_change(by, user, **changes):
    page = Client()
    page.force_login(by)
    form = {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email or "",
        "role": user.role,
        "is_active": "on" if user.is_active else "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **changes,
    }
    response = page.post(
        f"/admin/boztell/user/{user.pk}/change/", {k: v for k, v in form.items() if v != ""}
    )
    assert response.status_code == 302, response.content[:3000]


async def test_deactivating_or_demoting_a_user_in_admin_closes_their_sockets(
    agent, supervisor, other_agent
):
    agent_socket = await connect(agent)
    other_socket = await connect(other_agent)
    await sync_to_async(_admin_change)(supervisor, agent, is_active="")
    revoked = await agent_socket.next()
    assert revoked["event"] == "access_revoked" and revoked["data"]["is_active"] is False
    closing = await agent_socket.comm.receive_output(timeout=3)
    assert closing["type"] == "websocket.close" and closing["code"] == 4403
    await sync_to_async(_admin_change)(supervisor, other_agent, role="supervisor")
    assert (await other_socket.next())["event"] == "access_revoked"
    assert (await other_socket.comm.receive_output(timeout=3))["code"] == 4403


async def test_a_new_room_of_an_imported_lead_carries_its_attributes_in_the_schema(supervisor):
    from tests.factories import LeadFactory

    await sync_to_async(LeadFactory)(
        name="Bu Ani",
        phone="6281300000099",
        do_not_contact=True,
        attributes={"due_date": "2027-01-05", "dpd": 12, "instalment": 1250000},
    )
    boss = await connect(supervisor)
    await webhook(_batch("6281300000099", ["halo"]))
    [frame] = await boss.events()  # check_frame validated it against the schema
    assert frame["event"] == "new_room_complete"
    assert frame["data"]["leads_info"]["attributes"]["dpd"] == 12
    assert frame["data"]["leads_info"]["do_not_contact"] is True
    await boss.close()


@pytest.mark.parametrize("existing_room", [False, True])
async def test_with_tasks_inline_a_customer_image_is_announced_after_its_message(
    supervisor, fake_graph, existing_room
):
    """The embedded default runs the media fetch at the commit: its `message_updated`
    (file ready) must follow the message's own event, or the page never learns the file
    arrived and shows "Downloading media..." until a reload."""
    fake_graph.media["1479537139650973"] = (b"\xff\xd8\xff" + b"j" * 200, "image/jpeg")
    if existing_room:
        await webhook(_batch("6281234567001", ["halo"]))
    boss = await connect(supervisor)
    await webhook(load_fixture("image"))
    names = [f["event"] for f in await boss.events()]
    created = "new_message" if existing_room else "new_room_complete"
    assert names == [created, "message_updated"], names
    await boss.close()
