"""Business hours and the away message (issue 15 point 6): the hours helpers other
features use, and the away message through signed webhooks, the fake Graph API, the
event layer, the db_worker queue and admin."""

import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP, flush_events
from hours.models import AwayMessage, AwayMessageSent, BusinessHours, ClosedDate
from hours.selectors import (
    LONG_AGO,
    business_hours_open,
    closed_period_start,
    next_opening,
)
from messaging.models import Message
from rooms.models import Room
from tests.factories import MessageFactory, RoomParticipantFactory
from tests.helpers import signed_post, text_webhook

pytestmark = pytest.mark.django_db

WIB = ZoneInfo("Asia/Jakarta")
AWAY = "Terima kasih, kami sedang tutup. Kami balas besok pukul 08.00 WIB."
PHONE = "6281355500077"
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def wib(*args) -> datetime:
    return datetime(*args, tzinfo=WIB)


def office_hours():
    """Monday to Friday 08:00-12:00 and 13:00-17:00; Saturday evening until midnight."""
    for weekday in range(5):
        BusinessHours.objects.create(weekday=weekday, opens=time(8), closes=time(12))
        BusinessHours.objects.create(weekday=weekday, opens=time(13), closes=time(17))
    BusinessHours.objects.create(weekday=5, opens=time(20), closes=time(0))


# --- the helpers (hours/selectors.py) -------------------------------------------------------


def test_no_hours_configured_means_always_open():
    at = wib(2026, 11, 29, 3, 0)
    assert business_hours_open(at) and next_opening(at) == at
    assert closed_period_start(at) is None


def test_open_closed_and_next_opening_in_jakarta_time():
    office_hours()
    ClosedDate.objects.create(date=date(2026, 12, 25), reason="Natal")
    monday = wib(2026, 11, 30, 9, 0)
    assert business_hours_open(monday)
    assert business_hours_open(monday.astimezone(ZoneInfo("UTC")))  # 02:00 UTC is 09:00 WIB
    lunch = wib(2026, 11, 30, 12, 30)
    assert not business_hours_open(lunch)
    assert next_opening(lunch) == wib(2026, 11, 30, 13, 0)
    assert closed_period_start(lunch) == wib(2026, 11, 30, 12, 0)
    assert not business_hours_open(wib(2026, 11, 30, 17, 0))  # closing time is closed
    sunday = wib(2026, 11, 29, 10, 0)
    assert next_opening(sunday) == wib(2026, 11, 30, 8, 0)
    # Saturday 20:00 until midnight: the period started when Saturday evening ended.
    assert business_hours_open(wib(2026, 11, 28, 23, 59))
    assert closed_period_start(sunday) == wib(2026, 11, 29, 0, 0)
    # Christmas Friday is closed: from Thursday evening to Saturday evening.
    christmas_eve = wib(2026, 12, 24, 18, 0)
    assert next_opening(christmas_eve) == wib(2026, 12, 26, 20, 0)
    assert not business_hours_open(wib(2026, 12, 25, 9, 0))
    assert closed_period_start(wib(2026, 12, 25, 9, 0)) == wib(2026, 12, 24, 17, 0)


def test_a_schedule_closed_for_good_never_opens():
    BusinessHours.objects.create(weekday=0, opens=time(8), closes=time(9))
    ClosedDate.objects.bulk_create(
        ClosedDate(date=date(2025, 11, 1) + timedelta(days=day)) for day in range(800)
    )
    at = wib(2026, 11, 30, 8, 30)
    assert next_opening(at) is None and closed_period_start(at) == LONG_AGO


# --- the away message through signed webhooks ------------------------------------------------


@pytest.fixture
def closed_now():
    """The team is closed right now: office hours, and today is a holiday."""
    office_hours()
    ClosedDate.objects.create(date=timezone.now().astimezone(WIB).date(), reason="Libur")
    AwayMessage.objects.create(enabled=True, text=AWAY, quiet_minutes=30)


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def _post(body):
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_post(client, body)
        flush_events()
        assert response.status_code == 200, response.content
        return response

    return _post


