"""Campaigns through the REST API: created by supervisors only, previewed (recipients,
exclusions with reasons, the text WhatsApp will show, the cost), started only from a
preview of the current version, paused, resumed, cancelled; results as CSV."""

import csv
import io
import zipfile

import pytest

from tests.campaign_helpers import OFFER, REMINDER, REMINDER_PARAMS, make_template

pytestmark = pytest.mark.django_db


@pytest.fixture
def reminder(db):
    return make_template(REMINDER)


def _create(api, **overrides):
    body = {
        "name": "Reminder Desember",
        "template_name": "cicilan_reminder",
        "language": "id",
        "parameters": REMINDER_PARAMS,
        "recipients": [
            {"to": "0812-1111-0001", "name": "Budi", "amount": "1500000", "due": "2026-12-05"},
            {"to": "+62 812 1111 0001", "name": "Budi again", "amount": 1, "due": "2026-12-05"},
            {"to": "0812-1111-0002", "name": "Sari", "amount": "", "due": "2026-12-06"},
            {"to": "12345", "name": "Bad", "amount": 5, "due": "2026-12-06"},
            {"to": "", "name": "Nobody", "amount": 5, "due": "2026-12-06"},
            {"to": "ID.2081978709342942", "name": "Ayu", "amount": 250000.5, "due": "06/12/2026"},
        ],
        **overrides,
    }
    return api.post("/campaigns/", body, format="json")


def test_a_supervisor_previews_then_starts_and_the_preview_shows_what_whatsapp_will(
    supervisor_api, reminder, settings
):
    from campaigns.models import Campaign, CampaignRecipient

    created = _create(supervisor_api)
    assert created.status_code == 201, created.json()
    campaign_id = created.json()["id"]
    assert created.json()["status"] == "draft" and created.json()["version"] == 1

    refused = supervisor_api.post(f"/campaigns/{campaign_id}/start", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "preview_required"

    preview = supervisor_api.post(f"/campaigns/{campaign_id}/preview")
    assert preview.status_code == 200, preview.json()
    data = preview.json()
    assert data["rows"] == 6 and data["recipients"] == 2 and data["excluded"] == 4
    assert data["excluded_by_reason"] == {
        "duplicate": 1,
        "missing_parameter": 1,
        "invalid_phone": 1,
        "no_phone_or_bsuid": 1,
    }
    reasons = {e["line"]: e["reason"] for e in data["exclusions"]}
    assert reasons == {
        2: "duplicate",
        3: "missing_parameter",
        4: "invalid_phone",
        5: "no_phone_or_bsuid",
    }
    first, second = data["samples"]
    assert first["to"] == "6281211110001"
    assert first["text"] == (
        "Halo Budi, cicilan Anda sebesar Rp 1.500.000 jatuh tempo pada 5 Desember 2026."
    )
    assert first["header"] == "Pengingat cicilan"
    assert first["footer"] == "Balas STOP untuk berhenti"
    assert second["to"] == "ID.2081978709342942"
    assert second["text"] == (
        "Halo Ayu, cicilan Anda sebesar Rp 250.001 jatuh tempo pada 6 Desember 2026."
    )
    assert first["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Budi"},
                {"type": "text", "text": "Rp 1.500.000"},
                {"type": "text", "text": "5 Desember 2026"},
            ],
        }
    ]
    price = settings.CAMPAIGN_PRICES_IDR["UTILITY"]
    assert data["cost"]["category"] == "UTILITY"
    assert data["cost"]["total"] == pytest.approx(2 * price)

    started = supervisor_api.post(f"/campaigns/{campaign_id}/start", {"version": 1}, format="json")
    assert started.status_code == 200, started.json()
    assert started.json()["status"] == "running"
    # Frozen: one row per audience row, the sendable ones queued with their parameters.
    recipients = CampaignRecipient.objects.filter(campaign_id=campaign_id).order_by("line")
    assert [(r.line, r.status, r.reason) for r in recipients] == [
        (1, "queued", ""),
        (2, "excluded", "duplicate"),
        (3, "excluded", "missing_parameter"),
        (4, "excluded", "invalid_phone"),
        (5, "excluded", "no_phone_or_bsuid"),
        (6, "queued", ""),
    ]
    assert recipients[5].user_id == "ID.2081978709342942" and recipients[5].phone is None
    assert started.json()["progress"]["counts"]["queued"] == 2
    again = supervisor_api.post(f"/campaigns/{campaign_id}/start", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_draft"
    assert Campaign.objects.get(pk=campaign_id).status == "running"


def test_an_edit_after_the_preview_needs_a_new_preview(supervisor_api, reminder):
    campaign_id = _create(supervisor_api).json()["id"]
    assert supervisor_api.post(f"/campaigns/{campaign_id}/preview").status_code == 200
    edited = supervisor_api.patch(
        f"/campaigns/{campaign_id}", {"name": "Reminder (fixed)"}, format="json"
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    refused = supervisor_api.post(f"/campaigns/{campaign_id}/start", {}, format="json")
    assert refused.json()["error"]["code"] == "preview_required"
    stale = supervisor_api.post(f"/campaigns/{campaign_id}/start", {"version": 1}, format="json")
    assert stale.status_code == 409
    supervisor_api.post(f"/campaigns/{campaign_id}/preview")
    stale = supervisor_api.post(f"/campaigns/{campaign_id}/start", {"version": 1}, format="json")
    assert stale.json()["error"]["code"] == "preview_required"  # previewed v2, asked v1
    ok = supervisor_api.post(f"/campaigns/{campaign_id}/start", {"version": 2}, format="json")
    assert ok.status_code == 200


def test_agents_cannot_see_or_create_campaigns(agent_api, reminder, client):
    assert _create(agent_api).status_code == 403
    assert agent_api.get("/campaigns/").status_code == 403
    assert client.get("/campaigns/").status_code in (401, 403)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"template_name": "nope"}, "unknown_template"),
        ({"parameters": {"body": {"1": {"column": "name"}}}}, "parameters_mismatch"),
        (
            {"parameters": {"body": {"1": {"column": "name"}, "2": {}, "3": {}}}},
            "invalid_parameters",
        ),
        (
            {
                "parameters": {
                    "body": {
                        "1": {"column": "name"},
                        "2": {"column": "amount", "format": "idr"},
                        "3": {"column": "nope"},
                    }
                }
            },
            "unknown_column",
        ),
        ({"recipients": [{"name": "no to"}]}, "invalid_audience"),
        ({"name": ""}, "invalid_request"),
    ],
)
def test_a_bad_campaign_is_refused_with_a_stable_code(supervisor_api, reminder, change, code):
    response = _create(supervisor_api, **change)
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == code


