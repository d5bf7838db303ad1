"""The admin's import flow through the Django test client: upload -> preview (nothing
stored; the mapping and choices can change) -> confirm -> report, checked in the database."""

import csv
import io
import re

import pytest

from leads.models import Lead, LeadAttribute, LeadImport
from rooms.models import Room
from tests.factories import LeadFactory, RoomFactory
from tests.test_lead_import import MESSY_ROWS, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, name: str, **fields):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(
        "/admin/leads/lead/import/",
        {"file": handle, "overwrite": "all", "duplicates": "first", **fields},
    )


def counts(html: str) -> dict:
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def test_upload_preview_change_mapping_and_confirm(client, supervisor):
    client.force_login(supervisor)
    LeadFactory(phone="6281345677002", name="Rudi Lama", loan_type="")
    room = RoomFactory(phone="6281234567001", lead=None)
    changelist = client.get("/admin/leads/lead/")
    assert b"/admin/leads/lead/import/" in changelist.content

    response = upload(client, xlsx_bytes(MESSY_ROWS), "nasabah.xlsx")
    assert response.status_code == 302, response.content
    preview_url = response["Location"]
    page = client.get(preview_url).content.decode()
    assert "Preview: nothing is stored yet" in page
    assert counts(page) == {
        "rows_read": 9,
        "created": 3,
        "updated": 1,
        "unchanged": 0,
        "skipped": 5,
    }
    assert "duplicate phone 6281234567001: also on line 2" in page
    assert 'name="column-6"' in page and "attr:due_date:date" in page
    # The first rows as they will be stored: phones normalised, amounts in IDR.
    assert "6281345677002" in page and "Rp 12.500.000" in page and "due_date: 2027-01-05" in page
    assert Lead.objects.count() == 1 and not LeadAttribute.objects.exists()

    # The supervisor drops the branch column, fills only empty fields, previews again.
    form = {
        **{
            f"column-{n}": t
            for n, t in enumerate(
                [
                    "name",
                    "phone",
                    "outstanding",
                    "loan_type",
                    "leads_status",
                    "attr:due_date:date",
                    "attr:dpd:number",
                    "ignore",
                ],
                start=1,
            )
        },
        "overwrite": "empty",
        "duplicates": "first",
        "action": "preview",
    }
    assert client.post(preview_url, form).status_code == 302
    page = client.get(preview_url).content.decode()
    assert counts(page)["updated"] == 1
    assert Lead.objects.count() == 1
    record = LeadImport.objects.get()
    assert record.status == "previewed" and record.options["overwrite"] == "empty"

    response = client.post(preview_url, {**form, "action": "confirm"})
    assert response.status_code == 302
    page = client.get(preview_url).content.decode()
    assert "Imported" in page
    assert counts(page) == {
        "rows_read": 9,
        "created": 3,
        "updated": 1,
        "unchanged": 0,
        "skipped": 5,
    }
    assert Lead.objects.count() == 4
    rudi = Lead.objects.get(phone="6281345677002")
    assert (rudi.name, rudi.loan_type) == ("Rudi Lama", "Kredit Motor")  # only empty ones
    assert "branch" not in Lead.objects.get(phone="6281234567001").attributes
    assert set(LeadAttribute.objects.values_list("key", flat=True)) == {"due_date", "dpd"}
    room.refresh_from_db()
    assert room.lead.name == "Dewi Lestari"
    # Confirming twice does nothing more.
    client.post(preview_url, {**form, "action": "confirm"})
    assert Lead.objects.count() == 4

    report = client.get(f"{preview_url}report.csv")
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert rows[0][-2:] == ["line", "error"] and len(rows) == 6


def test_unreadable_upload_says_why_and_stores_nothing(client, supervisor):
    client.force_login(supervisor)
    response = upload(client, b"PK\x03\x04 broken", "x.xlsx")
    assert response.status_code == 200
    assert b"cannot be opened" in response.content
    assert not LeadImport.objects.exists() and not Lead.objects.exists()
    response = upload(client, csv_bytes([["kota"], ["Jakarta"]]), "x.csv")
    assert b"No column holds the phone" in response.content
    assert not LeadImport.objects.exists()


def test_invalid_mapping_on_preview_is_an_error_message(client, supervisor):
    client.force_login(supervisor)
    preview_url = upload(client, csv_bytes([["nama", "hp"], ["A", "081234567890"]]), "a.csv")[
        "Location"
    ]
    response = client.post(
        preview_url, {"column-1": "phone", "column-2": "phone", "action": "confirm"}, follow=True
    )
    assert b"both map to phone" in response.content
    assert not Lead.objects.exists()
    assert not Room.objects.exists()


def test_agents_cannot_reach_the_import(client, agent):
    client.force_login(agent)
    response = client.get("/admin/leads/lead/import/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_import_attribute_and_segment_admin_pages_load(client, supervisor, tmp_path):
    from tests.test_lead_import import run_command, write

    run_command(
        write(tmp_path, "a.csv", csv_bytes([["nama", "hp", "dpd"], ["A", "081234567890", "3"]]))
    )
    client.force_login(supervisor)
    record = LeadImport.objects.get()
    assert client.get("/admin/leads/leadimport/").status_code == 200
    change = client.get(f"/admin/leads/leadimport/{record.pk}/change/")
    assert change.status_code == 302 and str(record.pk) in change["Location"]
    assert client.get("/admin/leads/leadattribute/").status_code == 200
    assert client.get("/admin/leads/segment/").status_code == 200
    lead = Lead.objects.get()
    assert client.get(f"/admin/leads/lead/{lead.pk}/change/").status_code == 200
