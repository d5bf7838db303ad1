"""The campaign admin over HTTP: a campaign on a lead segment is set up, previewed and
started by a supervisor; agents cannot reach it."""

import json

import pytest

from tests.campaign_helpers import REMINDER, make_template

pytestmark = pytest.mark.django_db


def test_a_segment_campaign_is_set_up_previewed_and_started_in_admin(client, supervisor):
    from campaigns.models import Campaign
    from leads.models import Lead, LeadAttribute, Segment

    template = make_template(REMINDER)
    LeadAttribute.objects.create(key="due_date", label="Due", type="date")
    Lead.objects.create(
        name="Budi",
        phone="6281266660001",
        leads_status="collection",
        outstanding=1500000,
        attributes={"due_date": "2026-12-05"},
    )
    segment = Segment.objects.create(name="Collection", filters={"leads_status": ["collection"]})
    client.force_login(supervisor)
    response = client.post(
        "/admin/campaigns/campaign/add/",
        {
            "name": "Pengingat",
            "template": template.pk,
            "segment": segment.pk,
            "parameters": json.dumps(
                {
                    "body": {
                        "1": {"column": "name"},
                        "2": {"column": "outstanding", "format": "idr"},
                        "3": {"column": "due_date", "format": "date_id"},
                    }
                }
            ),
            "start_at_0": "",
            "start_at_1": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    campaign = Campaign.objects.get()
    assert campaign.audience_kind == "segment" and campaign.segment_id == segment.pk
    client.post(f"/admin/campaigns/campaign/{campaign.pk}/preview/")
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "Halo Budi, cicilan Anda sebesar Rp 1.500.000 jatuh tempo pada 5 Desember 2026." in page
    client.post(f"/admin/campaigns/campaign/{campaign.pk}/do/start/")
    campaign.refresh_from_db()
    assert campaign.status == "running" and campaign.recipients.count() == 1


def test_agents_cannot_open_the_campaign_admin(client, agent):
    client.force_login(agent)
    response = client.get("/admin/campaigns/campaign/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
