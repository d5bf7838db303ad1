"""Signed bodies that Meta would never send, and what they get: a 4xx or a 200, never a 5xx,
and nothing half-stored. Mutations of the real fixtures (hypothesis) drive both set-ups,
inline and queued; then one test per kind of value PostgreSQL cannot hold as it came.
FUZZ_EXAMPLES sets how many mutated bodies each fuzz test posts; FUZZ_RANDOM=1 new ones."""

import json
import os

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging.models import Message
from rooms.models import Room
from tests.helpers import FIXTURES, load_fixture, signed_post
from webhooks.models import Delivery
from webhooks.parsing import ID_MAX, TEXT_MAX, TITLE_MAX
from webhooks.services import deliveries_process

pytestmark = pytest.mark.django_db

FIXTURE_NAMES = sorted(name[:-5] for name in os.listdir(FIXTURES) if name.endswith(".json"))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    # What a hostile customer puts in a media's type or id (issue 12.1, 12.9).
    st.sampled_from(
        ["text/html", "image/svg+xml", "application/xhtml+xml", "../../etc/passwd", "a/../b"]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node, prefix=()):
    if prefix:
        yield prefix
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_fixtures(draw):
    """A real fixture with one to three places replaced by any JSON value, or removed."""
    name = draw(st.sampled_from(FIXTURE_NAMES))
    body = load_fixture(name)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(body))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(VALUES)
    return body


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)


@FUZZ
@given(body=mutated_fixtures())
def test_a_mutated_body_gets_a_4xx_or_200_never_a_server_error(client, body):
    response = signed_post(client, body)
    assert response.status_code < 500, (json.dumps(body)[:2000], response.content[:500])
    if response.status_code >= 400:
        assert response.json()["error"]["code"]


@FUZZ
@given(body=mutated_fixtures())
def test_a_queued_mutated_body_is_answered_and_worked_without_failing(client, body):
    with override_settings(WEBHOOK_QUEUE=True):
        response = signed_post(client, body)
    assert response.status_code < 500, (json.dumps(body)[:2000], response.content[:500])
    # What webhook_worker runs (its own process would wait on this test's transaction).
    batch = deliveries_process()
    # A body the view accepted is one the worker can store: nothing waits, nothing failed.
    assert batch.failed == 0, json.dumps(body)[:2000]
    assert not Delivery.objects.exists()


# --- values PostgreSQL cannot hold as they came -------------------------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_malformed_json(client, constant):
    raw = json.dumps(load_fixture("location")).replace(
        '"latitude": ', f'"latitude": {constant}, "x": ', 1
    )
    response = signed_post(client, raw.encode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert not Message.objects.exists() and not Room.objects.exists()


def test_a_body_nested_past_the_parser_limit_is_malformed_json(client):
    raw = b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = signed_post(client, raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_a_nul_and_a_lone_surrogate_become_replacement_characters_and_emoji_stay(client):
    body = load_fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"]["name"] = "Bu\u0000di"
    value["messages"][0]["text"]["body"] = "sisa \ud800 pinjaman \U0001f600 lunas\u0000"
    value["messages"][0]["future"] = {"note": "\udc00"}
    response = signed_post(client, body)  # json.dumps escapes all of it, as Meta would
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.content_text == "sisa \ufffd pinjaman \U0001f600 lunas\ufffd"
    assert message.room.title == "Bu\ufffddi"


def test_wrong_json_types_are_read_as_absent_and_the_message_is_kept(client):
    body = load_fixture("interactive_button_reply")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"] = "not an object"
    message = value["messages"][0]
    message["interactive"]["type"] = {"button_reply": 1}  # unhashable where a key goes
    message["context"] = ["not", "an", "object"]
    message["timestamp"] = {"when": "now"}
    response = signed_post(client, body)
    assert response.status_code == 200
    stored = Message.objects.get()
    assert stored.content_type == "interactive"
    assert stored.content_text is None
    assert stored.reply_to_wa_message_id is None
    assert stored.room.title == stored.room.phone  # no profile name to show


def test_ids_past_256_characters_are_skipped_with_a_reason(client):
    body = load_fixture("text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid." + "A" * ID_MAX
    status = load_fixture("status_read")
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid." + "B" * 3000
    for payload in (body, status):
        response = signed_post(client, payload)
        assert response.status_code == 200
        assert response.json()["handled"] == {"skipped": 1}
    assert not Message.objects.exists() and not Room.objects.exists()


def test_an_odd_type_is_kept_as_unknown_with_the_type_it_came_with(client):
    body = load_fixture("text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["type"] = "Text " * 20
    response = signed_post(client, body)
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.content_type == "unknown"
    assert message.metadata["type"] == "Text " * 20
    assert message.room.last_message_type == "unknown"


def test_a_long_profile_name_titles_the_room_with_its_start(client):
    body = load_fixture("text")
    body["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "Siti " * 100
    assert signed_post(client, body).status_code == 200
    assert Room.objects.get().title == ("Siti " * 100)[:TITLE_MAX]


def test_a_text_too_long_for_search_keeps_its_start_there_and_all_of_it_in_metadata(client):
    # ~1.3 MB of distinct words: a full-text index entry over 1 MB is refused by PostgreSQL.
    text = " ".join(f"kata{i:x}" for i in range(150_000))
    body = load_fixture("text")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = text
    response = signed_post(client, body)
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.content_text == text[:TEXT_MAX]
    assert message.metadata["content_text_full"] == text
    assert message.room.last_message_text.startswith("kata0 kata1")


# Hostile bytes that got a 500 (issue 12, point 5): each is a 4xx with the error shape.


def test_a_signature_header_with_a_non_ascii_character_is_refused_not_a_server_error(client):
    raw = json.dumps(load_fixture("text")).encode()
    response = client.post(
        "/webhooks/whatsapp",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256="sha256=\u00e9" + "0" * 63,
    )
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not Message.objects.exists()


@pytest.mark.parametrize("queued", [False, True])
def test_a_signed_body_nested_700_deep_with_a_nul_is_malformed_json(client, queued):
    raw = '{"object": "whatsapp_business_account", "x": "\\u0000", "deep": ' + "[" * 700
    raw = (raw + "]" * 700 + "}").encode()
    with override_settings(WEBHOOK_QUEUE=queued):
        response = signed_post(client, raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert not Delivery.objects.exists() and not Message.objects.exists()
