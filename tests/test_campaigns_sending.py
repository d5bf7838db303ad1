"""The campaign worker in this process against the fake Graph API: Meta's refusals fail
one recipient and never the campaign, throttling backs off and retries, the frequency cap
is retried only if allowed, an expired token pauses the campaign and tells supervisors;
the pair rate holds; statuses and replies arrive through the real webhook and reach the
recipient rows; an opt-out keyword or button marks the customer and is confirmed."""

import json
from pathlib import Path

import jsonschema
import pytest

from tests.campaign_helpers import (
    OFFER,
    REMINDER,
    addresses_sent,
    make_template,
    rows,
    run_worker_once,
    started_campaign,
)
from tests.fake_graph import META_ERRORS
from tests.helpers import signed_post, text_webhook

pytestmark = pytest.mark.django_db(transaction=True)
SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"


@pytest.fixture
def fake_graph(fake_graph):
    """The fake Graph API knows the campaign templates (Meta refuses others: 132001)."""
    fake_graph.templates = [REMINDER, OFFER]
    return fake_graph


def _recipients(campaign) -> dict:
    return {r.identity: r for r in campaign.recipients.all()}


def test_metas_refusals_fail_one_recipient_each_and_throttling_is_retried(fake_graph, supervisor):
    from campaigns.models import Campaign
    from messaging.models import Message

    audience = rows(9)
    phones = [f"62812{i:08d}" for i in range(9)]
    errors = {1: 131026, 2: 130429, 3: 131056, 4: 131049, 5: 132000, 6: 132001, 7: 131047}
    for index, code in errors.items():
        fake_graph.errors_for[phones[index]] = [META_ERRORS[code]]
    bsuid = "ID.2081978709342942"
    audience.append({"to": bsuid, "name": "Ayu", "amount": 1, "due": "2026-12-01"})
    fake_graph.errors_for[bsuid] = [META_ERRORS[131062]]
    campaign = started_campaign(supervisor, audience)

    assert run_worker_once() == "done"

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    got = _recipients(campaign)
    assert {k: (r.status, r.reason) for k, r in got.items()} == {
        phones[0]: ("sent", ""),
        phones[1]: ("failed", "meta_131026"),
        phones[2]: ("sent", ""),  # 130429: backed off, then sent
        phones[3]: ("sent", ""),  # 131056: backed off, then sent
        phones[4]: ("failed", "meta_131049"),  # not retried: the campaign does not allow it
        phones[5]: ("failed", "meta_132000"),
        phones[6]: ("failed", "meta_132001"),
        phones[7]: ("failed", "meta_131047"),
        phones[8]: ("sent", ""),
        bsuid: ("failed", "meta_131062"),
    }
    assert got[phones[1]].error["code"] == 131026
    assert got[phones[1]].error["message"] == "Message undeliverable"
    assert got[phones[2]].attempts == 2 and got[phones[3]].attempts == 2
    sent = addresses_sent(fake_graph)
    assert sent[phones[2]] == 2 and sent[phones[3]] == 2  # the refused try, then the send
    assert all(n == 1 for a, n in sent.items() if a not in (phones[2], phones[3]))
    # Each recipient's message is in the customer's room, from the campaign's creator.
    message = got[phones[0]].message
    assert message.user_id == supervisor.pk and message.status == "sent"
    assert message.room.phone == phones[0]
    assert message.metadata["campaign"] == {
        "id": str(campaign.pk),
        "name": campaign.name,
        "recipient_id": got[phones[0]].pk,
    }
    assert message.content_text.startswith("Halo Nasabah 0, cicilan Anda sebesar Rp 1.500.000")
    failed = Message.objects.get(pk=got[phones[1]].message_id)
    assert failed.status == "failed" and failed.metadata["error"]["code"] == 131026
    payload = next(p for p in fake_graph.messages_sent() if p.get("to") == phones[0])
    assert payload["template"] == {
        "name": "cicilan_reminder",
        "language": {"code": "id"},
        "components": got[phones[0]].components,
    }


