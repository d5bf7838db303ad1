"""Quick replies: admin, GET /quick-replies/?q=, GET /quick-replies/{id}/render, and the
send that refuses an unfilled {{placeholder}} (issue 15 point 5)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from messaging.models import Message
from replies.models import QuickReply
from tests.factories import LeadFactory, RoomFactory, RoomParticipantFactory

pytestmark = pytest.mark.django_db

REMINDER = (
    "Halo {{name}}, tagihan Anda {{ outstanding }} ({{loan_type}}). Salam, {{agent}}. "
    "Jatuh tempo: {{due_date}}"
)


@pytest.fixture
def replies(db):
    return {
        "tagihan": QuickReply.objects.create(shortcut="tagihan", title="Reminder", text=REMINDER),
        "janji": QuickReply.objects.create(
            shortcut="janji-bayar", title="Promise to pay", text="Terima kasih {{name}}!"
        ),
        "salam": QuickReply.objects.create(
            shortcut="salam", title="Greeting", text="Selamat pagi, ada yang bisa dibantu?"
        ),
    }


@pytest.fixture
def lead_room(agent):
    lead = LeadFactory(
        name="Dewi Lestari",
        phone="6281355500011",
        outstanding=Decimal("12500000.00"),
        loan_type="KTA",
    )
    room = RoomFactory(
        phone="6281355500011",
        lead=lead,
        last_message_at=timezone.now(),
        last_customer_message_at=timezone.now(),
    )
    RoomParticipantFactory(room=room, user=agent)
    return room


def test_search_matches_shortcut_title_and_text_shortcut_prefix_first(agent_api, replies):
    def shortcuts(q):
        response = agent_api.get("/quick-replies/", {"q": q})
        assert response.status_code == 200, response.content
        return [r["shortcut"] for r in response.json()["results"]]

    assert shortcuts("") == ["janji-bayar", "salam", "tagihan"]
    assert shortcuts("/janji") == ["janji-bayar"]
    assert shortcuts("promise") == ["janji-bayar"]
    assert shortcuts("tagihan") == ["tagihan"]  # the shortcut, and the text of no other
    assert shortcuts("terima") == ["janji-bayar"]
    assert shortcuts("a") == ["janji-bayar", "salam", "tagihan"]
    row = agent_api.get("/quick-replies/", {"q": "tagihan"}).json()["results"][0]
    assert row["placeholders"] == ["name", "outstanding", "loan_type", "agent", "due_date"]
    assert agent_api.get("/quick-replies/", {"limit": "x"}).status_code == 400


def test_render_fills_the_lead_and_the_agent_and_lists_what_is_missing(
    agent_api, replies, lead_room
):
    response = agent_api.get(
        f"/quick-replies/{replies['tagihan'].pk}/render", {"room_id": str(lead_room.pk)}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": replies["tagihan"].pk,
        "shortcut": "tagihan",
        "text": "Halo Dewi Lestari, tagihan Anda Rp 12.500.000 (KTA). Salam, Agent A. "
        "Jatuh tempo: {{due_date}}",
        "missing": ["due_date"],
    }


def test_render_without_a_lead_leaves_its_fields_for_the_agent(agent_api, agent, replies):
    room = RoomFactory(phone="6281355500012", title="6281355500012")
    response = agent_api.get(
        f"/quick-replies/{replies['tagihan'].pk}/render", {"room_id": str(room.pk)}
    ).json()
    assert response["missing"] == ["name", "outstanding", "loan_type", "due_date"]
    assert response["text"].startswith("Halo {{name}}, tagihan Anda {{ outstanding }}")
    assert "Salam, Agent A." in response["text"]
    # The WhatsApp profile name stands in for the name when there is no lead.
    room.title = "Budi WA"
    room.save()
    response = agent_api.get(
        f"/quick-replies/{replies['janji'].pk}/render", {"room_id": str(room.pk)}
    ).json()
    assert response == {**response, "text": "Terima kasih Budi WA!", "missing": []}


def test_render_needs_a_visible_room_and_a_real_reply(agent_api, other_agent, replies):
    room = RoomFactory()
    RoomParticipantFactory(room=room, user=other_agent)
    url = f"/quick-replies/{replies['janji'].pk}/render"
    assert agent_api.get(url, {"room_id": str(room.pk)}).status_code == 404
    bad = agent_api.get(url, {"room_id": "nope"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
    assert agent_api.get("/quick-replies/999999/render").status_code == 404
    assert agent_api.get(url).json()["missing"] == ["name"]


def test_a_send_with_an_unfilled_placeholder_is_refused_before_meta(
    agent_api, replies, lead_room, fake_graph
):
    rendered = agent_api.get(
        f"/quick-replies/{replies['tagihan'].pk}/render", {"room_id": str(lead_room.pk)}
    ).json()
    response = agent_api.post(
        "/messages/send", {"room_id": str(lead_room.pk), "text": rendered["text"]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "unfilled_placeholder"
    assert response.json()["error"]["details"]["placeholders"] == ["due_date"]
    assert fake_graph.requests == [] and Message.objects.filter(user__isnull=False).count() == 0
    # Built-in and lead names are placeholders even with no quick reply using them.
    for text in ("Halo {{ Name }}", "Sisa {{outstanding}}", "{{leads_status}}"):
        response = agent_api.post(
            "/messages/send", {"room_id": str(lead_room.pk), "text": text}, format="json"
        )
        assert response.json()["error"]["code"] == "unfilled_placeholder", text
    assert fake_graph.requests == []
    # The agent fills it in: it goes out.
    filled = rendered["text"].replace("{{due_date}}", "5 Desember")
    response = agent_api.post(
        "/messages/send", {"room_id": str(lead_room.pk), "text": filled}, format="json"
    )
    assert response.status_code == 201, response.content
    assert fake_graph.messages_sent()[-1]["text"]["body"] == filled


def test_other_braces_still_go_out(agent_api, replies, lead_room, fake_graph):
    for text in (
        'Kode: {"a": {"b": 1}}',
        "Pakai {{ }} atau {{ok}} saja",
        "{{123}} {{nama lengkap}} {name} {{{",
    ):
        response = agent_api.post(
            "/messages/send", {"room_id": str(lead_room.pk), "text": text}, format="json"
        )
        assert response.status_code == 201, (text, response.content)
    assert len(fake_graph.messages_sent()) == 3


def test_supervisors_keep_quick_replies_in_admin(client, supervisor, agent):
    client.force_login(supervisor)
    response = client.post(
        "/admin/replies/quickreply/add/",
        {"shortcut": "tagihan", "title": "Reminder", "text": REMINDER},
    )
    assert response.status_code == 302, response.content[:2000]
    reply = QuickReply.objects.get()
    assert reply.created_by == supervisor and reply.text == REMINDER
    listing = client.get("/admin/replies/quickreply/").content.decode()
    assert "name, outstanding, loan_type, agent, due_date" in listing
    bad = client.post(
        "/admin/replies/quickreply/add/", {"shortcut": "bad shortcut", "title": "x", "text": "y"}
    )
    assert bad.status_code == 200 and QuickReply.objects.count() == 1
    client.force_login(agent)
    assert client.get("/admin/replies/quickreply/").status_code == 302  # agents: no admin


def test_lead_attributes_fill_placeholders_as_customers_read_them(agent_api, lead_room, fake_graph):
    from leads.models import LeadAttribute

    LeadAttribute.objects.create(key="due_date", label="Jatuh tempo", type="date")
    LeadAttribute.objects.create(key="instalment", label="Cicilan", type="money")
    LeadAttribute.objects.create(key="dpd", label="DPD", type="number")
    LeadAttribute.objects.create(key="cabang", label="Cabang", type="text")
    lead = lead_room.lead
    lead.attributes = {"due_date": "2026-12-05", "instalment": 1250000, "dpd": 12.0}
    lead.save()
    reply = QuickReply.objects.create(
        shortcut="cicilan",
        title="Instalment",
        text="Cicilan {{instalment}} jatuh tempo {{due_date}} (DPD {{dpd}}), {{cabang}}",
    )
    response = agent_api.get(
        f"/quick-replies/{reply.pk}/render", {"room_id": str(lead_room.pk)}
    ).json()
    assert response["text"] == (
        "Cicilan Rp 1.250.000 jatuh tempo 5 Desember 2026 (DPD 12), {{cabang}}"
    )
    assert response["missing"] == ["cabang"]
    # An attribute's key is a placeholder a send refuses, quick reply or not.
    QuickReply.objects.all().delete()
    response = agent_api.post(
        "/messages/send",
        {"room_id": str(lead_room.pk), "text": "Cabang {{cabang}}"},
        format="json",
    )
    assert response.json()["error"]["code"] == "unfilled_placeholder"
    assert fake_graph.requests == []
