"""Admin is the supervisors' UI: who may enter, and what they can do there."""

import re

import pytest
from rest_framework.authtoken.models import Token

from boztell.models import User
from tests.factories import LeadFactory, MessageFactory, RoomFactory, RoomParticipantFactory

pytestmark = pytest.mark.django_db


def test_supervisor_logs_in_through_the_admin_form_and_sees_the_index(client, supervisor):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": supervisor.username, "password": "pass-word-123"},
    )
    assert response.status_code == 302
    index = client.get("/admin/")
    assert index.status_code == 200
    for section in (b"Leads", b"Rooms", b"Messages", b"Users"):
        assert section in index.content


def test_agent_cannot_log_in_to_admin(client, agent):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": agent.username, "password": "pass-word-123"},
    )
    assert response.status_code == 200  # the form again, with an error
    assert b"staff account" in response.content or b"correct username" in response.content
    assert client.get("/admin/").status_code == 302


def test_logged_in_agent_is_sent_to_the_login_page(client, agent):
    client.force_login(agent)
    response = client.get("/admin/leads/lead/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_supervisor_creates_an_agent_and_a_supervisor(client, supervisor):
    client.force_login(supervisor)
    for username, role in (("new-agent", "agent"), ("new-super", "supervisor")):
        response = client.post(
            "/admin/boztell/user/add/",
            {
                "username": username,
                "display_name": username.title(),
                "role": role,
                "usable_password": "true",
                "password1": "A-long-enough-pass-42",
                "password2": "A-long-enough-pass-42",
            },
        )
        assert response.status_code == 302, response.content[:2000]
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password("A-long-enough-pass-42")


def test_supervisor_changes_a_role_and_deactivates_a_user(client, supervisor, agent):
    client.force_login(supervisor)
    url = f"/admin/boztell/user/{agent.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(
        url,
        {
            "username": agent.username,
            "display_name": "Promoted",
            "email": "",
            "role": "supervisor",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    agent.refresh_from_db()
    assert agent.role == "supervisor"
    assert agent.is_active is False  # the unchecked box deactivates


def test_issue_and_revoke_api_token_actions(client, supervisor, agent):
    client.force_login(supervisor)
    response = client.post(
        "/admin/boztell/user/",
        {"action": "issue_api_token", "_selected_action": [str(agent.pk)]},
        follow=True,
    )
    token = Token.objects.get(user=agent)
    assert token.key.encode() in response.content, "the key is shown once, to copy"

    me = client.__class__().get("/api/me", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert me.status_code == 200
    assert me.json()["username"] == agent.username

    client.post(
        "/admin/boztell/user/",
        {"action": "revoke_api_token", "_selected_action": [str(agent.pk)]},
    )
    assert not Token.objects.filter(user=agent).exists()
    again = client.__class__().get("/api/me", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "authentication_failed"


def test_lead_search_by_name_and_by_any_phone_spelling(client, supervisor):
    LeadFactory(name="Dewi Lestari", phone="6281234567001")
    LeadFactory(name="Rudi Hartono", phone="6281234567002")
    client.force_login(supervisor)
    by_name = client.get("/admin/leads/lead/", {"q": "dewi"})
    assert b"Dewi Lestari" in by_name.content and b"Rudi Hartono" not in by_name.content
    by_phone = client.get("/admin/leads/lead/", {"q": "0812-3456-7002"})
    assert b"Rudi Hartono" in by_phone.content and b"Dewi Lestari" not in by_phone.content


def test_lead_filters_and_idr_display(client, supervisor):
    LeadFactory(name="Hot One", leads_status="hot", contact_status="contacted", loan_type="KTA")
    LeadFactory(
        name="Cold One",
        leads_status="cold",
        contact_status="uncontacted",
        loan_type="KPR",
        outstanding="48000000",
    )
    client.force_login(supervisor)
    for params, present, absent in (
        ({"leads_status": "hot"}, b"Hot One", b"Cold One"),
        ({"contact_status": "uncontacted"}, b"Cold One", b"Hot One"),
        ({"loan_type": "KPR"}, b"Cold One", b"Hot One"),
    ):
        page = client.get("/admin/leads/lead/", params)
        assert present in page.content and absent not in page.content
    assert b"Rp 48.000.000" in client.get("/admin/leads/lead/").content


def test_lead_phone_typed_in_admin_is_normalised(client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        "/admin/leads/lead/add/",
        {
            "name": "Typed Phone",
            "phone": "0812 9999 0001",
            "outstanding": "1000",
            "loan_type": "",
            "leads_status": "",
            "contact_status": "",
        },
    )
    assert response.status_code == 302
    from leads.models import Lead

    assert Lead.objects.get(name="Typed Phone").phone == "6281299990001"
    bad = client.post(
        "/admin/leads/lead/add/", {"name": "Bad", "phone": "call me", "outstanding": "0"}
    )
    assert bad.status_code == 200 and b"not a phone number" in bad.content


def test_room_page_shows_participants_last_message_and_transcript(client, supervisor, agent):
    room = RoomFactory(title="Dewi", last_message_text="Halo, saya mau tanya")
    RoomParticipantFactory(room=room, user=agent)
    MessageFactory(room=room, content_text="Halo, saya mau tanya")
    MessageFactory(room=room, user=agent, content_text="Selamat siang, Bu Dewi")
    client.force_login(supervisor)
    listing = client.get("/admin/rooms/room/")
    assert b"Halo, saya mau tanya" in listing.content
    page = client.get(f"/admin/rooms/room/{room.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Selamat siang, Bu Dewi" in body and "Customer" in body and agent.name in body
    # Participants are shown, not edited: assignment goes through the services.
    assert "participants-0-user" not in body and "participants-0-is_assigned" not in body


def test_messages_are_read_only_and_filterable_by_author(client, supervisor, agent):
    room = RoomFactory()
    customer = MessageFactory(room=room, content_text="from the customer")
    MessageFactory(room=room, user=agent, content_text="from the agent")
    client.force_login(supervisor)
    assert client.get("/admin/messaging/message/add/").status_code == 403
    customers = client.get("/admin/messaging/message/", {"from": "customer"}).content
    assert b"from the customer" in customers and b"from the agent" not in customers
    page = client.get(f"/admin/messaging/message/{customer.pk}/change/")
    assert page.status_code == 200
    assert not re.search(rb'name="_save"', page.content)
    response = client.post(
        f"/admin/messaging/message/{customer.pk}/change/", {"content_text": "edited"}
    )
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.content_text == "from the customer"


# --- admin doors go through the services: each emits what the API would -----------------


def _form_data(html: str) -> dict:
    """The values a browser would post from the admin's change form."""
    from html.parser import HTMLParser

    data: dict = {}

    class Form(HTMLParser):
        select = None
        textarea = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
                if a.get("type") == "checkbox":
                    if "checked" in a:
                        data[a["name"]] = a.get("value", "on")
                else:
                    data[a["name"]] = a.get("value", "")
            elif tag == "select" and a.get("name"):
                self.select = a["name"]
                data.setdefault(self.select, "")
            elif tag == "option" and self.select and "selected" in a:
                data[self.select] = a.get("value", "")
            elif tag == "textarea" and a.get("name"):
                self.textarea = a["name"]
                data[self.textarea] = ""

        def handle_data(self, text):
            if self.textarea:
                data[self.textarea] += text

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None
            elif tag == "textarea":
                self.textarea = None

    Form().feed(html)
    return data


def _events(tap, do):
    """What `do()` emits (after its commit) to supervisors, as JSON clients see it."""
    from boztell.realtime import SUPERVISORS_GROUP, to_wire

    listener = tap(SUPERVISORS_GROUP)
    do()
    return [(name, to_wire(data)) for name, data in listener.drain()]


def _schema_valid(name, data):
    import json
    from pathlib import Path

    import jsonschema

    schema = Path(__file__).resolve().parent.parent / "docs" / "events" / f"{name}.schema.json"
    jsonschema.validate(data, json.loads(schema.read_text()))


def test_a_lead_added_in_admin_links_its_customers_room_as_the_service_does(client, supervisor):
    from leads.models import Lead
    from rooms.models import Room

    room = RoomFactory(phone="6281299990002", title="6281299990002")
    client.force_login(supervisor)
    response = client.post(
        "/admin/leads/lead/add/",
        {
            "name": "Bu Ratna",
            "phone": "0812 9999 0002",
            "outstanding": "2500000",
            "loan_type": "KTA",
            "leads_status": "new",
            "contact_status": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    lead = Lead.objects.get()
    assert response["Location"].endswith("/admin/leads/lead/")
    assert Room.objects.get(pk=room.pk).lead == lead
    assert client.get(f"/admin/leads/lead/{lead.pk}/change/").status_code == 200


def test_a_lead_edited_in_admin_emits_lead_updated_as_the_api_does(
    client, supervisor, supervisor_api, tap, django_capture_on_commit_callbacks
):
    from leads.models import Lead

    lead = LeadFactory(name="Bu Ratna", phone="6281299990003", leads_status="warm")
    room = RoomFactory(phone=lead.phone, lead=lead)

    def by_api():
        with django_capture_on_commit_callbacks(execute=True):
            response = supervisor_api.patch(
                f"/leads/{lead.pk}", {"leads_status": "hot"}, format="json"
            )
        assert response.status_code == 200

    [(api_name, api_data)] = _events(tap, by_api)

    client.force_login(supervisor)
    url = f"/admin/leads/lead/{lead.pk}/change/"
    data = {
        **_form_data(client.get(url).content.decode()),
        "name": "Ratna S.",
        "leads_status": "paid",
    }

    def by_admin():
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data)
        assert response.status_code == 302, response.content[:3000]

    [(name, event)] = _events(tap, by_admin)
    assert (name, api_name) == ("lead_updated", "lead_updated")
    assert event.keys() == api_data.keys()
    _schema_valid(name, event)
    assert event["room_id"] == str(room.pk) and event["updated_by"] == str(supervisor.pk)
    assert event["leads_info"]["name"] == "Ratna S."
    assert event["leads_info"]["leads_status"] == "paid"
    assert Lead.objects.get().name == "Ratna S."


def test_assigning_in_the_room_admin_emits_room_assigned_and_leaves_one_assignee(
    client, supervisor, supervisor_api, agent, other_agent, tap, django_capture_on_commit_callbacks
):
    from rooms.models import RoomParticipant

    room = RoomFactory()
    RoomParticipantFactory(room=room, user=agent)

    def by_api():
        with django_capture_on_commit_callbacks(execute=True):
            response = supervisor_api.post(
                f"/rooms/{room.pk}/assign", {"user_id": str(other_agent.pk)}, format="json"
            )
        assert response.status_code == 200

    [(api_name, api_data)] = _events(tap, by_api)
    assert api_data["previous_user_ids"] == [str(agent.pk)]

    client.force_login(supervisor)
    url = f"/admin/rooms/room/{room.pk}/change/"
    form = _form_data(client.get(url).content.decode())
    # A forged inline value cannot assign anyone: the inline is read-only.
    form["participants-0-is_assigned"] = "on"

    def by_admin():
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, {**form, "assign_to": str(agent.pk)})
        assert response.status_code == 302, response.content[:3000]

    [(name, event)] = _events(tap, by_admin)
    assert (name, api_name) == ("room_assigned", "room_assigned")
    assert event.keys() == api_data.keys()
    _schema_valid(name, event)
    assert event["assigned_user_ids"] == [str(agent.pk)]
    assert event["previous_user_ids"] == [str(other_agent.pk)]
    assert event["assigned_by"] == str(supervisor.pk)
    assigned = RoomParticipant.objects.filter(room=room, is_assigned=True)
    assert list(assigned.values_list("user_id", flat=True)) == [agent.pk]


def test_unassigning_in_the_room_admin_emits_room_assigned_as_the_api_does(
    client, supervisor, supervisor_api, agent, tap, django_capture_on_commit_callbacks
):
    from rooms.models import RoomParticipant

    rooms = [RoomFactory(), RoomFactory(), RoomFactory()]
    for room in rooms:
        RoomParticipantFactory(room=room, user=agent)

    def by_api():
        with django_capture_on_commit_callbacks(execute=True):
            assert supervisor_api.post(f"/rooms/{rooms[0].pk}/unassign").status_code == 200

    [(api_name, api_data)] = _events(tap, by_api)

    client.force_login(supervisor)

    def by_action():
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/admin/rooms/room/",
                {"action": "unassign_rooms", "_selected_action": [str(rooms[1].pk)]},
            )
        assert response.status_code == 302

    url = f"/admin/rooms/room/{rooms[2].pk}/change/"
    form = _form_data(client.get(url).content.decode())

    def by_form():
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, {**form, "unassign": "on"})
        assert response.status_code == 302, response.content[:3000]

    for do, room in ((by_action, rooms[1]), (by_form, rooms[2])):
        [(name, event)] = _events(tap, do)
        assert (name, api_name) == ("room_assigned", "room_assigned")
        assert event.keys() == api_data.keys()
        _schema_valid(name, event)
        assert event["room_id"] == str(room.pk)
        assert event["assigned_user_ids"] == [] and event["previous_user_ids"] == [str(agent.pk)]
    assert not RoomParticipant.objects.filter(is_assigned=True).exists()
