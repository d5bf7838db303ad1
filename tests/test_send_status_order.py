"""A send whose status webhooks overtake Meta's answer: every step forward is one event,
in order (sent, then delivered, then read), and the message ends at the furthest."""

import copy

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from boztell.realtime import SUPERVISORS_GROUP
from messaging.models import Message, PendingStatus
from tests.factories import MessageFactory, RoomFactory
from tests.helpers import load_fixture, signed_post

CUSTOMER = "6281234567001"


def status_webhook(wamid: str, status: str, timestamp: str) -> dict:
    body = copy.deepcopy(load_fixture("status_delivered"))
    entry = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    entry.update({"id": wamid, "status": status, "timestamp": timestamp})
    return body


@pytest.fixture
def open_room(transactional_db):
    now = timezone.now()
    room = RoomFactory(phone=CUSTOMER, last_customer_message_at=now, last_message_at=now)
    MessageFactory(room=room, wa_message_id="wamid.CUSTOMER-1", content_text="Halo")
    return room


def overtake_with(fake_graph, statuses: list[str], answers: list):
    """While Meta holds its answer to the send, its status webhooks for that wamid reach
    our webhook door (another thread, its own database connection, as another server
    process would)."""

    def on_send(payload, wamid):
        try:
            for n, status in enumerate(statuses):
                response = signed_post(Client(), status_webhook(wamid, status, f"17640000{n}0"))
                answers.append(response.status_code)
        finally:
            connections.close_all()

    fake_graph.on_send = on_send


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "early, expected",
    [
        (["delivered"], ["sent", "delivered"]),
        (["delivered", "read"], ["sent", "delivered", "read"]),
        (["read", "delivered"], ["sent", "delivered", "read"]),
    ],
)
def test_statuses_that_overtake_metas_answer_are_emitted_once_each_in_order(
    open_room, agent_api, fake_graph, tap, early, expected
):
    listener = tap(SUPERVISORS_GROUP)
    answers: list[int] = []
    overtake_with(fake_graph, early, answers)

    response = agent_api.post("/messages/send", {"to": CUSTOMER, "text": "Halo, Bu"}, format="json")

    assert response.status_code == 201, response.content
    assert answers == [200] * len(early)
    message = Message.objects.get(pk=response.json()["id"])
    assert message.wa_message_id == "wamid.FAKE000001"
    assert message.status == expected[-1]
    assert not PendingStatus.objects.exists()
    steps = [
        data["status"]
        for event, data in listener.drain()
        if event == "message_status" and data["id"] == str(message.pk)
    ]
    assert steps == expected