def away_messages():
    return list(Message.objects.filter(user__username="system").order_by("created_at"))


def test_a_customer_writing_while_closed_gets_the_away_message_once(
    post, fake_graph, closed_now, tap
):
    listener = tap(AGENTS_GROUP, SUPERVISORS_GROUP)
    post(text_webhook(PHONE, "wamid.AWAY1", "Halo, saya mau bayar"))
    [away] = away_messages()
    assert away.content_text == AWAY and away.status == Message.Status.SENT
    assert away.metadata["automatic"] == "away_message" and away.wa_message_id
    assert away.user.role == "agent" and not away.user.is_active
    assert not away.user.has_usable_password()
    [sent] = fake_graph.messages_sent()
    assert sent["to"] == PHONE and sent["text"]["body"] == AWAY
    # Stored pending, then sent, with the events of any send: shown as the system's message.
    events = [(e, d) for e, d in listener.drain() if e in ("new_message", "message_status")]
    new = [d for e, d in events if e == "new_message" and d["user_id"] == str(away.user_id)]
    assert new and new[0]["status"] == "pending"
    assert any(e == "message_status" and d["status"] == "sent" for e, d in events)
    claim = AwayMessageSent.objects.get()
    assert claim.message == away and claim.room_id == away.room_id
    # More messages in the same closed period: nothing more.
    post(text_webhook(PHONE, "wamid.AWAY2", "Halo?"))
    post(text_webhook(PHONE, "wamid.AWAY3", "Tolong dibalas"))
    assert len(away_messages()) == 1 and len(fake_graph.messages_sent()) == 1
    # A redelivery of the first message changes nothing either.
    post(text_webhook(PHONE, "wamid.AWAY1", "Halo, saya mau bayar"))
    assert len(fake_graph.messages_sent()) == 1


def test_a_burst_in_one_body_gets_one_away_message(post, fake_graph, closed_now):
    body = text_webhook(PHONE, "wamid.BURST0", "satu")
    value = body["entry"][0]["changes"][0]["value"]
    template = value["messages"][0]
    value["messages"] = [
        {**template, "id": f"wamid.BURST{i}", "text": {"body": f"pesan {i}"}} for i in range(5)
    ]
    post(body)
    assert Message.objects.filter(user__isnull=True).count() == 5
    assert len(away_messages()) == 1 and len(fake_graph.messages_sent()) == 1


def test_no_away_message_while_open_or_when_it_is_off(post, fake_graph):
    for weekday in range(7):
        BusinessHours.objects.create(weekday=weekday, opens=time(0), closes=time(0))
    AwayMessage.objects.create(enabled=True, text=AWAY)
    post(text_webhook(PHONE, "wamid.OPEN1", "Halo"))
    assert away_messages() == []
    BusinessHours.objects.all().delete()
    BusinessHours.objects.create(weekday=0, opens=time(8), closes=time(9))
    ClosedDate.objects.create(date=timezone.now().astimezone(WIB).date())
    AwayMessage.objects.filter(pk=1).update(enabled=False)
    post(text_webhook(PHONE, "wamid.OFF1", "Halo"))
    assert away_messages() == [] and fake_graph.requests == []


