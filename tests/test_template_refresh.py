"""A template that exists at Meta can be sent without a manual sync: a name/language not
in the local table fetches the templates from Meta first (at most once per
TEMPLATE_REFRESH_SECONDS, across processes), and when Meta cannot be asked the send goes
out and Meta's own answer decides. Through HTTP against the fake Graph API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Message, MessageTemplate, TemplateSyncState

pytestmark = pytest.mark.django_db

CUSTOMER = "6281234567001"
HELLO_WORLD = {
    "name": "hello_world",
    "language": "en_US",
    "status": "APPROVED",
    "category": "UTILITY",
    "id": "1",
    "components": [{"type": "BODY", "text": "Hello World"}],
}
REMINDER = {
    "name": "payment_reminder",
    "language": "id",
    "status": "APPROVED",
    "category": "UTILITY",
    "id": "2",
    "components": [{"type": "BODY", "text": "Halo {{1}}, tagihan {{2}}."}],
}


@pytest.fixture
def graph(fake_graph, settings):
    settings.WHATSAPP_BUSINESS_ACCOUNT_ID = "200000000000002"
    settings.TEMPLATE_REFRESH_SECONDS = 60
    fake_graph.templates = [HELLO_WORLD, REMINDER]
    return fake_graph


def send_template(api, name, language, **extra):
    return api.post(
        "/messages/send-template",
        {"to": CUSTOMER, "templateName": name, "languageCode": language, **extra},
        format="json",
    )


def test_a_template_that_exists_at_meta_is_sent_without_a_manual_sync(agent_api, graph):
    assert not MessageTemplate.objects.exists()

    response = send_template(agent_api, "hello_world", "en_US")

    assert response.status_code == 201, response.content
    assert response.json()["content_text"] == "Hello World"
    assert [m["template"] for m in graph.messages_sent()] == [
        {"name": "hello_world", "language": {"code": "en_US"}}
    ]
    assert len(graph.calls("message_templates")) == 2, "one refresh (Meta pages it)"
    assert set(MessageTemplate.objects.values_list("name", "language")) == {
        ("hello_world", "en_US"),
        ("payment_reminder", "id"),
    }
    # The template is checked as a synced one would be.
    response = send_template(agent_api, "payment_reminder", "id", bodyParameters=["Dewi"])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "template_params_mismatch"


def test_an_unknown_template_is_refused_after_one_refresh_and_refreshes_are_rate_limited(
    agent_api, graph
):
    first = send_template(agent_api, "nope", "id")
    assert first.status_code == 400
    assert first.json()["error"]["code"] == "unknown_template"
    assert len(graph.calls("message_templates")) == 2

    # Within TEMPLATE_REFRESH_SECONDS Meta is not asked again: the fresh table decides.
    graph.templates = [*graph.templates, {**HELLO_WORLD, "name": "new_one", "id": "9"}]
    second = send_template(agent_api, "new_one", "en_US")
    assert second.status_code == 400
    assert second.json()["error"]["code"] == "unknown_template"
    assert len(graph.calls("message_templates")) == 2
    assert graph.messages_sent() == []
    assert not Message.objects.exists()

    # The interval over (the shared state row says when the last refresh began), the
    # next unknown name refreshes again and finds the template Meta has by now.
    TemplateSyncState.objects.update(attempted_at=timezone.now() - timedelta(seconds=61))
    third = send_template(agent_api, "new_one", "en_US")
    assert third.status_code == 201, third.content
    assert len(graph.calls("message_templates")) == 4


def test_a_manual_sync_counts_as_the_last_refresh(agent_api, graph):
    from django.core.management import call_command

    call_command("sync_templates")
    calls = len(graph.calls("message_templates"))
    response = send_template(agent_api, "nope", "id")
    assert response.json()["error"]["code"] == "unknown_template"
    assert len(graph.calls("message_templates")) == calls


def test_when_meta_cannot_list_templates_the_send_goes_out_and_meta_decides(agent_api, graph):
    graph.fail_next = {"message_templates": [503, 503]}

    known = send_template(agent_api, "payment_reminder", "id", bodyParameters=["Dewi", "Rp 1"])
    assert known.status_code == 201, known.content
    assert graph.messages_sent()[-1]["template"] == {
        "name": "payment_reminder",
        "language": {"code": "id"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Dewi"}, {"type": "text", "text": "Rp 1"}],
            }
        ],
    }

    # The failed refresh counts for the interval too: Meta's send answer decides again.
    unknown = send_template(agent_api, "nope", "id")
    assert unknown.status_code == 400, unknown.content
    assert unknown.json()["error"]["code"] == "unknown_template"
    failed = Message.objects.get(pk=unknown.json()["error"]["details"]["message_id"])
    assert failed.status == Message.Status.FAILED
    assert failed.metadata["error"]["code"] == 132001
    assert failed.metadata["error"]["details"] == "template name (nope) does not exist in id"
    assert len(graph.calls("message_templates")) == 1, "one failed attempt, not one per send"


def test_with_no_business_account_id_meta_decides_at_send(agent_api, graph, settings):
    settings.WHATSAPP_BUSINESS_ACCOUNT_ID = ""
    response = send_template(agent_api, "nope", "en_US")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_template"
    assert graph.calls("message_templates") == []
    assert len(graph.messages_sent()) == 1


def test_a_campaign_on_a_template_never_synced_here_fetches_it_from_meta(supervisor_api, graph):
    """As a send does: a fresh production database has no templates, and a supervisor's
    first campaign names one that Meta has."""
    from leads.models import Lead

    assert not MessageTemplate.objects.exists()
    lead = Lead.objects.create(name="Budi", phone=CUSTOMER, outstanding=1_500_000)
    response = supervisor_api.post(
        "/campaigns/",
        {
            "name": "Pengingat",
            "template_name": "payment_reminder",
            "language": "id",
            "lead_ids": [str(lead.pk)],
            "parameters": {
                "body": {"1": {"column": "name"}, "2": {"column": "outstanding", "format": "idr"}}
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert MessageTemplate.objects.filter(name="payment_reminder", language="id").exists()
    unknown = supervisor_api.post(
        "/campaigns/",
        {"name": "x", "template_name": "nope", "language": "id", "lead_ids": [str(lead.pk)]},
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_template"
