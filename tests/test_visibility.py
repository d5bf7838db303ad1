"""Who may see a room is one rule, in rooms/selectors.py: every door asks it, its forms
agree, a participant is not assigned unless an assignment says so, and no other module
spells it again."""

import ast
from itertools import product
from pathlib import Path

import pytest

from rooms.models import Room, RoomParticipant
from rooms.selectors import room_visible_given, rooms_visible_to
from tests.factories import RoomFactory, RoomParticipantFactory

ROOT = Path(__file__).resolve().parent.parent
RULE_HOME = {"rooms/selectors.py", "rooms/models.py"}


@pytest.mark.django_db
def test_the_queryset_and_the_in_memory_form_agree_for_every_case(agent, other_agent, supervisor):
    """rooms_visible_to (REST, search, GET /events) and room_visible_given (sockets, from an
    event's audience) give the same answer for every user and every assignment."""
    users = [agent, other_agent, supervisor]
    for assignees in product([False, True], repeat=3):
        room = RoomFactory()
        for user, assigned in zip(users, assignees, strict=True):
            if assigned:
                RoomParticipantFactory(room=room, user=user)
            else:  # a read position only
                RoomParticipant.objects.create(room=room, user=user)
        assigned_ids = [u.pk for u, a in zip(users, assignees, strict=True) if a]
        for user in users:
            by_query = rooms_visible_to(user=user).filter(pk=room.pk).exists()
            by_audience = room_visible_given(user=user, assigned_user_ids=assigned_ids)
            by_wire = room_visible_given(
                user=user, assigned_user_ids=[str(i) for i in assigned_ids]
            )
            assert by_query == by_audience == by_wire, (user.username, assignees)


@pytest.mark.django_db
def test_a_participant_is_not_assigned_unless_an_assignment_says_so(
    agent, other_agent, other_agent_api
):
    """A participant row made for another reason (a read position, an admin row left
    unticked) hides the room from no one."""
    room = RoomFactory(last_message_text="hi")
    Room.objects.filter(pk=room.pk).update(last_message_at=room.created_at)
    participant = RoomParticipant.objects.create(room=room, user=agent)
    assert participant.is_assigned is False
    rows = other_agent_api.get("/rooms/").json()["results"]
    assert [r["room_id"] for r in rows] == [str(room.pk)]
    assert rows[0]["assigned_user_ids"] == []


def _visibility_spellings(source: str, name: str) -> list[str]:
    """Reads of the assignment outside the rule's home: a query on `is_assigned` (a
    filter/exclude/get/Q keyword or an `is_assigned__` lookup), SQL naming it, or a
    comprehension/condition testing it. Writes (`.update(is_assigned=...)`,
    `create(is_assigned=...)`, `participant.is_assigned = True`) are assignment, not
    visibility, and pass."""
    found = []
    queries = {"filter", "exclude", "get", "Q", "When", "first", "count"}
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in queries:
                found += [
                    f"{name}:{node.lineno} {called}({k.arg}=)"
                    for k in node.keywords
                    if k.arg and "is_assigned" in k.arg
                ]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if "is_assigned" in text and text != "is_assigned":
                found.append(f"{name}:{node.lineno} {text.strip()[:40]!r}")
        elif isinstance(node, ast.comprehension | ast.If | ast.IfExp):
            tests = node.ifs if isinstance(node, ast.comprehension) else [node.test]
            for test in tests:
                for inner in ast.walk(test):
                    if (isinstance(inner, ast.Attribute) and inner.attr == "is_assigned") or (
                        isinstance(inner, ast.Constant) and inner.value == "is_assigned"
                    ):
                        found.append(f"{name}:{test.lineno} tests is_assigned")
    return found


def test_no_module_but_rooms_selectors_spells_the_visibility_rule():
    """A second spelling of who may see a room fails CI: call rooms/selectors.py instead
    (rooms_visible_to, room_visible_given, room_event_groups, room_assigned_user_ids,
    assigned_participants, assigned_user_ids_of, assigned_user_ids_sql). Merging two rooms'
    participants (rooms/services.py _participants_merge) moves assignments, and is allowed
    by name."""
    found = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        name = str(path.relative_to(ROOT))
        if name.split("/")[0] in {".venv", "tests", "bench"} or "/migrations/" in name:
            continue
        if name not in RULE_HOME:
            found += _visibility_spellings(path.read_text(), name)
    allowed = _merge_lines()
    assert [hit for hit in found if hit.split(" ")[0] not in allowed] == []


def _merge_lines() -> set[str]:
    """rooms/services.py lines inside _participants_merge (it moves assignments)."""
    tree = ast.parse((ROOT / "rooms/services.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "_participants_merge":
            return {f"rooms/services.py:{n}" for n in range(node.lineno, node.end_lineno + 1)}
    return set()


@pytest.mark.parametrize(
    "spelling",
    [
        "RoomParticipant.objects.filter(room=room, is_assigned=True)",
        "rooms.filter(participants__is_assigned=True)",
        'SQL = "SELECT user_id FROM room_participants p WHERE p.is_assigned"',
        '[p["user_id"] for p in rows if p["is_assigned"]]',
        "[p.user_id for p in room.participants.all() if p.is_assigned]",
    ],
)
def test_the_check_sees_each_way_the_rule_was_spelt_before(spelling):
    assert _visibility_spellings(spelling, "rooms/payloads.py") != []