def test_no_away_message_to_a_customer_an_agent_is_answering(post, fake_graph, closed_now, agent):
    room = Room.objects.create(phone=PHONE, title="Budi")
    RoomParticipantFactory(room=room, user=agent)
    reply = MessageFactory(room=room, user=agent, content_text="Sebentar ya, saya cek")
    Message.objects.filter(pk=reply.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    post(text_webhook(PHONE, "wamid.BUSY1", "Baik, saya tunggu"))
    assert away_messages() == [] and fake_graph.requests == []
    # The agent's last word was two hours ago: the customer is not being answered now.
    Message.objects.filter(pk=reply.pk).update(created_at=timezone.now() - timedelta(hours=2))
    post(text_webhook(PHONE, "wamid.BUSY2", "Halo? Masih ada?"))
    assert len(away_messages()) == 1


def test_a_reaction_does_not_trigger_the_away_message(post, fake_graph, closed_now):
    from tests.helpers import load_fixture

    post(load_fixture("reaction"))
    assert away_messages() == []


def test_the_system_user_cannot_log_in_or_use_the_api(post, fake_graph, closed_now, client):
    post(text_webhook(PHONE, "wamid.SYS1", "Halo"))
    [away] = away_messages()
    page = client.post("/login/", {"username": "system", "password": ""})
    assert page.status_code == 200 and "_auth_user_id" not in client.session
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=away.user)
    response = client.get("/rooms/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_webhook_only_queues_it_and_db_worker_sends_it(client, fake_graph, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DB_TASKS
    office_hours()
    ClosedDate.objects.create(date=timezone.now().astimezone(WIB).date())
    AwayMessage.objects.create(enabled=True, text=AWAY)
    response = signed_post(client, text_webhook(PHONE, "wamid.Q1", "Halo"))
    assert response.status_code == 200
    assert fake_graph.requests == [], "the webhook never calls the Graph API"
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.01")
    [away] = away_messages()
    assert away.status == Message.Status.SENT and len(fake_graph.messages_sent()) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_jobs_for_one_room_send_it_once(fake_graph):
    from hours.services import away_message_reply

    office_hours()
    ClosedDate.objects.create(date=timezone.now().astimezone(WIB).date())
    AwayMessage.objects.create(enabled=True, text=AWAY)
    now = timezone.now()
    room = Room.objects.create(
        phone=PHONE, title="Budi", last_customer_message_at=now, last_message_at=now
    )
    start = threading.Barrier(4)
    results = []

    def job():
        try:
            start.wait()
            results.append(away_message_reply(room_id=room.pk, at=now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already_sent"] * 3 + ["sent"]
    assert len(away_messages()) == 1 and len(fake_graph.messages_sent()) == 1


def test_supervisors_set_hours_closed_dates_and_the_away_message_in_admin(client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        "/admin/hours/businesshours/add/", {"weekday": "0", "opens": "08:00", "closes": "17:00"}
    )
    assert response.status_code == 302, response.content[:2000]
    backwards = client.post(
        "/admin/hours/businesshours/add/", {"weekday": "1", "opens": "17:00", "closes": "08:00"}
    )
    assert backwards.status_code == 200 and BusinessHours.objects.count() == 1
    response = client.post(
        "/admin/hours/closeddate/add/", {"date": "2026-12-25", "reason": "Natal"}
    )
    assert response.status_code == 302
    response = client.post(
        "/admin/hours/awaymessage/add/", {"enabled": "on", "text": AWAY, "quiet_minutes": "15"}
    )
    assert response.status_code == 302, response.content[:2000]
    away = AwayMessage.objects.get()
    assert (away.enabled, away.text, away.quiet_minutes) == (True, AWAY, 15)
    assert client.get("/admin/hours/awaymessage/add/").status_code == 403  # one only


def test_the_queued_path_reads_whether_the_away_message_is_on_with_the_bodies_it_takes(
    settings, client, fake_graph, closed_now, monkeypatch, django_capture_on_commit_callbacks
):
    """The webhook worker's statement that takes queued bodies also says whether the away
    message is on: no query of its own per batch, and the answer is the database's."""
    from webhooks.services import deliveries_process

    settings.WEBHOOK_QUEUE = True
    asked = []
    monkeypatch.setattr("hours.services.away_message_on", lambda: asked.append(1) or False)

    def deliver(wa_id, wamid):
        assert signed_post(client, text_webhook(wa_id, wamid, "Halo")).json()["queued"] == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert deliveries_process().bodies == 1
        flush_events()

    deliver(PHONE, "wamid.QUEUED1")
    [away] = away_messages()
    assert away.room.phone == PHONE and len(fake_graph.messages_sent()) == 1
    AwayMessage.objects.filter(pk=1).update(enabled=False)
    deliver("6281355500078", "wamid.QUEUED2")
    assert away_messages() == [away] and len(fake_graph.messages_sent()) == 1
    assert asked == []  # both answers came with the take