def test_the_frequency_cap_is_retried_later_only_when_the_campaign_allows(fake_graph, supervisor):
    """131049 at once: the campaign is done (its worker is free for other campaigns), says
    what waits, and runs again for the recipient when the retry time comes."""
    from datetime import timedelta

    from django.utils import timezone

    from campaigns.models import CampaignRecipient

    campaign = started_campaign(supervisor, rows(2), retry_frequency_capped_hours=24)
    fake_graph.errors_for["6281200000001"] = [META_ERRORS[131049]]
    assert run_worker_once() == "done"
    capped = CampaignRecipient.objects.filter(campaign=campaign, identity="6281200000001")
    row = capped.get()
    assert row.reason == "meta_131049" and row.next_attempt_at > timezone.now() + timedelta(
        hours=23
    )
    campaign.refresh_from_db()
    assert campaign.status == "done"
    assert campaign.status_reason.startswith("1 held back by Meta (131049) to send again from")
    assert run_worker_once() is None  # not due: nothing runs
    capped.update(next_attempt_at=timezone.now())  # a day later
    assert run_worker_once() == "done"
    assert capped.get().status == "sent"
    assert addresses_sent(fake_graph)["6281200000001"] == 2
    campaign.refresh_from_db()
    assert campaign.status_reason == ""


def test_a_done_campaign_whose_131049_retries_wait_can_be_cancelled(
    fake_graph, supervisor, supervisor_api, client
):
    from django.utils import timezone

    campaign = started_campaign(supervisor, rows(2), retry_frequency_capped_hours=1)
    fake_graph.errors_for["6281200000001"] = [META_ERRORS[131049]]
    assert run_worker_once() == "done"
    client.force_login(supervisor)
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert b"Cancel campaign" in page.content and b"held back by Meta (131049)" in page.content
    response = supervisor_api.post(f"/campaigns/{campaign.pk}/cancel")
    assert response.status_code == 200, response.content
    campaign.recipients.filter(status="failed").update(next_attempt_at=timezone.now())
    assert run_worker_once() is None
    assert addresses_sent(fake_graph)["6281200000001"] == 1
    campaign.refresh_from_db()
    assert campaign.status == "cancelled"
    # Without retries waiting, a done campaign stays done.
    other = started_campaign(supervisor, rows(1, start=50), name="Other")
    assert run_worker_once() == "done"
    assert supervisor_api.post(f"/campaigns/{other.pk}/cancel").status_code == 409
    page = client.get(f"/admin/campaigns/campaign/{other.pk}/change/")
    assert page.status_code == 200 and b"Cancel campaign" not in page.content


def test_an_expired_token_pauses_the_campaign_and_tells_supervisors(fake_graph, supervisor, tap):
    from campaigns.models import CampaignRecipient

    listener = tap()
    campaign = started_campaign(supervisor, rows(3))
    for i in range(3):
        fake_graph.errors_for[f"628120000000{i}"] = [META_ERRORS[190]]

    assert run_worker_once() == "paused"

    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert campaign.status_reason.startswith("access_token_expired")
    statuses = set(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("status", flat=True)
    )
    assert statuses == {"queued"}  # Meta took none of them: they wait for the resume
    events = [data for name, data in listener.drain() if name == "campaign_progress"]
    schema = json.loads((SCHEMAS / "campaign_progress.schema.json").read_text())
    for data in events:
        jsonschema.validate(data, schema)
    assert any(
        d["status"] == "paused" and d["status_reason"].startswith("access_token_expired")
        for d in events
    )
    from campaigns.services import campaign_resume

    campaign_resume(campaign=campaign, by=supervisor)
    assert run_worker_once() == "done"
    assert set(campaign.recipients.values_list("status", flat=True)) == {"sent"}


