"""Real concurrent requests against a live server on PostgreSQL."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from boztell.realtime import AGENTS_GROUP
from messaging.models import Message
from rooms.models import Room
from tests.helpers import load_fixture, post_live, text_webhook

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NEW_CUSTOMER = "6281277770000"


def _body(wamid, text, wa_id=NEW_CUSTOMER):
    return json.dumps(text_webhook(wa_id, wamid, text, name="Burst")).encode()


def _post(url, raw):
    return post_live(url, raw, timeout=30)


def test_concurrent_first_messages_of_a_new_customer_make_one_room_and_one_new_room_event(
    live_server, tap
):
    listener = tap(AGENTS_GROUP)
    bodies = [_body(f"wamid.BURST-{i}", f"burst {i}") for i in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda raw: _post(live_server.url, raw), bodies))
    assert [r.status_code for r in responses] == [200] * 12
    assert Room.objects.filter(phone=NEW_CUSTOMER).count() == 1
    assert Message.objects.filter(room__phone=NEW_CUSTOMER).count() == 12
    assert Room.objects.get(phone=NEW_CUSTOMER).message_count == 12
    events = [name for name, _ in listener.drain(timeout=1.0)]
    assert events.count("new_room_complete") == 1
    assert events.count("new_message") == 11


def test_concurrent_redeliveries_of_one_message_store_it_once(live_server, tap):
    listener = tap(AGENTS_GROUP)
    raw = _body("wamid.SAME-ONE", "only once")
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda r: _post(live_server.url, r), [raw] * 10))
    assert [r.status_code for r in responses] == [200] * 10
    assert Message.objects.filter(wa_message_id="wamid.SAME-ONE").count() == 1
    assert Room.objects.get(phone=NEW_CUSTOMER).message_count == 1
    events = [name for name, _ in listener.drain(timeout=1.0)]
    assert events == ["new_room_complete"]
    outcomes = [r.json()["handled"] for r in responses]
    assert sum(o.get("messages_created", 0) for o in outcomes) == 1
    assert sum(o.get("messages_duplicate", 0) for o in outcomes) == 9


def test_concurrent_statuses_for_one_message_end_on_the_highest(live_server, agent):
    from tests.factories import MessageFactory, RoomFactory

    message = MessageFactory(
        room=RoomFactory(phone=NEW_CUSTOMER),
        user=agent,
        wa_message_id="wamid.RACE",
        status="pending",
    )
    bodies = []
    for status in ["read", "sent", "delivered", "sent", "read", "delivered"] * 2:
        body = load_fixture("status_sent")
        body["entry"][0]["changes"][0]["value"]["statuses"][0].update(
            id="wamid.RACE", status=status
        )
        bodies.append(json.dumps(body).encode())
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda r: _post(live_server.url, r), bodies))
    assert all(r.status_code == 200 for r in responses)
    message.refresh_from_db()
    assert message.status == "read"


def test_webhooks_still_store_while_redis_is_down(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    from tests.helpers import signed_post

    response = signed_post(client, load_fixture("text"))
    assert response.status_code == 200
    assert Message.objects.count() == 1
    response = signed_post(client, load_fixture("reply"))
    assert response.status_code == 200
    assert Room.objects.get().message_count == 2


NEW_BSUID = "ID.9081978709340001"


def _bsuid_body(wamid, text, phone=None):
    """A username customer's text as Meta sends it: BSUID always, the number only if
    `phone` (then both ids, as when Meta shows the number)."""
    body = load_fixture("bsuid_text")
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["user_id"] = NEW_BSUID
    message = value["messages"][0]
    message.update(id=wamid, from_user_id=NEW_BSUID, text={"body": text})
    if phone:
        value["contacts"][0]["wa_id"] = phone
        message["from"] = phone
    return json.dumps(body).encode()


def test_concurrent_first_messages_of_a_new_username_customer_make_one_room(live_server, tap):
    listener = tap(AGENTS_GROUP)
    bodies = [_bsuid_body(f"wamid.BSUID-BURST-{i}", f"burst {i}") for i in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda raw: _post(live_server.url, raw), bodies))
    assert [r.status_code for r in responses] == [200] * 12
    room = Room.objects.get(user_id=NEW_BSUID)
    assert Room.objects.count() == 1 and room.phone is None
    assert Message.objects.filter(room=room).count() == 12 and room.message_count == 12
    events = [name for name, _ in listener.drain(timeout=1.0)]
    assert events.count("new_room_complete") == 1
    assert events.count("new_message") == 11


def test_concurrent_messages_by_bsuid_and_by_bsuid_with_phone_make_one_room(live_server):
    bodies = [
        _bsuid_body(f"wamid.BSUID-MIX-{i}", f"mix {i}", phone=NEW_CUSTOMER if i % 2 else None)
        for i in range(12)
    ]
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda raw: _post(live_server.url, raw), bodies))
    assert [r.status_code for r in responses] == [200] * 12
    room = Room.objects.get()
    assert (room.phone, room.user_id) == (NEW_CUSTOMER, NEW_BSUID)
    assert Message.objects.filter(room=room).count() == 12 and room.message_count == 12
