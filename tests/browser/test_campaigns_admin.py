"""A supervisor sets up a campaign in admin in Chromium (template, uploaded CSV,
parameters), previews it (the texts as WhatsApp will show them, the exclusions, the
cost), starts it, and watches its progress bar and counts change without a reload, all
under the strict CSP."""

import pytest
from playwright.sync_api import expect

from tests.campaign_helpers import REMINDER, make_template

pytestmark = pytest.mark.slow

CSV = (
    "No HP,Name,Amount,Due\n"
    "0812-7777-0001,Budi,1500000,2026-12-05\n"
    "0812 7777 0002,Sari,250000,06/12/2026\n"
    "+62 812-7777-0001,Budi lagi,1,2026-12-05\n"
    "0812-7777-0003,Tono,,2026-12-07\n"
)
LIVE = 15_000  # ms: the page polls every second; a loaded machine may be slow to answer
PARAMETERS = (
    '{"body": {"1": {"column": "name"}, "2": {"column": "amount", "format": "idr"}, '
    '"3": {"column": "due", "format": "date_id"}}}'
)


def test_a_campaign_is_set_up_previewed_started_and_watched_live_in_admin(open_inbox, supervisor):
    from campaigns.models import Campaign, CampaignRecipient

    template = make_template(REMINDER)
    boss = open_inbox(supervisor)
    page = boss.page
    page.goto("/admin/campaigns/campaign/add/")
    page.fill("#id_name", "Pengingat Desember")
    page.select_option("#id_template", str(template.pk))
    page.set_input_files(
        "#id_audience_file",
        files=[{"name": "nasabah.csv", "mimeType": "text/csv", "buffer": CSV.encode()}],
    )
    page.fill("#id_parameters", PARAMETERS)
    page.click("input[name=_continue]")
    expect(page.locator("#campaign-preview-button")).to_be_visible()
    campaign = Campaign.objects.get()
    assert campaign.audience_source == "nasabah.csv" and len(campaign.audience_rows) == 4
    expect(page.locator("#campaign-start-button")).to_have_count(0)  # no preview yet

    page.click("#campaign-preview-button")
    preview = page.locator("#campaign-preview")
    expect(preview.locator(".campaign-sample-text").first).to_have_text(
        "Halo Budi, cicilan Anda sebesar Rp 1.500.000 jatuh tempo pada 5 Desember 2026."
    )
    expect(preview.locator(".campaign-sample-text").nth(1)).to_have_text(
        "Halo Sari, cicilan Anda sebesar Rp 250.000 jatuh tempo pada 6 Desember 2026."
    )
    expect(preview.locator(".campaign-sample-header").first).to_have_text("Pengingat cicilan")
    expect(preview.locator("[data-preview=recipients]")).to_have_text("2")
    expect(preview.locator("[data-preview=excluded]")).to_have_text("2")
    expect(preview).to_contain_text("duplicate: 1")
    expect(preview).to_contain_text("missing_parameter: 1")
    expect(preview.locator("[data-preview=cost]")).to_have_text("713.3")
    boss.screenshot("campaign-preview")

    page.click("#campaign-start-button")
    progress = page.locator("#campaign-progress")
    expect(progress.locator('[data-field="status"]')).to_have_text("running")
    expect(progress.locator('[data-count="queued"]')).to_have_text("2")
    expect(page.locator("#campaign-pause-button")).to_be_visible()

    # Sends and statuses arrive (as the worker and the webhook would record them): the
    # open page follows without a reload.
    page.evaluate("() => { window.__notReloaded = true; }")
    first = CampaignRecipient.objects.get(campaign=campaign, line=1)
    CampaignRecipient.objects.filter(pk=first.pk).update(status="delivered")
    expect(progress.locator('[data-count="delivered"]')).to_have_text("1", timeout=LIVE)
    expect(progress.locator('[data-count="queued"]')).to_have_text("1", timeout=LIVE)
    expect(progress.locator('[data-field="percent"]')).to_have_text("50", timeout=LIVE)
    expect(page.locator("#campaign-progress-bar")).to_have_attribute("value", "50", timeout=LIVE)
    CampaignRecipient.objects.filter(campaign=campaign, line=2).update(
        status="failed", reason="meta_131026"
    )
    expect(progress.locator('[data-field="failed_by_reason"]')).to_have_text(
        "meta_131026: 1", timeout=LIVE
    )
    assert page.evaluate("() => window.__notReloaded") is True
    boss.screenshot("campaign-progress")

    csv = page.request.get(f"/admin/campaigns/campaign/{campaign.pk}/results.csv")
    assert csv.status == 200 and "meta_131026" in csv.text()
    page.click("#campaign-pause-button")
    expect(progress.locator('[data-field="status"]')).to_have_text("paused")