def test_the_pair_rate_holds_a_customer_who_was_just_messaged(fake_graph, supervisor, settings):
    from django.utils import timezone

    from messaging.models import Message
    from rooms.models import Room

    settings.CAMPAIGN_PAIR_RATE_SECONDS = 1.0
    room = Room.objects.create(phone="6281200000000", title="x")
    Message.objects.create(
        room=room,
        user=supervisor,
        content_type="text",
        content_text="hi",
        status="sent",
        status_timestamp=timezone.now(),
    )
    campaign = started_campaign(supervisor, rows(4))
    assert run_worker_once() == "done"
    order = [p["to"] for p in fake_graph.messages_sent()]
    assert sorted(order) == [f"628120000000{i}" for i in range(4)]
    assert order[-1] == "6281200000000"  # held until the pair-rate window had passed
    assert campaign.recipients.get(line=1).message.room_id == room.pk


def _status(wamid: str, to: str, status: str, errors=None) -> dict:
    from webhooks.sandbox import status_body

    body = status_body(wamid, to, status)
    if errors:
        body["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = errors
    return body


def test_statuses_and_replies_reach_the_recipient_rows_through_the_webhook(
    fake_graph, supervisor, client
):
    make_template(REMINDER)
    campaign = started_campaign(supervisor, rows(4))
    assert run_worker_once() == "done"
    got = {r.line: r for r in campaign.recipients.select_related("message")}
    wamid = {line: r.message.wa_message_id for line, r in got.items()}
    for body in (
        _status(wamid[1], got[1].identity, "delivered"),
        _status(wamid[1], got[1].identity, "read"),
        _status(wamid[2], got[2].identity, "delivered"),
        _status(
            wamid[3],
            got[3].identity,
            "failed",
            [
                {
                    "code": 131049,
                    "title": "This message was not delivered to maintain healthy ecosystem "
                    "engagement.",
                    "message": "This message was not delivered.",
                    "error_data": {"details": "In order to maintain a healthy ecosystem..."},
                }
            ],
        ),
    ):
        assert signed_post(client, body).status_code == 200
    # A reply from customer 2, and a later read (the read does not undo the reply).
    reply = text_webhook(got[2].identity, "wamid.REPLY-2", "Baik, saya bayar besok")
    assert signed_post(client, reply).status_code == 200
    assert signed_post(client, _status(wamid[2], got[2].identity, "read")).status_code == 200
    # Redelivered statuses change nothing.
    assert signed_post(client, _status(wamid[1], got[1].identity, "delivered")).status_code == 200

    now = {r.line: r for r in campaign.recipients.all()}
    assert (now[1].status, now[2].status, now[3].status, now[4].status) == (
        "read",
        "replied",
        "failed",
        "sent",
    )
    assert now[1].delivered_at and now[1].read_at and now[1].sent_at
    assert now[2].replied_at is not None and now[2].read_at is not None
    assert now[3].reason == "meta_131049" and now[3].error["code"] == 131049
    progress = client.get  # the API reads the same counts
    from campaigns.selectors import campaign_progress

    counts = campaign_progress(campaign=campaign)["counts"]
    assert counts["read"] == 1 and counts["replied"] == 1 and counts["failed"] == 1
    assert progress


def test_a_customer_message_before_the_campaign_or_outside_the_window_is_no_reply(
    fake_graph, supervisor, client, settings
):
    from datetime import timedelta

    from campaigns.models import CampaignRecipient

    make_template(REMINDER)
    campaign = started_campaign(supervisor, rows(1))
    assert run_worker_once() == "done"
    recipient = campaign.recipients.get()
    CampaignRecipient.objects.filter(pk=recipient.pk).update(
        sent_at=recipient.sent_at - timedelta(hours=settings.CAMPAIGN_REPLY_WINDOW_HOURS + 1)
    )
    signed_post(client, text_webhook(recipient.identity, "wamid.LATE", "halo"))
    assert campaign.recipients.get().status == "sent"


def test_reply_tracking_costs_a_customer_text_no_statement_unless_a_campaign_send_awaits_it(
    fake_graph, supervisor, client, monkeypatch
):
    """Whether a campaign send awaits a reply is asked with the run's room lock
    (messaging's ROOM_FACTS): a customer no campaign wrote to costs tracking nothing."""
    from campaigns import tracking

    make_template(REMINDER)
    campaign = started_campaign(supervisor, rows(1))
    assert run_worker_once() == "done"
    recipient = campaign.recipients.get()
    other = "6281299900001"
    assert signed_post(client, text_webhook(other, "wamid.OTHER1", "halo")).status_code == 200

    statements = []
    execute = tracking.execute
    monkeypatch.setattr(
        tracking, "execute", lambda sql, params: (statements.append(sql), execute(sql, params))
    )
    signed_post(client, text_webhook(other, "wamid.OTHER2", "halo lagi"))  # an existing room
    assert statements == []
    signed_post(client, text_webhook(recipient.identity, "wamid.REPLY1", "iya"))
    assert len(statements) == 1 and "'replied'" in statements[0]
    assert campaign.recipients.get().status == "replied"
    signed_post(client, text_webhook(recipient.identity, "wamid.REPLY2", "terima kasih"))
    assert len(statements) == 1  # replied already: nothing awaits a reply


@pytest.mark.parametrize("how", ["keyword", "button"])
def test_an_opt_out_marks_the_customer_confirms_and_excludes_them_from_marketing(
    fake_graph, supervisor, client, how
):
    from campaigns import services
    from campaigns.models import OptOut
    from tests.helpers import load_fixture

    make_template(REMINDER)
    make_template(OFFER)
    campaign = started_campaign(supervisor, rows(2))
    assert run_worker_once() == "done"
    phone = "6281200000001"
    if how == "keyword":
        body = text_webhook(phone, "wamid.OPTOUT", "  berhenti ")
    else:
        body = load_fixture("button")
        message = body["entry"][0]["changes"][0]["value"]["messages"][0]
        message["from"] = phone
        body["entry"][0]["changes"][0]["value"]["contacts"] = [
            {"profile": {"name": "N"}, "wa_id": phone}
        ]
        message["button"] = {"payload": "OPT_OUT", "text": "Berhenti promo"}
    before = len(fake_graph.messages_sent())
    assert signed_post(client, body).status_code == 200

    opt_out = OptOut.objects.get(identity=phone)
    assert opt_out.campaign_id == campaign.pk
    confirmation = fake_graph.messages_sent()[before:]
    assert [(p["to"], p["type"]) for p in confirmation] == [(phone, "text")]
    assert confirmation[0]["text"]["body"].startswith("Baik, Anda tidak akan menerima")
    # Once: a second STOP sends no second confirmation.
    signed_post(client, text_webhook(phone, "wamid.OPTOUT-2", "STOP"))
    assert len(fake_graph.messages_sent()) == before + 1
    assert campaign.recipients.get(identity=phone).status == "replied"

    promo = services.campaign_create(
        created_by=supervisor,
        name="Promo",
        template_name="promo_named",
        language="id",
        parameters={
            "header": {"type": "image", "link": "https://cdn.example.com/a.jpg"},
            "body": {"customer_name": {"column": "name"}, "limit": {"value": "Rp 1"}},
            "buttons": {"0": {"value": "x"}},
        },
        rows=[{"to": r["to"], "lead_id": None, "columns": r} for r in rows(2)],
        columns=["to", "name"],
    )
    preview = services.campaign_preview(campaign=promo, by=supervisor)
    assert preview["excluded_by_reason"] == {"do_not_contact": 1}
    # A utility reminder still reaches them (CAMPAIGN_OPT_OUT_APPLIES_TO_UTILITY is off).
    reminder = services.campaign_create(
        created_by=supervisor,
        name="Reminder 2",
        template_name="cicilan_reminder",
        language="id",
        parameters=campaign.parameters,
        rows=[{"to": r["to"], "lead_id": None, "columns": r} for r in rows(2)],
        columns=list(rows(1)[0]),
    )
    assert services.campaign_preview(campaign=reminder, by=supervisor)["excluded"] == 0


def test_statuses_that_overtake_metas_answer_are_applied_when_the_send_is_recorded(
    fake_graph, supervisor
):
    from django.test import Client

    from messaging.models import Message, PendingStatus

    def meta_reports_first(payload, wamid):
        # Meta's webhooks for this send reach us before its answer to the send does.
        from django.db import connections

        client = Client()
        try:
            for status in ("sent", "delivered", "read"):
                signed_post(client, _status(wamid, payload["to"], status))
        finally:
            connections.close_all()  # this thread's: the test database is dropped after

    fake_graph.on_send = meta_reports_first
    campaign = started_campaign(supervisor, rows(5))
    assert run_worker_once() == "done"
    assert set(campaign.recipients.values_list("status", flat=True)) == {"read"}
    for recipient in campaign.recipients.select_related("message"):
        assert recipient.delivered_at and recipient.read_at and recipient.sent_at
        assert recipient.message.status == Message.Status.READ
        assert recipient.message.metadata["campaign"]["id"] == str(campaign.pk)
    assert not PendingStatus.objects.exists()


def test_a_status_kept_while_the_send_was_being_recorded_is_applied_by_the_worker(
    fake_graph, supervisor
):
    """The race: the webhook looked for the wamid just before the worker's commit stored
    it, and kept the status for later; the worker's next round applies it."""
    from django.utils import timezone

    from campaigns.worker import Worker
    from messaging.models import PendingStatus

    campaign = started_campaign(supervisor, rows(2))
    assert run_worker_once() == "done"
    recipient = campaign.recipients.select_related("message").get(line=1)
    for status in ("delivered", "read"):
        PendingStatus.objects.create(
            wa_message_id=recipient.message.wa_message_id,
            status=status,
            status_timestamp=timezone.now(),
            payload={},
        )
    worker = Worker(concurrency=2)
    try:
        worker.report_progress()  # what the idle worker does every second
    finally:
        worker.close()
    recipient.refresh_from_db()
    recipient.message.refresh_from_db()
    assert recipient.status == "read" and recipient.message.status == "read"
    assert not PendingStatus.objects.exists()
    assert campaign.recipients.get(line=2).status == "sent"


def test_a_new_customer_gets_one_room_with_its_lead_and_one_new_room_complete(
    fake_graph, supervisor, tap
):
    from leads.models import Lead
    from rooms.models import Room

    listener = tap("agents")
    lead = Lead.objects.create(name="Budi Santoso", phone="6281200000000")
    existing = Room.objects.create(phone="6281200000001", title="Sari")
    campaign = started_campaign(supervisor, rows(3))
    assert run_worker_once() == "done"
    rooms = {r.line: r.room for r in campaign.recipients.select_related("room")}
    assert rooms[1].lead_id == lead.pk and rooms[1].title == "Budi Santoso"
    assert rooms[2].pk == existing.pk
    assert Room.objects.count() == 3
    events = listener.drain()
    complete = [d for name, d in events if name == "new_room_complete"]
    assert sorted(d["room_id"] for d in complete) == sorted([str(rooms[1].pk), str(rooms[3].pk)])
    budi = next(d for d in complete if d["room_id"] == str(rooms[1].pk))
    assert budi["room_title"] == "Budi Santoso" and budi["message_count"] == 1
    assert budi["last_message"]["content_text"].startswith("Halo Nasabah 0")
    assert budi["last_message"]["user_id"] == str(supervisor.pk)
    new_messages = [d for name, d in events if name == "new_message"]
    assert [d["room_id"] for d in new_messages] == [str(existing.pk)]
    assert new_messages[0]["metadata"]["campaign"]["id"] == str(campaign.pk)


def test_only_inside_business_hours_holds_the_campaign_while_the_team_is_closed(
    fake_graph, supervisor
):
    from datetime import time

    from django.utils import timezone

    from hours.models import BusinessHours

    now = timezone.localtime(timezone.now())
    # Open only on another weekday: closed now.
    BusinessHours.objects.create(weekday=(now.weekday() + 3) % 7, opens=time(8), closes=time(17))
    campaign = started_campaign(supervisor, rows(2), only_business_hours=True)
    assert run_worker_once() is None  # not taken: the team is closed
    assert fake_graph.messages_sent() == []
    BusinessHours.objects.create(weekday=now.weekday(), opens=time(0), closes=time(0))
    assert run_worker_once() == "done"
    assert len(fake_graph.messages_sent()) == 2
    campaign.refresh_from_db()
    assert campaign.status == "done"


def test_a_template_meta_pauses_pauses_its_campaigns_through_the_webhook(
    fake_graph, supervisor, client
):
    from campaigns import services
    from messaging.models import MessageTemplate

    campaign = started_campaign(supervisor, rows(2))
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "time": 1764000000,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "PAUSED",
                            "message_template_id": 1234567890,
                            "message_template_name": "cicilan_reminder",
                            "message_template_language": "id",
                            "reason": "LOW_QUALITY",
                        },
                    }
                ],
            }
        ],
    }
    assert signed_post(client, body).status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert campaign.status_reason == "template paused by Meta: LOW_QUALITY"
    assert MessageTemplate.objects.get(name="cicilan_reminder").status == "PAUSED"
    assert run_worker_once() is None and fake_graph.messages_sent() == []
    refused = None
    try:
        services.campaign_resume(campaign=campaign, by=supervisor)
    except services.CampaignError as exc:
        refused = exc.code
    assert refused == "template_not_approved"
    body["entry"][0]["changes"][0]["value"]["event"] = "APPROVED"
    assert signed_post(client, body).status_code == 200
    services.campaign_resume(campaign=campaign, by=supervisor)
    assert run_worker_once() == "done"
    assert len(fake_graph.messages_sent()) == 2


