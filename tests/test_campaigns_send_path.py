"""The campaign worker's send path in batches, against the fake Graph API: a worker that
dies after a batch is claimed (committed `sending`) and before any of it is sent leaves
that whole batch `unknown` and sends none of it later; Meta's slow answer makes a
recipient `unknown`, a connection lost after the request went out is never tried again,
an unreachable Meta leaves the send safe to retry; a room routed to a team hears
its campaign message on the team's group, not every agent's."""

import pytest

from tests.campaign_helpers import (
    REMINDER,
    addresses_sent,
    campaign_worker,
    rows,
    run_worker_once,
    started_campaign,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake_graph(fake_graph):
    fake_graph.templates = [REMINDER]
    return fake_graph


class Died(BaseException):
    """The worker process ending where it stands (not an error it handles)."""


def test_a_worker_dying_between_claim_and_send_leaves_the_batch_unknown_and_resends_none(
    fake_graph, supervisor, monkeypatch
):
    from campaigns.models import CampaignRecipient
    from campaigns.worker import CampaignRun

    campaign = started_campaign(supervisor, rows(30))
    claim = CampaignRun._claim
    claimed: list = []

    def claim_then_die(self, n):
        jobs = claim(self, n)
        if len(claimed) < 10:  # a first batch or two go out; then one is claimed and...
            claimed.extend(job.recipient_id for job in jobs)
            return jobs
        claimed_now = [job.recipient_id for job in jobs]
        raise Died(claimed_now)  # ...the worker dies before sending any of it

    monkeypatch.setattr(CampaignRun, "_claim", claim_then_die)
    worker = campaign_worker(concurrency=4)
    with pytest.raises(Died) as died:
        worker.run_once()
    worker.close()
    lost_batch = set(died.value.args[0])
    assert lost_batch
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    assert set(recipients.filter(pk__in=lost_batch).values_list("status", flat=True)) == {
        "sending"
    }  # committed before any call
    sent_before = addresses_sent(fake_graph)

    monkeypatch.setattr(CampaignRun, "_claim", claim)
    assert run_worker_once() == "done"

    got = {r.pk: r for r in recipients}
    assert {pk for pk, r in got.items() if r.status == "unknown"} >= lost_batch
    assert all(got[pk].reason == "worker_stopped_in_flight" for pk in lost_batch)
    sent = addresses_sent(fake_graph)
    assert set(sent.values()) == {1}  # nobody twice
    lost_addresses = {got[pk].identity for pk in lost_batch}
    assert not lost_addresses & set(sent)  # the dead batch was never sent, then or later
    assert {got[pk].identity for pk, r in got.items() if r.status == "sent"} <= set(sent)
    assert all(r.status == "sent" for r in got.values() if r.status != "unknown")
    assert set(sent_before) <= set(sent)


def test_a_slow_meta_makes_the_recipient_unknown_and_it_is_not_sent_again(
    fake_graph, supervisor, monkeypatch
):
    from messaging import whatsapp

    campaign = started_campaign(supervisor, rows(2))
    monkeypatch.setattr(whatsapp, "READ_TIMEOUT", 0.3)
    fake_graph.delay_seconds = 1.0  # Meta took it, maybe; its answer comes too late

    assert run_worker_once() == "done"

    recipients = {r.identity: r for r in campaign.recipients.all()}
    assert {r.status for r in recipients.values()} == {"unknown"}
    assert {r.reason for r in recipients.values()} == {"timeout"}
    assert set(addresses_sent(fake_graph).values()) == {1}
    for recipient in recipients.values():
        assert recipient.message.status == "failed"
        assert recipient.message.wa_message_id is None


def test_an_unreachable_meta_is_tried_three_times_and_leaves_the_send_safe_to_retry(settings):
    from messaging import whatsapp
    from tests.fake_graph import TOKEN
    from tests.helpers import free_port

    settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens
    settings.WHATSAPP_ACCESS_TOKEN = TOKEN
    settings.WHATSAPP_BACKEND = "messaging.whatsapp.GraphClient"
    tries = []
    pool_request = whatsapp._pool(whatsapp._url("x")).request

    def request(*args, **kwargs):
        tries.append(1)
        return pool_request(*args, **kwargs)

    body = {"to": "6281200000000", "type": "template", "template": {"name": "x"}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(whatsapp._pool(whatsapp._url("x")), "request", request)
        patch.setattr(whatsapp, "_PACED_WAITS", (0, 0))
        with pytest.raises(whatsapp.GraphError) as refused:
            whatsapp.send_message(body, retry_throttled=False)
    assert len(tries) == 3
    assert refused.value.retryable and refused.value.http_status is None
    assert refused.value.code != "whatsapp_timeout"


def test_a_connection_lost_after_the_request_went_out_is_not_tried_again(settings):
    """At most once: Meta may have taken a send whose answer never came back."""
    import socket
    import threading

    from messaging import whatsapp
    from tests.fake_graph import TOKEN

    listener = socket.create_server(("127.0.0.1", 0))
    received = []

    def take_and_hang_up():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                received.append(data)  # the request reached "Meta"; no answer

    threading.Thread(target=take_and_hang_up, daemon=True).start()
    settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.WHATSAPP_ACCESS_TOKEN = TOKEN
    settings.WHATSAPP_BACKEND = "messaging.whatsapp.GraphClient"
    body = {"to": "6281200000000", "type": "template", "template": {"name": "x"}}
    try:
        with pytest.raises(whatsapp.GraphError) as lost:
            whatsapp.send_message(body, retry_throttled=False)
    finally:
        listener.close()
    assert lost.value.code == "whatsapp_timeout" and not lost.value.retryable
    assert len(received) == 1  # sent once, never again


def test_metas_refusal_on_the_paced_path_keeps_metas_error(fake_graph):
    from messaging import whatsapp
    from tests.fake_graph import META_ERRORS

    fake_graph.errors_for["6281200000000"] = [META_ERRORS[130429]]
    body = {"to": "6281200000000", "type": "template", "template": {"name": "x"}}
    with pytest.raises(whatsapp.GraphError) as refused:
        whatsapp.send_message(body, retry_throttled=False)
    assert refused.value.meta_error["code"] == 130429  # straight back: the worker paces
    assert len(fake_graph.messages_sent()) == 1


def test_a_campaign_message_in_a_team_room_is_heard_by_the_team_not_every_agent(
    fake_graph, supervisor, tap
):
    from boztell.realtime import AGENTS_GROUP, team_group
    from rooms.models import Room, Team

    team = Team.objects.create(name="Kolektor")
    Room.objects.create(phone="6281200000000", title="Nasabah 0", team=team)
    started_campaign(supervisor, rows(1))
    team_listener = tap(team_group(team.pk))
    everyone = tap(AGENTS_GROUP)

    assert run_worker_once() == "done"

    heard = [name for name, _ in team_listener.drain()]
    assert "new_message" in heard and "message_status" in heard
    assert not [name for name, _ in everyone.drain() if name in ("new_message", "message_status")]
