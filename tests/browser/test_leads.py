"""Leads in a real browser: a supervisor imports a spreadsheet through the admin (upload,
preview, change the mapping, confirm), edits a segment with its live count, and an agent
sees a lead's attributes in the inbox's lead panel."""

import re

import pytest
from playwright.sync_api import expect

from leads.models import Lead, LeadAttribute, LeadImport, Segment
from tests.factories import LeadFactory
from tests.test_lead_import import MESSY_ROWS, xlsx_bytes

pytestmark = [pytest.mark.slow]


@pytest.fixture
def admin_page(browser, inbox_server, supervisor):
    context = browser.new_context(base_url=inbox_server, timezone_id="Asia/Jakarta")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/admin/login/?next=/admin/leads/lead/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", "pass-word-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/leads/lead/")
    yield page
    context.close()
    assert errors == []


def test_admin_import_upload_preview_remap_confirm(admin_page, tmp_path):
    page = admin_page
    path = tmp_path / "nasabah.xlsx"
    path.write_bytes(xlsx_bytes(MESSY_ROWS))
    page.click("text=Import leads")
    page.set_input_files("#id_file", str(path))
    page.click("input[value=Preview]")
    expect(page.locator("h2")).to_have_text("Preview: nothing is stored yet")
    expect(page.locator("[data-count=created]")).to_have_text("4")
    expect(page.locator("#import-issues")).to_contain_text("duplicate phone 6281234567001")
    assert Lead.objects.count() == 0
    page.select_option("select[name=column-8]", "ignore")  # drop "Cabang"
    page.click("button[value=preview]")
    expect(page.locator("select[name=column-8]")).to_have_value("ignore")
    page.click("button[value=confirm]")
    expect(page.locator("h2")).to_have_text("Imported")
    expect(page.locator(".messagelist")).to_contain_text("Stored: 4 created")
    assert Lead.objects.count() == 4
    assert LeadImport.objects.get().status == "done"
    assert not LeadAttribute.objects.filter(key="branch").exists()
    assert Lead.objects.get(phone="6281234567001").attributes == {
        "due_date": "2027-01-05",
        "dpd": 31,
    }


def test_segment_editor_shows_a_live_count(admin_page):
    LeadAttribute.objects.create(key="dpd", label="DPD", type="number")
    for i, dpd in enumerate([5, 31, 60, 90]):
        LeadFactory(name=f"L{i}", leads_status="hot", attributes={"dpd": dpd})
    page = admin_page
    page.goto("/admin/leads/segment/add/")
    count = page.locator("#segment-live-count")
    expect(count).to_have_attribute("data-count", "4")
    page.fill("#id_conditions", "dpd >= 30")
    expect(count).to_have_attribute("data-count", "3")
    page.fill("#id_conditions", "dpd >= 30\ndpd < 90")
    expect(count).to_have_attribute("data-count", "2")
    page.fill("#id_name", "DPD 30-89")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/leads/segment/")
    assert Segment.objects.get().filters["attributes"][1] == {"key": "dpd", "op": "lt", "value": 90}


def test_lead_panel_shows_attributes_in_idr_and_dates(open_inbox, agent, customer):
    phone = "6281355550077"
    LeadAttribute.objects.create(key="due_date", label="Jatuh tempo", type="date")
    LeadAttribute.objects.create(key="installment", label="Angsuran", type="money")
    LeadAttribute.objects.create(key="dpd", label="DPD", type="number")
    LeadFactory(
        name="Pak Budi",
        phone=phone,
        do_not_contact=True,
        attributes={"due_date": "2027-01-05", "installment": 1250000, "dpd": 31},
    )
    customer(phone, "Halo")
    inbox = open_inbox(agent)
    inbox.room_row("Pak Budi").click()
    panel = inbox.page.locator("#lead-panel")
    expect(panel.locator("[data-attribute=installment]")).to_have_text(
        re.compile(r"Rp\s?1\.250\.000")
    )
    expect(panel.locator("[data-attribute=due_date]")).to_have_text(re.compile(r"5 Jan 2027"))
    expect(panel.locator("[data-attribute=dpd]")).to_have_text("31")
    expect(panel).to_contain_text("Jatuh tempo")
    expect(panel).to_contain_text("Do not contact")