def test_a_reply_to_a_campaign_reopens_its_new_room_and_routes_it_to_a_team_agent(
    fake_graph, supervisor, client
):
    """Issue 17.7: a campaign makes the room of a new customer waiting on them (pending);
    their reply reopens it, and a reopened unassigned room goes to its team's agent."""
    from asgiref.sync import async_to_sync

    from boztell import presence
    from rooms.models import Room, RoomParticipant, Team, TeamMembership
    from tests.factories import UserFactory

    agent = UserFactory(username="collector", max_open_rooms=5)
    team = Team.objects.create(name="Collection", mode=Team.Mode.ROUND_ROBIN, is_default=True)
    TeamMembership.objects.create(team=team, user=agent)
    async_to_sync(presence.presence_connect)(agent.pk, "test-collector")
    try:
        make_template(REMINDER)
        campaign = started_campaign(supervisor, rows(2))
        assert run_worker_once() == "done"
        recipient = campaign.recipients.select_related("message__room").get(line=1)
        room = recipient.message.room
        assert room.status == Room.Status.PENDING
        assert not RoomParticipant.objects.filter(room=room, is_assigned=True).exists()
        reply = text_webhook(recipient.identity, "wamid.REPLY-ROUTED", "Baik, saya bayar")
        assert signed_post(client, reply).status_code == 200
        room.refresh_from_db()
        assert room.status == Room.Status.OPEN
        assigned = RoomParticipant.objects.filter(room=room, is_assigned=True)
        assert list(assigned.values_list("user_id", flat=True)) == [agent.pk]
    finally:
        async_to_sync(presence.presence_disconnect)(agent.pk, "test-collector")


