"""Teams and automatic assignment (issue 15.2): routing rules, round robin and balanced
over online agents under capacity, the team queue handed out when an agent comes online
(a real socket) or frees capacity, team-scoped visibility, and real concurrent new
customers against PostgreSQL."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client

from boztell import presence
from boztell.realtime import SUPERVISORS_GROUP
from rooms.models import Room, RoomActivity, RoomParticipant, RoutingRule, Team, TeamMembership
from tests.helpers import post_live, signed_post, text_webhook
from tests.test_socket import check_frame, connect

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def online():
    """Mark users online the way a socket does (the real Redis presence set)."""
    marked = []

    def mark(*users):
        for user in users:
            channel = f"test-{user.pk}"
            async_to_sync(presence.presence_connect)(user.pk, channel)
            marked.append((user.pk, channel))

    yield mark
    for user_id, channel in marked:
        async_to_sync(presence.presence_disconnect)(user_id, channel)


def _agents(n, capacity=10):
    from tests.factories import UserFactory

    return [
        UserFactory(username=f"team-agent-{i}", display_name=f"Agent {i}", max_open_rooms=capacity)
        for i in range(n)
    ]


def _team(name, mode, members, default=False):
    team = Team.objects.create(name=name, mode=mode, is_default=default)
    for user in members:
        TeamMembership.objects.create(team=team, user=user)
    return team


def _customer(i, text="halo", client=None):
    phone = f"62813777{i:05d}"
    response = signed_post(
        client or Client(), text_webhook(phone, f"wamid.ASSIGN-{i}-{text}", text)
    )
    assert response.status_code == 200
    return Room.objects.get(phone=phone)


def _assignee(room):
    ids = list(
        RoomParticipant.objects.filter(room=room, is_assigned=True).values_list(
            "user_id", flat=True
        )
    )
    assert len(ids) <= 1
    return ids[0] if ids else None


def test_rooms_go_to_the_team_their_leads_rule_names_else_the_default_team(online):
    from tests.factories import LeadFactory

    sales_agent, collection_agent = _agents(2)
    sales = _team("Sales", Team.Mode.ROUND_ROBIN, [sales_agent])
    collection = _team("Collection", Team.Mode.ROUND_ROBIN, [collection_agent], default=True)
    RoutingRule.objects.create(position=1, loan_type="KTA", leads_status="new", team=sales)
    online(sales_agent, collection_agent)
    LeadFactory(phone="6281377700001", loan_type="KTA", leads_status="new")
    LeadFactory(phone="6281377700002", loan_type="KTA", leads_status="overdue")
    first, second, third = _customer(1), _customer(2), _customer(3)
    assert (first.team, _assignee(first)) == (sales, sales_agent.pk)
    assert (second.team, _assignee(second)) == (collection, collection_agent.pk)
    assert (third.team, _assignee(third)) == (collection, collection_agent.pk)  # no lead
    assert [a.text for a in RoomActivity.objects.filter(room=first).order_by("id")] == [
        "Routed to team Sales",
        "Assigned to Agent 0 (Sales, round robin)",
    ]


def test_round_robin_takes_turns_fairly_and_skips_offline_and_full_agents(online):
    a, b, c, offline = _agents(4)
    team = _team("Sales", Team.Mode.ROUND_ROBIN, [a, b, c, offline], default=True)
    online(a, b, c)
    order = sorted([a, b, c], key=lambda u: str(u.pk))
    got = [_assignee(_customer(i)) for i in range(6)]
    assert got == [u.pk for u in order] * 2
    assert offline.pk not in got
    # A full agent is skipped; the turn goes on after the one served.
    order[1].max_open_rooms = 2
    order[1].save()
    got = [_assignee(_customer(i)) for i in range(6, 10)]
    assert got == [order[0].pk, order[2].pk, order[0].pk, order[2].pk]
    team.refresh_from_db()
    assert team.last_assigned_user_id == order[2].pk


def test_balanced_gives_the_agent_with_fewest_open_rooms(online, agent_api):
    a, b = _agents(2)
    _team("Collection", Team.Mode.BALANCED, [a, b], default=True)
    online(a)
    for i in range(3):
        assert _assignee(_customer(i)) == a.pk  # only A online
    online(b)  # B comes online: the queue is empty, B is less loaded
    got = [_assignee(_customer(i)) for i in range(3, 7)]
    assert got[:3] == [b.pk] * 3  # B catches up to A's three
    assert got[3] in (a.pk, b.pk)
    loads = {u: RoomParticipant.objects.filter(user=u, is_assigned=True).count() for u in (a, b)}
    assert sorted(loads.values()) == [3, 4]


def _api(user):
    from tests.conftest import _token_client

    return _token_client(user)


def test_team_queue_visibility_and_hand_out_on_connect(supervisor):
    agent, outsider = _agents(2)
    team = _team("Collection", Team.Mode.ROUND_ROBIN, [agent], default=True)
    room = _customer(1)
    assert room.team == team and _assignee(room) is None  # nobody online: it waits
    # The team's agent sees it as Unassigned; an agent of no team does not see it at all.
    listed = _api(agent).get("/rooms/?filter=unassigned").json()["results"]
    assert [r["room_id"] for r in listed] == [str(room.pk)]
    assert _api(outsider).get(f"/rooms/{room.pk}").status_code == 404
    assert _api(outsider).get("/rooms/").json()["results"] == []
    assert _api(supervisor).get(f"/rooms/{room.pk}").status_code == 200

    async def connect_and_listen():
        s = await connect(supervisor)
        a = await connect(agent)
        frames = await a.events()
        sup = await s.events()
        await a.close()
        await s.close()
        return frames, sup

    frames, sup = async_to_sync(connect_and_listen)()
    assigned = [f["data"] for f in frames if f["event"] == "room_assigned"]
    assert [(d["room_id"], d["assigned_user_ids"], d["assigned_by"]) for d in assigned] == [
        (str(room.pk), [str(agent.pk)], None)
    ]
    assert assigned[0]["activity"]["text"] == "Assigned to Agent 0 (Collection, round robin)"
    assert any(f["event"] == "room_assigned" for f in sup)
    assert _assignee(room) == agent.pk


async def test_an_unassigned_team_rooms_events_reach_that_team_only(supervisor):
    agent, outsider = await sync_to_async(_agents)(2)
    await sync_to_async(_team)("Collection", Team.Mode.MANUAL, [agent], default=True)
    a, o, s = [await connect(u) for u in (agent, outsider, supervisor)]
    await sync_to_async(_customer)(1)
    got_a, got_o, got_s = [await sock.events() for sock in (a, o, s)]
    assert [f["event"] for f in got_a] == ["new_room_complete"]
    assert [f["event"] for f in got_s] == ["new_room_complete"]
    assert got_o == []
    room = await sync_to_async(Room.objects.get)(phone="6281377700001")
    await o.send(action="join_room", room_id=str(room.pk))
    assert (await o.next())["data"]["code"] == "room_not_visible"
    for sock in (a, o, s):
        await sock.close()


def test_freed_capacity_hands_the_queue_out_at_once(online, tap):
    (agent,) = _agents(1, capacity=1)
    _team("Collection", Team.Mode.ROUND_ROBIN, [agent], default=True)
    online(agent)
    first = _customer(1)
    second = _customer(2)
    assert _assignee(first) == agent.pk and _assignee(second) is None  # full: it waits
    listener = tap(SUPERVISORS_GROUP)
    api = _api(agent)
    assert (
        api.post(f"/rooms/{first.pk}/status", {"status": "resolved"}, format="json").status_code
        == 200
    )
    assert _assignee(second) == agent.pk
    events = [(n, d) for n, d in listener.drain() if n == "room_assigned"]
    assert [(d["room_id"], d["assigned_user_ids"]) for _, d in events] == [
        (str(second.pk), [str(agent.pk)])
    ]
    for name, data in events:
        check_frame({"event": name, "data": data, "cursor": 1})
    # The resolved room's customer writes again: it reopens with its agent (over capacity
    # for continuity), and nothing else is handed to the full agent.
    third = _customer(3)
    _customer(1, text="lagi")
    first.refresh_from_db()
    assert first.status == "open" and _assignee(first) == agent.pk
    assert _assignee(third) is None
    # Releasing a room frees the place too (the released room itself waits in the queue).
    assert api.post(f"/rooms/{second.pk}/unassign").status_code == 200
    assert _assignee(third) is None  # first (reopened) still counts: 1 open room = capacity


def test_a_manual_team_only_queues(online):
    (agent,) = _agents(1)
    team = _team("Sales", Team.Mode.MANUAL, [agent], default=True)
    online(agent)
    room = _customer(1)
    assert room.team == team and _assignee(room) is None
    assert _api(agent).post(f"/rooms/{room.pk}/assign", {}, format="json").status_code == 200
    assert _assignee(room) == agent.pk
    assert (
        RoomActivity.objects.filter(room=room).latest("id").text == "Agent 0 took the conversation"
    )


@pytest.mark.slow
def test_concurrent_new_customers_never_get_two_agents_nor_exceed_capacity(
    live_server, online, tap
):
    agents = _agents(3, capacity=3)
    _team("Collection", Team.Mode.ROUND_ROBIN, agents[:2], default=True)
    _team("Sales", Team.Mode.BALANCED, agents[1:], default=False)
    RoutingRule.objects.create(position=1, loan_type="KPR", team=Team.objects.get(name="Sales"))
    from tests.factories import LeadFactory

    for i in range(0, 16, 2):  # half the customers are Sales leads: agent 1 is in both teams
        LeadFactory(phone=f"62813777{i:05d}", loan_type="KPR")
    online(*agents)
    listener = tap(SUPERVISORS_GROUP)
    bodies = [
        json.dumps(text_webhook(f"62813777{i:05d}", f"wamid.CONC-{i}", f"halo {i}")).encode()
        for i in range(16)
    ]
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda raw: post_live(live_server.url, raw, timeout=60), bodies))
    assert [r.status_code for r in responses] == [200] * 16
    assert Room.objects.count() == 16
    per_room = {}
    for p in RoomParticipant.objects.filter(is_assigned=True):
        per_room.setdefault(p.room_id, []).append(p.user_id)
    assert all(len(users) == 1 for users in per_room.values())
    loads = {a.pk: 0 for a in agents}
    for (user_id,) in per_room.values():
        loads[user_id] += 1
    assert loads == {a.pk: 3 for a in agents}  # 9 places, all filled, none exceeded
    queued = Room.objects.exclude(pk__in=per_room)
    assert queued.count() == 7 and all(r.team_id for r in queued)
    events = [d for n, d in listener.drain(timeout=1.0) if n == "room_assigned"]
    auto = [d for d in events if d["assigned_user_ids"]]
    assert sorted(d["room_id"] for d in auto) == sorted(str(r) for r in per_room)


def test_supervisors_manage_teams_members_mode_rules_and_capacity_in_admin(
    client, supervisor, online
):
    agent, other = _agents(2)
    client.force_login(supervisor)
    assert client.get("/admin/rooms/team/add/").status_code == 200
    room = _customer(1)  # no team yet: nothing to route to
    assert room.team_id is None
    online(agent)
    response = client.post(
        "/admin/rooms/team/add/",
        {
            "name": "Collection",
            "mode": "balanced",
            "is_default": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-user": str(agent.pk),
            "rules-TOTAL_FORMS": "1",
            "rules-INITIAL_FORMS": "0",
            "rules-MIN_NUM_FORMS": "0",
            "rules-MAX_NUM_FORMS": "1000",
            "rules-0-position": "1",
            "rules-0-loan_type": "KTA",
            "rules-0-leads_status": "",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    team = Team.objects.get(name="Collection")
    assert team.mode == "balanced" and team.is_default
    assert list(team.members.all()) == [agent]
    assert RoutingRule.objects.get().loan_type == "KTA"
    page = client.get(f"/admin/rooms/team/{team.pk}/change/")
    assert page.status_code == 200 and b"Agent 0" in page.content
    assert client.get("/admin/rooms/team/").status_code == 200
    assert client.get("/admin/rooms/routingrule/").status_code == 200
    # The next new customer goes to the team's online agent.
    assert _assignee(_customer(2)) == agent.pk
    # Capacity is edited on the user.
    user_page = client.get(f"/admin/boztell/user/{other.pk}/change/")
    assert b"max_open_rooms" in user_page.content
    response = client.post(
        f"/admin/boztell/user/{other.pk}/change/",
        {
            "username": other.username,
            "display_name": other.display_name,
            "email": "",
            "role": "agent",
            "is_active": "on",
            "max_open_rooms": "3",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    other.refresh_from_db()
    assert other.max_open_rooms == 3


async def test_an_agent_added_to_a_team_in_admin_is_reconnected_to_hear_its_queue(
    supervisor,
):
    (agent,) = await sync_to_async(_agents)(1)
    team = await sync_to_async(_team)("Sales", Team.Mode.MANUAL, [], default=True)
    a = await connect(agent)

    def add_member():
        c = Client()
        c.force_login(supervisor)
        return c.post(
            f"/admin/rooms/team/{team.pk}/change/",
            {
                "name": "Sales",
                "mode": "manual",
                "is_default": "on",
                "memberships-TOTAL_FORMS": "1",
                "memberships-INITIAL_FORMS": "0",
                "memberships-MIN_NUM_FORMS": "0",
                "memberships-MAX_NUM_FORMS": "1000",
                "memberships-0-user": str(agent.pk),
                "rules-TOTAL_FORMS": "0",
                "rules-INITIAL_FORMS": "0",
                "rules-MIN_NUM_FORMS": "0",
                "rules-MAX_NUM_FORMS": "1000",
            },
        )

    response = await sync_to_async(add_member)()
    assert response.status_code == 302
    revoked = await a.next()
    assert revoked["event"] == "access_revoked"
    await a.close()
    a = await connect(agent)  # reconnected: hears the team's unassigned rooms
    await sync_to_async(_customer)(1)
    assert [f["event"] for f in await a.events()] == ["new_room_complete"]
    await a.close()


async def test_status_events_of_an_unassigned_team_rooms_message_reach_that_team_only(
    supervisor,
):
    from tests.factories import MessageFactory
    from tests.helpers import load_fixture
    from tests.test_socket import webhook

    agent, outsider = await sync_to_async(_agents)(2)
    await sync_to_async(_team)("Collection", Team.Mode.MANUAL, [agent], default=True)
    room = await sync_to_async(_customer)(1)
    await sync_to_async(MessageFactory)(
        room=room, user=supervisor, wa_message_id="wamid.TEAM-STATUS", status="sent"
    )
    a, o = await connect(agent), await connect(outsider)
    body = load_fixture("status_sent")
    body["entry"][0]["changes"][0]["value"]["statuses"][0].update(
        id="wamid.TEAM-STATUS", status="delivered"
    )
    await webhook(body)
    assert [f["event"] for f in await a.events()] == ["message_status"]
    assert await o.events() == []
    for sock in (a, o):
        await sock.close()


def _user_form(user, **changes) -> dict:
    """The admin's user change form as a supervisor's browser posts it."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
        "max_open_rooms": str(user.max_open_rooms),
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        **changes,
    }


