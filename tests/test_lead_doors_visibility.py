"""Attack review of the lead doors that moved to inbox/: an agent (session or token) reads
or changes a lead only through a room they may see; the supervisor-only doors stay so."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(agent):
    from rooms.models import Team, TeamMembership
    from tests.factories import LeadFactory, RoomFactory, RoomParticipantFactory

    mine = LeadFactory(name="Mine")
    RoomParticipantFactory(room=RoomFactory(phone=mine.phone, lead=mine), user=agent)
    theirs = LeadFactory(name="Theirs")
    collection = Team.objects.create(name="Collection")
    sales = Team.objects.create(name="Sales")
    TeamMembership.objects.create(team=sales, user=agent)
    other_team = LeadFactory(name="Other team's queue")
    RoomFactory(phone=other_team.phone, lead=other_team, team=collection)
    roomless = LeadFactory(name="No room")
    return {"mine": mine, "theirs": theirs, "other_team": other_team, "roomless": roomless}


@pytest.fixture
def assigned_elsewhere(leads, other_agent):
    from tests.factories import RoomFactory, RoomParticipantFactory

    lead = leads["theirs"]
    RoomParticipantFactory(room=RoomFactory(phone=lead.phone, lead=lead), user=other_agent)
    return lead


@pytest.mark.parametrize("which", ["theirs", "other_team", "roomless"])
def test_an_agent_cannot_change_or_read_the_history_of_a_lead_they_cannot_see(
    leads, assigned_elsewhere, agent_api, client, agent, which
):
    lead = leads[which]
    before = (lead.leads_status, lead.contact_status)
    client.force_login(agent)
    for caller in (agent_api, client):
        answer = caller.patch(
            f"/leads/{lead.pk}", {"leads_status": "hot"}, content_type="application/json"
        )
        assert answer.status_code == 404, answer.content
        assert caller.get(f"/leads/{lead.pk}/history").status_code == 404
    lead.refresh_from_db()
    assert (lead.leads_status, lead.contact_status) == before
    assert (
        agent_api.patch(
            f"/leads/{leads['mine'].pk}", {"leads_status": "hot"}, format="json"
        ).status_code
        == 200
    )


def test_agents_get_403_on_the_supervisor_lead_doors(leads, agent_api):
    import uuid

    assert agent_api.get("/leads/").status_code == 403
    assert agent_api.get("/leads/export").status_code == 403
    assert agent_api.get("/leads/export?format=xlsx").status_code == 403
    assert agent_api.get("/leads/segments").status_code == 403
    assert agent_api.get(f"/leads/imports/{uuid.uuid4()}").status_code == 403
    assert agent_api.get(f"/leads/imports/{uuid.uuid4()}/report.csv").status_code == 403
    answer = agent_api.post("/leads/import", {}, format="multipart")
    assert answer.status_code == 403


def test_hostile_lead_patch_bodies_are_4xx(leads, agent_api):
    lead = leads["mine"]
    for body in (
        {"leads_status": "x" * 51},
        {"leads_status": "a\x00b"},
        {"leads_status": ["hot"]},
        {"contact_status": {"a": 1}},
        [],
        "hot",
    ):
        answer = agent_api.patch(f"/leads/{lead.pk}", body, format="json")
        assert 400 <= answer.status_code < 500, (body, answer.status_code, answer.content)
        assert "code" in answer.json() or "error" in answer.json(), answer.content


def test_export_with_a_bad_segment_is_a_4xx(supervisor_api):
    for query in (
        "segment=nope",
        "segment=00000000-0000-0000-0000-000000000000",
        "format=pdf",
        "segment=%00",
    ):
        answer = supervisor_api.get(f"/leads/export?{query}")
        assert 400 <= answer.status_code < 500, (query, answer.status_code)


def test_linking_a_room_to_someone_elses_lead_does_not_reveal_it(
    leads, assigned_elsewhere, agent_api, agent
):
    """Curious agent: any room they can see (here an unassigned one with no team) linked
    by hand to another agent's customer's lead by id gives that lead's data (name,
    outstanding) and then PATCH /leads/{id} on it."""
    from tests.factories import RoomFactory

    unassigned = RoomFactory(phone="6281399999999")
    answer = agent_api.post(
        f"/rooms/{unassigned.pk}/lead", {"lead_id": str(assigned_elsewhere.pk)}, format="json"
    )
    assert answer.status_code == 404, answer.content[:300]
    by_phone = agent_api.post(
        f"/rooms/{unassigned.pk}/lead", {"phone": assigned_elsewhere.phone}, format="json"
    )
    assert by_phone.status_code == 404, by_phone.content[:300]
    assert by_phone.json()["error"]["code"] == "unknown_lead"
    unassigned.refresh_from_db()
    assert unassigned.lead_id is None
    # A borrower no room has yet is what the agent links a username customer to.
    roomless = leads["roomless"]
    linked = agent_api.post(
        f"/rooms/{unassigned.pk}/lead", {"lead_id": str(roomless.pk)}, format="json"
    )
    assert linked.status_code == 200, linked.content[:300]
    unassigned.refresh_from_db()
    assert unassigned.lead_id == roomless.pk