async def test_an_opt_out_tells_every_socket_that_sees_the_lead_live(
    fake_graph, supervisor, agent, other_agent
):
    """STOP through the webhook: the lead is do-not-contact, and the lead panels open on
    its room hear `lead_updated` (the documented schema, signed by the system user) after
    the commit, without a reload; a socket that may not see the room hears nothing."""
    from asgiref.sync import sync_to_async

    from boztell.services import system_user
    from leads.models import Lead
    from rooms.models import Room
    from tests.factories import LeadFactory, RoomParticipantFactory
    from tests.test_socket import connect, webhook

    phone = "6281200000001"

    def set_up():
        LeadFactory(name="Bu Sari", phone=phone)
        started_campaign(supervisor, rows(2))
        assert run_worker_once() == "done"
        room = Room.objects.get(phone=phone)
        RoomParticipantFactory(room=room, user=agent)  # assigned to agent A only
        return room

    room = await sync_to_async(set_up)()
    boss, mine, theirs = (
        await connect(supervisor),
        await connect(agent),
        await connect(other_agent),
    )
    await webhook(text_webhook(phone, "wamid.OPTOUT-LIVE", "STOP"))

    system = await sync_to_async(system_user)()
    for socket in (boss, mine):
        frames = [f for f in await socket.events() if f["event"] == "lead_updated"]
        assert len(frames) == 1, frames
        data = frames[0]["data"]
        assert data["room_id"] == str(room.pk)
        assert data["leads_info"]["do_not_contact"] is True
        assert data["leads_info"]["name"] == "Bu Sari"
        assert data["updated_by"] == str(system.pk)
    assert "lead_updated" not in [f["event"] for f in await theirs.events()]
    lead = await sync_to_async(Lead.objects.get)(phone=phone)
    assert lead.do_not_contact is True
    changed_by = await sync_to_async(lambda: lead.history.first().history_user_id)()
    assert changed_by == system.pk  # the lead's history says who: the customer, by STOP

    # A second STOP changes nothing: no second event.
    await webhook(text_webhook(phone, "wamid.OPTOUT-LIVE-2", "BERHENTI"))
    assert "lead_updated" not in [f["event"] for f in await boss.events()]
    for socket in (boss, mine, theirs):
        await socket.close()