def test_a_capacity_raised_in_admin_hands_out_the_queue_at_once(client, supervisor, online, tap):
    """Issue 15 leftover: the supervisor raises a full agent's capacity on the user's admin
    page (or in the user list) and the rooms waiting in the agent's team queue come to
    the agent at once, with their events, not at the next room that frees a place."""
    from boztell.models import User

    (agent,) = _agents(1, capacity=1)
    _team("Collection", Team.Mode.ROUND_ROBIN, [agent], default=True)
    online(agent)
    first, second, third = _customer(1), _customer(2), _customer(3)
    assert (_assignee(first), _assignee(second), _assignee(third)) == (agent.pk, None, None)
    listener = tap(SUPERVISORS_GROUP)
    client.force_login(supervisor)

    response = client.post(
        f"/admin/boztell/user/{agent.pk}/change/", _user_form(agent, max_open_rooms="2")
    )
    assert response.status_code == 302, response.content[:2000]
    assert _assignee(second) == agent.pk and _assignee(third) is None
    events = [d for n, d in listener.drain() if n == "room_assigned"]
    assert [(d["room_id"], d["assigned_user_ids"]) for d in events] == [
        (str(second.pk), [str(agent.pk)])
    ]

    # The user list's editable capacity column does the same.
    users = list(User.objects.order_by("username"))
    form = {
        "form-TOTAL_FORMS": str(len(users)),
        "form-INITIAL_FORMS": str(len(users)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, user in enumerate(users):
        form[f"form-{i}-id"] = str(user.pk)
        form[f"form-{i}-max_open_rooms"] = "3" if user.pk == agent.pk else str(user.max_open_rooms)
    response = client.post("/admin/boztell/user/", form)
    assert response.status_code == 302, response.content[:2000]
    assert _assignee(third) == agent.pk


@pytest.mark.postgresql_only(reason="row locks and deadlock detection are PostgreSQL's")
def test_an_agent_opening_a_room_while_a_supervisor_assigns_it_to_them_is_no_deadlock(
    agent_api, agent, supervisor
):
    """The assignment holds the room row and inserts the agent's participant; the agent's
    mark-read (opening the room) inserts the same participant. Each must take the room
    row first, or the two wait on each other and PostgreSQL kills one."""
    import threading

    from django.db import connection, transaction

    from rooms.services import room_assign
    from tests.factories import RoomFactory

    room = RoomFactory(phone="6281234560999")
    locked, inserted = threading.Event(), threading.Event()
    answers = {}

    def assign():
        try:
            with transaction.atomic():
                # room_assign's first step, held open while the agent opens the room
                list(Room.objects.select_for_update().filter(pk=room.pk))
                locked.set()
                inserted.wait(2)  # the agent's request is under way (or blocked) by now
                room_assign(room=room, agent=agent, by=supervisor)
        finally:
            connection.close()

    def open_room():
        locked.wait(5)
        threading.Timer(1.0, inserted.set).start()
        try:
            answer = agent_api.post("/messages/mark-read", {"room_id": str(room.pk)}, format="json")
            answers["read"] = answer.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=assign), threading.Thread(target=open_room)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers.get("read") == 200, answers
    participant = RoomParticipant.objects.get(room=room, user=agent)
    assert participant.is_assigned and participant.last_read_at is not None
