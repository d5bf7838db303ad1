"""Attack review: a 131049 retry hours after the first attempt must honour what happened
meanwhile (the customer opted out) and is sent once, as the docs promise."""

import pytest

from tests.campaign_helpers import OFFER, REMINDER, rows, started_campaign
from tests.fake_graph import META_ERRORS
from tests.helpers import signed_post, text_webhook

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake_graph(fake_graph):
    fake_graph.templates = [REMINDER, OFFER]
    return fake_graph


def _run():
    from campaigns.worker import Worker

    worker = Worker(concurrency=4, rate=500)
    try:
        return worker.run_once()
    finally:
        worker.close()


def _sent_to(fake_graph, phone):
    return [
        p for p in fake_graph.messages_sent() if p.get("to") == phone and p["type"] == "template"
    ]


def test_a_131049_retry_is_not_sent_to_a_customer_who_opted_out_meanwhile(
    fake_graph, supervisor, client, settings
):
    from django.utils import timezone

    from campaigns.models import OptOut

    settings.CAMPAIGN_OPT_OUT_APPLIES_TO_UTILITY = True  # the rule as for marketing
    phone = "6281200000001"
    campaign = started_campaign(supervisor, rows(2), retry_frequency_capped_hours=24)
    fake_graph.errors_for[phone] = [META_ERRORS[131049]]
    assert _run() == "done"
    assert len(_sent_to(fake_graph, phone)) == 1
    # Hours later, before the retry: the customer writes STOP.
    assert signed_post(client, text_webhook(phone, "wamid.ATTACK-STOP", "STOP")).status_code == 200
    assert OptOut.objects.filter(identity=phone).exists()
    campaign.recipients.filter(identity=phone).update(next_attempt_at=timezone.now())
    _run()
    assert len(_sent_to(fake_graph, phone)) == 1, "a retry went to an opted-out customer"
    row = campaign.recipients.get(identity=phone)
    assert row.status != "sent"


def test_a_131049_retry_is_sent_once_not_again_and_again(fake_graph, supervisor):
    from django.utils import timezone

    phone = "6281200000001"
    campaign = started_campaign(supervisor, rows(2), retry_frequency_capped_hours=1)
    fake_graph.errors_for[phone] = [META_ERRORS[131049]] * 5
    assert _run() == "done"
    for _ in range(3):
        campaign.recipients.filter(identity=phone, next_attempt_at__isnull=False).update(
            next_attempt_at=timezone.now()
        )
        _run()
    assert len(_sent_to(fake_graph, phone)) == 2, "docs: 131049 is retried once"


def test_a_late_131049_on_the_retry_is_not_retried_again(fake_graph, supervisor, client):
    """The retry itself failed later by a 131049 status: failed for good, not a third send."""
    from django.utils import timezone

    from tests.test_campaigns_sending import _status

    campaign = started_campaign(supervisor, rows(1), retry_frequency_capped_hours=6)
    error = {"code": 131049, "title": "Not delivered", "message": "Not delivered"}
    for _ in range(3):
        _run()
        recipient = campaign.recipients.select_related("message").get()
        if recipient.status != "sent":
            break
        body = _status(recipient.message.wa_message_id, recipient.identity, "failed", [error])
        assert signed_post(client, body).status_code == 200
        campaign.recipients.filter(next_attempt_at__isnull=False).update(
            next_attempt_at=timezone.now()
        )
    assert len(fake_graph.messages_sent()) == 2
    assert campaign.recipients.get().next_attempt_at is None