def test_a_late_131049_is_retried_in_process_on_either_database(fake_graph, supervisor, client):
    """The same rule as the worker-process test, in this process, so the SQLite pass can
    run it (tracking's one-row-at-a-time spelling): scheduled by the failed status, sent
    again once when due, not before."""
    from django.utils import timezone

    campaign = started_campaign(supervisor, rows(1), retry_frequency_capped_hours=6)
    assert run_worker_once() == "done"
    recipient = campaign.recipients.select_related("message").get()
    error = {"code": 131049, "title": "Not delivered", "message": "Not delivered"}
    body = _status(recipient.message.wa_message_id, recipient.identity, "failed", [error])
    assert signed_post(client, body).status_code == 200
    recipient.refresh_from_db()
    assert recipient.status == "failed" and recipient.next_attempt_at > timezone.now()
    assert run_worker_once() is None  # not due: nothing runs
    campaign.recipients.update(next_attempt_at=timezone.now())
    assert run_worker_once() == "done"
    assert run_worker_once() is None
    assert addresses_sent(fake_graph) == {recipient.identity: 2}
    assert campaign.recipients.get().status == "sent"


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:9/0"], ids=["none", "down"])
def test_without_redis_a_worker_paces_itself(fake_graph, supervisor, settings, redis_url):
    """The embedded default has no Redis: the number's bucket is the worker's own. A Redis
    that cannot be reached does not stop a campaign either: the worker paces alone."""
    from campaigns import pacing

    settings.REDIS_URL = redis_url
    bucket = pacing.bucket_for("123", 500)
    assert isinstance(bucket, pacing.TokenBucket if not redis_url else pacing.SharedTokenBucket)
    campaign = started_campaign(supervisor, rows(5))
    assert run_worker_once() == "done"
    assert set(campaign.recipients.values_list("status", flat=True)) == {"sent"}
    assert set(addresses_sent(fake_graph).values()) == {1}
