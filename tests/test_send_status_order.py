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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("queued", [False, True], ids=["inline", "queued"])
def test_a_status_kept_while_its_wamid_was_stored_is_applied_by_db_worker(
    open_room, tap, settings, monkeypatch, queued
):
    """The race no sender can see: the webhook looked for the wamid before the sender's
    commit and kept the status; the sender looked for kept statuses before the webhook's
    commit. The webhook queued a sweep; `db_worker` (in both Procfiles; no campaign worker
    running) applies the status a few seconds later, with its event."""
    import time

    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    from messaging import tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.WEBHOOK_QUEUE = queued
    monkeypatch.setattr(tasks, "_sweep_queued_until", 0.0, raising=False)
    from tests.factories import UserFactory

    # A send in flight: stored pending, Meta called, its answer not recorded yet.
    message = MessageFactory(
        room=open_room, user=UserFactory(), wa_message_id=None, status=Message.Status.PENDING
    )
    listener = tap(SUPERVISORS_GROUP)
    wamid = "wamid.RACED-1"
    response = signed_post(Client(), status_webhook(wamid, "delivered", "1764000010"))
    assert response.status_code == 200
    if queued:
        call_command("webhook_worker", "--once")
    assert PendingStatus.objects.filter(wa_message_id=wamid).exists()
    # The sender's commit, which had found no kept status: the wamid, `sent`.
    Message.objects.filter(pk=message.pk).update(wa_message_id=wamid, status="sent")
    task = DBTaskResult.objects.get(task_path="messaging.tasks.pending_statuses_sweep_later")
    while timezone.now() <= task.run_after:
        time.sleep(0.1)
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.01")

    message.refresh_from_db()
    assert message.status == "delivered"
    assert not PendingStatus.objects.exists()
    steps = [
        data["status"]
        for event, data in listener.drain()
        if event == "message_status" and data["id"] == str(message.pk)
    ]
    assert steps == ["delivered"]