def test_named_parameters_media_header_and_buttons_render_in_metas_format(supervisor_api):
    make_template(OFFER)
    response = supervisor_api.post(
        "/campaigns/",
        {
            "name": "Promo",
            "template_name": "promo_named",
            "language": "id",
            "parameters": {
                "header": {"type": "image", "column": "photo"},
                "body": {
                    "customer_name": {"column": "nama"},
                    "limit": {"column": "limit", "format": "idr"},
                },
                "buttons": {"0": {"column": "ref"}, "1": {"value": "OPT_OUT"}},
            },
            "recipients": [
                {
                    "to": "081299990001",
                    "nama": "Rina",
                    "limit": "Rp 10.000.000",
                    "photo": "https://cdn.example.com/rina.jpg",
                    "ref": "R1",
                },
                {
                    "to": "081299990002",
                    "nama": "Tono",
                    "limit": 5,
                    "photo": "not-a-url",
                    "ref": "T",
                },
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    preview = supervisor_api.post(f"/campaigns/{response.json()['id']}/preview").json()
    assert preview["excluded_by_reason"] == {"missing_parameter": 1}
    sample = preview["samples"][0]
    assert sample["text"] == "Hai Rina, limit Anda naik ke Rp 10.000.000!"
    assert sample["components"] == [
        {
            "type": "header",
            "parameters": [
                {"type": "image", "image": {"link": "https://cdn.example.com/rina.jpg"}}
            ],
        },
        {
            "type": "body",
            "parameters": [
                {"type": "text", "parameter_name": "customer_name", "text": "Rina"},
                {"type": "text", "parameter_name": "limit", "text": "Rp 10.000.000"},
            ],
        },
        {
            "type": "button",
            "sub_type": "url",
            "index": "0",
            "parameters": [{"type": "text", "text": "R1"}],
        },
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": "1",
            "parameters": [{"type": "payload", "payload": "OPT_OUT"}],
        },
    ]
    assert preview["cost"]["category"] == "MARKETING"


def _xlsx(rows: list[list]) -> bytes:
    """A minimal XLSX (inline strings and numbers), as a spreadsheet program writes it."""

    def cell(ref, value):
        if isinstance(value, int | float):
            return f'<c r="{ref}"><v>{value}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'

    sheet_rows = "".join(
        f'<row r="{i + 1}">'
        + "".join(cell(f"{chr(65 + j)}{i + 1}", v) for j, v in enumerate(row))
        + "</row>"
        for i, row in enumerate(rows)
    )
    pkg = "http://schemas.openxmlformats.org/package/2006"
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    ooxml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    head = '<?xml version="1.0"?>'
    files = {
        "[Content_Types].xml": f'{head}<Types xmlns="{pkg}/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ooxml}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{ooxml}.worksheet+xml"/></Types>',
        "_rels/.rels": f'{head}<Relationships xmlns="{pkg}/relationships">'
        f'<Relationship Id="rId1" Type="{office}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>",
        "xl/workbook.xml": f'{head}<workbook xmlns="{main}" xmlns:r="{office}"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'{head}<Relationships xmlns="{pkg}/relationships">'
        f'<Relationship Id="rId1" Type="{office}/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>",
        "xl/worksheets/sheet1.xml": f'{head}<worksheet xmlns="{main}"><sheetData>'
        + sheet_rows
        + "</sheetData></worksheet>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_uploaded_csv_or_xlsx_becomes_the_audience(supervisor_api, reminder, kind):
    campaign_id = _create(supervisor_api).json()["id"]
    table = [
        ["No HP", "Name", "Amount", "Due"],
        ["081233330001", "Andi", 2_000_000, "2026-12-07"],
        ["081233330002", "Dewi", 750000, "2026-12-08"],
    ]
    if kind == "csv":
        data = "\n".join(";".join(str(c) for c in row) for row in table).encode()
    else:
        data = _xlsx(table)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(f"audience.{kind}", data)
    response = supervisor_api.post(
        f"/campaigns/{campaign_id}/audience", {"file": upload}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["audience_rows"] == 2 and response.json()["version"] == 2
    assert response.json()["audience_columns"] == ["no_hp", "name", "amount", "due"]
    preview = supervisor_api.post(f"/campaigns/{campaign_id}/preview").json()
    assert [s["text"] for s in preview["samples"]] == [
        "Halo Andi, cicilan Anda sebesar Rp 2.000.000 jatuh tempo pada 7 Desember 2026.",
        "Halo Dewi, cicilan Anda sebesar Rp 750.000 jatuh tempo pada 8 Desember 2026.",
    ]


def test_an_upload_without_a_recipient_column_is_refused(supervisor_api, reminder):
    from django.core.files.uploadedfile import SimpleUploadedFile

    campaign_id = _create(supervisor_api).json()["id"]
    upload = SimpleUploadedFile("a.csv", b"name,amount\nBudi,5\n")
    response = supervisor_api.post(
        f"/campaigns/{campaign_id}/audience", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_recipient_column"
    upload = SimpleUploadedFile("a.pdf", b"%PDF")
    response = supervisor_api.post(
        f"/campaigns/{campaign_id}/audience", {"file": upload}, format="multipart"
    )
    assert response.json()["error"]["code"] == "unsupported_file"


def test_opted_out_customers_and_todays_recipients_are_excluded(supervisor, supervisor_api):
    from django.utils import timezone

    from campaigns.models import CampaignRecipient, OptOut
    from tests.campaign_helpers import rows, started_campaign

    make_template(OFFER)
    earlier = started_campaign(supervisor, rows(2, start=50))
    CampaignRecipient.objects.filter(campaign=earlier, line=1).update(
        status="sent", sent_at=timezone.now()
    )
    OptOut.objects.create(identity="6281200000052", source="keyword:STOP")
    response = supervisor_api.post(
        "/campaigns/",
        {
            "name": "Promo",
            "template_name": "promo_named",
            "language": "id",
            "frequency_cap": True,
            "parameters": {
                "header": {"type": "image", "link": "https://cdn.example.com/a.jpg"},
                "body": {"customer_name": {"column": "name"}, "limit": {"value": "Rp 1"}},
                "buttons": {"0": {"value": "x"}},
            },
            "recipients": [{"to": r["to"], "name": r["name"]} for r in rows(3, start=50)],
        },
        format="json",
    )
    preview = supervisor_api.post(f"/campaigns/{response.json()['id']}/preview").json()
    assert {e["to"]: e["reason"] for e in preview["exclusions"]} == {
        "081200000050": "frequency_cap",
        "081200000052": "do_not_contact",
    }
    assert preview["recipients"] == 1


def test_pause_resume_cancel_and_the_results_csv(supervisor, supervisor_api, reminder):
    from tests.campaign_helpers import rows, started_campaign

    campaign = started_campaign(
        supervisor, [*rows(3), {"to": "", "name": "x", "amount": 1, "due": "2026-12-01"}]
    )
    url = f"/campaigns/{campaign.pk}"
    assert supervisor_api.post(f"{url}/resume").json()["error"]["code"] == "invalid_transition"
    assert supervisor_api.post(f"{url}/pause").json()["status"] == "paused"
    assert supervisor_api.post(f"{url}/resume").json()["status"] == "running"
    assert supervisor_api.post(f"{url}/cancel").json()["status"] == "cancelled"
    assert supervisor_api.post(f"{url}/pause").status_code == 409
    response = supervisor_api.get(f"{url}/recipients.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["line"], r["status"], r["reason"]) for r in table] == [
        ("1", "queued", ""),
        ("2", "queued", ""),
        ("3", "queued", ""),
        ("4", "excluded", "no_phone_or_bsuid"),
    ]
    assert table[0]["text"].startswith("Halo Nasabah 0, cicilan Anda sebesar Rp 1.500.000")
    listed = supervisor_api.get("/campaigns/").json()
    assert [c["id"] for c in listed] == [str(campaign.pk)]


def test_a_segment_audience_maps_lead_fields_and_typed_attributes(supervisor_api, settings):
    from decimal import Decimal

    from leads.models import Lead, LeadAttribute, Segment

    make_template(REMINDER)
    LeadAttribute.objects.create(key="due_date", label="Due date", type="date")
    LeadAttribute.objects.create(key="instalment", label="Instalment", type="money")
    Lead.objects.create(
        name="Budi",
        phone="6281255550001",
        leads_status="collection",
        outstanding=Decimal("9000000"),
        attributes={"due_date": "2026-12-05", "instalment": 1250000},
    )
    Lead.objects.create(
        name="Sari",
        phone="6281255550002",
        leads_status="collection",
        do_not_contact=True,
        attributes={"due_date": "2026-12-06", "instalment": 900000},
    )
    Lead.objects.create(name="Hot", phone="6281255550003", leads_status="hot")
    segment = Segment.objects.create(name="Due this week", filters={"leads_status": ["collection"]})
    response = supervisor_api.post(
        "/campaigns/",
        {
            "name": "Collection",
            "template_name": "cicilan_reminder",
            "language": "id",
            "segment_id": str(segment.pk),
            "parameters": {
                "body": {
                    "1": {"column": "name"},
                    "2": {"column": "instalment", "format": "idr"},
                    "3": {"column": "due_date", "format": "date_id"},
                }
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["audience_kind"] == "segment"
    preview = supervisor_api.post(f"/campaigns/{response.json()['id']}/preview").json()
    assert preview["rows"] == 2
    assert [s["text"] for s in preview["samples"]] == [
        "Halo Budi, cicilan Anda sebesar Rp 1.250.000 jatuh tempo pada 5 Desember 2026.",
        "Halo Sari, cicilan Anda sebesar Rp 900.000 jatuh tempo pada 6 Desember 2026.",
    ]
    # A reminder is utility: do-not-contact (marketing) excludes only when the supervisor
    # says it applies to utility too.
    assert preview["excluded"] == 0
    settings.CAMPAIGN_OPT_OUT_APPLIES_TO_UTILITY = True
    preview = supervisor_api.post(f"/campaigns/{response.json()['id']}/preview").json()
    assert preview["excluded_by_reason"] == {"do_not_contact": 1}
    assert [e["to"] for e in preview["exclusions"]] == ["6281255550002"]
    missing = supervisor_api.post(
        "/campaigns/",
        {
            "name": "x",
            "template_name": "cicilan_reminder",
            "language": "id",
            "segment_id": "00000000-0000-4000-8000-000000000000",
            "parameters": REMINDER_PARAMS,
        },
        format="json",
    )
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "unknown_segment"
