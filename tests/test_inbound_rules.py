"""The inbound rules (messaging/services/rules.py) through the webhook and the send API, on
both databases: scripts/test runs this file on PostgreSQL and again on SQLite
(tests/settings_sqlite.py), so the embedded default's write path is the one tested."""

import ast
from pathlib import Path

import pytest

from messaging.models import Message
from rooms.models import Room
from tests.factories import LeadFactory, RoomFactory
from tests.helpers import load_fixture, signed_post

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER = "6281234567001"


def _body(*messages, profile="Dewi Lestari", wa_id=CUSTOMER, username=None):
    body = load_fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"] = {"name": profile} if profile else {}
    if username:
        value["contacts"][0]["profile"]["username"] = username
    value["contacts"][0]["wa_id"] = wa_id
    value["messages"] = [
        {"from": wa_id, "id": wamid, "timestamp": "1764000000", "type": "text", **extra}
        for wamid, extra in messages
    ]
    return body


def _text(wamid, text):
    return wamid, {"text": {"body": text}}


def test_a_run_into_an_existing_room_updates_its_list_fields_and_placeholder_title(client):
    """The bulk path: a room known only by its phone takes the profile name; the latest
    message, the count, the window and the username move with the run."""
    room = RoomFactory(phone=CUSTOMER, title=CUSTOMER)
    body = _body(_text("wamid.R-1", "one"), _text("wamid.R-2", "two"), username="dewi")
    assert signed_post(client, body).status_code == 200
    room.refresh_from_db()
    last = Message.objects.get(wa_message_id="wamid.R-2")
    assert (room.title, room.username) == ("Dewi Lestari", "dewi")
    assert (room.last_message_text, room.last_message_type) == ("two", "text")
    assert room.last_message_at == last.created_at == room.last_customer_message_at
    assert room.message_count == 2


def test_a_room_with_a_lead_or_a_real_title_keeps_its_title(client):
    lead = LeadFactory(phone=CUSTOMER, name="Budi Santoso")
    with_lead = RoomFactory(phone=CUSTOMER, lead=lead, title=CUSTOMER)
    named = RoomFactory(phone="6281234567002", title="Pak Agus")
    signed_post(client, _body(_text("wamid.T-1", "hi")))
    signed_post(client, _body(_text("wamid.T-2", "hi"), wa_id="6281234567002"))
    with_lead.refresh_from_db()
    named.refresh_from_db()
    assert (with_lead.title, with_lead.display_title) == (CUSTOMER, "Budi Santoso")
    assert named.title == "Pak Agus"
    assert with_lead.message_count == named.message_count == 1


def test_a_new_customers_first_message_and_a_later_one_follow_the_same_rule(client):
    """The first message (one at a time: it makes the room) and the next (in bulk)."""
    signed_post(client, _body(_text("wamid.N-1", "first"), profile=""))
    room = Room.objects.get()
    assert (room.title, room.message_count, room.last_message_text) == (CUSTOMER, 1, "first")
    signed_post(client, _body(_text("wamid.N-2", "second")))
    room.refresh_from_db()
    assert (room.title, room.message_count, room.last_message_text) == (
        "Dewi Lestari",
        2,
        "second",
    )
    second = Message.objects.get(wa_message_id="wamid.N-2")
    assert room.last_customer_message_at == second.created_at


def test_an_agents_send_moves_the_list_but_not_the_customers_window(client, agent_api):
    signed_post(client, _body(_text("wamid.S-1", "hello")))
    room = Room.objects.get()
    window = room.last_customer_message_at
    response = agent_api.post(
        "/messages/send", {"room_id": str(room.pk), "text": "Selamat pagi"}, format="json"
    )
    assert response.status_code in (200, 201), response.content
    room.refresh_from_db()
    assert (room.last_message_text, room.message_count) == ("Selamat pagi", 2)
    assert room.last_customer_message_at == window
    assert room.title == "Dewi Lestari"


def test_statuses_move_forward_only_in_bulk_and_alone(client, agent):
    from tests.factories import MessageFactory

    room = RoomFactory(phone=CUSTOMER)
    sent = [
        MessageFactory(room=room, user=agent, wa_message_id=f"wamid.O-{i}", status="sent")
        for i in range(2)
    ]
    body = load_fixture("status_sent")
    value = body["entry"][0]["changes"][0]["value"]
    template = value["statuses"][0]
    value["statuses"] = [
        {**template, "id": "wamid.O-0", "status": "read", "recipient_id": CUSTOMER},
        {**template, "id": "wamid.O-0", "status": "delivered", "recipient_id": CUSTOMER},
        {**template, "id": "wamid.O-1", "status": "delivered", "recipient_id": CUSTOMER},
        {**template, "id": "wamid.O-1", "status": "pending", "recipient_id": CUSTOMER},
    ]
    assert signed_post(client, body).status_code == 200
    for message in sent:
        message.refresh_from_db()
    assert [m.status for m in sent] == ["read", "delivered"]


# --- Each rule is written once -------------------------------------------------------

ROOM_LIST_FIELDS = {"last_message_text", "last_message_at", "last_customer_message_at"}


def _python_files():
    for path in sorted(ROOT.glob("*/**/*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in {".venv", "tests", "bench", "node_modules"} or "migrations" in parts:
            continue
        yield path


def room_list_writes(source: str, name: str) -> list[str]:
    """Where `source` writes a room-list field: a keyword of a write (`.update(...=)`),
    a dict key (`changes = {"last_message_text": ...}`; not in a module that renders
    payloads), an attribute set (`room.last_message_at = ...`) or a SQL `SET field =`."""
    renders = name.endswith(("events.py", "payloads.py", "api.py", "serializers.py"))
    found = []
    writes = {"update", "create", "update_or_create", "get_or_create", "Room"}
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in writes:
                found += [
                    f"{name}:{node.lineno} {called}({k.arg}=)"
                    for k in node.keywords
                    if k.arg in ROOM_LIST_FIELDS
                ]
        elif isinstance(node, ast.Dict) and not renders:
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            found += [f"{name}:{node.lineno} {{{k!r}}}" for k in keys & ROOM_LIST_FIELDS]
        elif isinstance(node, ast.Assign):
            found += [
                f"{name}:{node.lineno} .{t.attr} ="
                for t in node.targets
                if isinstance(t, ast.Attribute) and t.attr in ROOM_LIST_FIELDS
            ]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and any(f"{field} =" in node.value for field in ROOM_LIST_FIELDS)
        ):
            found.append(f"{name}:{node.lineno} SQL")
    return found


def test_the_room_list_fields_of_a_new_message_are_written_in_rules_py_only():
    """A second spelling of the room-list rule outside messaging/services/rules.py fails
    here. Merging two rooms (rooms/services.py) copies the fields from one room to the
    other, which is not this rule."""
    allowed = {"messaging/services/rules.py", "rooms/services.py", "rooms/models.py"}
    found = []
    for path in _python_files():
        name = str(path.relative_to(ROOT))
        if name not in allowed:
            found += room_list_writes(path.read_text(), name)
    assert found == []
    # The check sees the spellings it is for (the ORM one this rule replaced).
    orm = 'Room.objects.filter(pk=pk).update(**{"last_message_text": m.content_text})'
    assert room_list_writes(orm, "messaging/services/receive.py") != []
