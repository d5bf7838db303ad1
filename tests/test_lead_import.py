"""Lead imports through their doors (the command and POST /leads/import), with real CSV and
XLSX files made here, each checked against the database."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
import xlsxwriter
from django.core.management import CommandError, call_command
from django.db import connection

from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP
from leads.models import Lead, LeadAttribute, LeadImport
from rooms.models import Room
from tests.factories import LeadFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "events"

# Odd headers (accents, case, Indonesian and English), phones in every spelling, money as
# people write it, a duplicate phone (lines 2 and 7), and broken rows.
MESSY_ROWS = [
    [
        "  NAMA ",
        "Nó HP",
        "Sisa_Pinjaman",
        "Jenis Pinjaman",
        "STATUS",
        "Tgl Jatuh Tempo",
        "DPD",
        "Cabang",
    ],
    [
        "Dewi Lestari",
        "0812-3456-7001",
        "Rp 12.500.000",
        "KTA",
        "Hot",
        "05/01/2027",
        "31",
        "Jakarta",
    ],
    [
        "Rudi Hartono",
        "+62 813 4567 7002",
        "12500000",
        "Kredit Motor",
        "WARM",
        "2027-01-10",
        "0",
        "Bandung",
    ],
    [
        "Siti Nurhaliza",
        "6281556787003",
        "12.500.000,00",
        "Paylater",
        "collection",
        "46390",
        "45",
        "Surabaya",
    ],
    ["Agus Salim", "81977777004", "12,500,000", "KPR", "new", "", "", ""],
    ["No Phone", "call me", "Rp 1.000", "KTA", "new", "", "", ""],
    ["Dewi Again", "+62 812 3456 7001", "Rp 1", "KTA", "hot", "", "", ""],
    ["Bad Money", "0812 9999 0008", "dua juta", "KTA", "new", "", "", ""],
    ["Bad Status", "0812 9999 0009", "Rp 5.000", "KTA", "sleeping", "", "", ""],
    ["Bad Date", "0812 9999 0010", "Rp 5.000", "KTA", "new", "32/13/2027", "", ""],
    ["", "", "", "", "", "", "", ""],
]


def csv_bytes(rows, *, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, *, sheet="Sheet1", extra_sheets=()) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for name in extra_sheets:
        workbook.add_worksheet(name).write_row(0, 0, ["nothing", "here"])
    worksheet = workbook.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                worksheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            elif value is not None:
                worksheet.write(r, c, value)
    workbook.close()
    return out.getvalue()


def write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def run_command(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_leads", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def check_messy_import(report: dict) -> None:
    """What MESSY_ROWS must become, checked in the database."""
    assert report["counts"] == {"created": 4, "updated": 0, "unchanged": 0, "skipped": 5}
    assert Lead.objects.count() == 4
    dewi = Lead.objects.get(phone="6281234567001")
    assert dewi.name == "Dewi Lestari"
    assert dewi.outstanding == Decimal("12500000.00")
    assert dewi.leads_status == "hot"
    assert dewi.attributes == {"due_date": "2027-01-05", "dpd": 31, "branch": "Jakarta"}
    rudi = Lead.objects.get(phone="6281345677002")
    assert (rudi.outstanding, rudi.leads_status) == (Decimal("12500000"), "warm")
    assert rudi.attributes["due_date"] == "2027-01-10"
    siti = Lead.objects.get(phone="6281556787003")
    assert siti.outstanding == Decimal("12500000")
    assert siti.attributes["due_date"] == "2027-01-03"  # Excel serial 46390
    agus = Lead.objects.get(phone="6281977777004")
    assert agus.outstanding == Decimal("12500000")
    assert agus.attributes == {}
    types = dict(LeadAttribute.objects.values_list("key", "type"))
    assert types == {"due_date": "date", "dpd": "number", "branch": "text"}
    issues = {issue["line"]: issue for issue in report["issues"]}
    assert set(issues) == {6, 7, 8, 9, 10}
    assert issues[6]["column"] == "Nó HP"
    assert issues[7]["column"] == "Nó HP" and "also on line 2" in issues[7]["reason"]
    assert issues[8]["column"] == "Sisa_Pinjaman" and "dua juta" in issues[8]["reason"]
    assert issues[9]["column"] == "STATUS" and "sleeping" in issues[9]["reason"]
    assert issues[10]["column"] == "Tgl Jatuh Tempo"


# --- the command ---------------------------------------------------------------------------


def test_command_imports_a_messy_csv_and_reports_every_skipped_row(tmp_path):
    room = RoomFactory(phone="6281234567001", lead=None)
    path = write(tmp_path, "nasabah.csv", csv_bytes(MESSY_ROWS))
    report_path = tmp_path / "report.csv"
    output = run_command(path, "--report", str(report_path))
    assert "9 rows read: 4 created, 0 updated, 0 unchanged, 5 skipped." in output
    assert "line 7, Nó HP: duplicate phone 6281234567001: also on line 2" in output
    record = LeadImport.objects.get()
    from leads.selectors import lead_import_report

    check_messy_import(lead_import_report(record))
    room.refresh_from_db()
    assert room.lead == Lead.objects.get(phone="6281234567001")
    # The report CSV: the file's own columns, then line and error, one row per skip.
    rows = list(csv.reader(io.StringIO(report_path.read_text(encoding="utf-8-sig"))))
    assert rows[0][-2:] == ["line", "error"]
    assert [r[-2] for r in rows[1:]] == ["6", "7", "8", "9", "10"]
    assert rows[3][0] == "Bad Money" and rows[3][-1].startswith("Sisa_Pinjaman: 'dua juta'")


def test_command_reads_an_xlsx_sheet_by_name_with_date_cells_and_numbers(tmp_path):
    rows = [
        ["Laporan nasabah Juli"],  # a title row above the table
        [],
        ["Name", "WhatsApp", "Outstanding", "Loan_Type", "Leads_Status", "Due Date", "Angsuran"],
        ["Dewi", 6281234567001, 12500000, "KTA", "hot", dt.date(2027, 1, 5), 1250000.5],
        ["Rudi", "0813-4567-7002", "Rp 7.000.000", "KTA", "Cold", 46390, "Rp 500.000"],
    ]
    path = write(tmp_path, "book.xlsx", xlsx_bytes(rows, sheet="Nasabah", extra_sheets=["Info"]))
    output = run_command(path, "--sheet", "nasabah", "--no-progress")
    assert "2 rows read: 2 created" in output
    dewi = Lead.objects.get(phone="6281234567001")
    assert dewi.outstanding == Decimal("12500000")
    assert dewi.attributes == {"due_date": "2027-01-05", "installment": 1250000.5}
    rudi = Lead.objects.get(phone="6281345677002")
    assert rudi.leads_status == "cold"
    assert rudi.attributes == {"due_date": "2027-01-03", "installment": 500000}
    assert LeadAttribute.objects.get(key="installment").type == "money"


def test_dry_run_changes_nothing(tmp_path):
    LeadFactory(phone="6281234567001", name="Old Name")
    path = write(tmp_path, "nasabah.csv", csv_bytes(MESSY_ROWS))
    output = run_command(path, "--dry-run", "--no-progress")
    assert "Dry run (nothing changed): 9 rows read: 3 created, 1 updated" in output
    assert Lead.objects.count() == 1
    assert Lead.objects.get().name == "Old Name"
    assert not LeadAttribute.objects.exists()
    assert not LeadImport.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.csv", b"", "empty"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "cannot be opened"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "not a text"),
        ("nophone.csv", b"nama,kota\nDewi,Jakarta\n", "No column holds the phone"),
    ],
)
def test_unreadable_file_changes_nothing_and_says_why(tmp_path, name, data, reason):
    path = write(tmp_path, name, data)
    with pytest.raises(CommandError, match=reason):
        run_command(path, "--no-progress")
    assert not Lead.objects.exists()
    assert not LeadImport.objects.exists()


def test_missing_sheet_is_named_with_the_sheets_there(tmp_path):
    path = write(tmp_path, "book.xlsx", xlsx_bytes([["nama", "no_hp"], ["A", "081234567890"]]))
    with pytest.raises(CommandError, match="no sheet 'Juli'; the sheets are: Sheet1"):
        run_command(path, "--sheet", "Juli")
    assert not Lead.objects.exists()


def test_excel_encodings_and_separators(tmp_path):
    rows = [["Nama", "Telepon", "Sisa Pinjaman"], ["José Ñúñez", "0812 1111 2222", "1.500.000,50"]]
    for i, (delimiter, encoding) in enumerate(
        [(";", "cp1252"), ("\t", "utf-16"), (",", "utf-8-sig")]
    ):
        Lead.objects.all().delete()
        path = write(tmp_path, f"f{i}.csv", csv_bytes(rows, delimiter=delimiter, encoding=encoding))
        assert "1 created" in run_command(path, "--no-progress")
        lead = Lead.objects.get()
        assert (lead.name, lead.phone, lead.outstanding) == (
            "José Ñúñez",
            "6281211112222",
            Decimal("1500000.50"),
        )


def test_one_lead_per_phone_and_the_overwrite_choice(tmp_path):
    LeadFactory(phone="6281234567001", name="Kept", loan_type="", outstanding=0, attributes={})
    rows = [
        ["nama", "no_hp", "jenis_pinjaman", "outstanding", "dpd"],
        ["From File", "0812 3456 7001", "KTA", "Rp 9.000", "12"],
    ]
    path = write(tmp_path, "a.csv", csv_bytes(rows))
    assert "0 created, 0 updated, 1 unchanged" in run_command(path, "--overwrite", "none")
    assert Lead.objects.get().name == "Kept"
    assert "1 updated" in run_command(path, "--overwrite", "empty")
    lead = Lead.objects.get()
    assert (lead.name, lead.loan_type, lead.outstanding, lead.attributes) == (
        "Kept",
        "KTA",
        Decimal("9000"),
        {"dpd": 12},
    )
    assert "1 updated" in run_command(path, "--overwrite", "all")
    assert Lead.objects.get().name == "From File"
    assert "1 unchanged" in run_command(path)  # the same file again changes nothing
    assert Lead.objects.count() == 1


def test_duplicates_last_wins_when_chosen(tmp_path):
    rows = [
        ["nama", "hp"],
        ["First", "0812 3456 7001"],
        ["Other", "0812 0000 0002"],
        ["Last", "+62 812-3456-7001"],
    ]
    path = write(tmp_path, "d.csv", csv_bytes(rows))
    output = run_command(path, "--duplicates", "last")
    assert "line 2, hp: duplicate phone 6281234567001: also on line 4; line 4 was kept" in output
    assert Lead.objects.get(phone="6281234567001").name == "Last"
    assert Lead.objects.count() == 2


def test_mapping_on_the_command_line(tmp_path):
    rows = [["Debitur", "Kontak", "Kolom X", "Plafon"], ["Dewi", "0812 3456 7001", "abc", "5000"]]
    path = write(tmp_path, "m.csv", csv_bytes(rows))
    run_command(
        path,
        "--map",
        "Debitur=name",
        "--map",
        "Kontak=phone",
        "--map",
        "Kolom X=ignore",
        "--map",
        "Plafon=attr:credit_limit:money",
    )
    lead = Lead.objects.get()
    assert (lead.name, lead.attributes) == ("Dewi", {"credit_limit": 5000})
    with pytest.raises(CommandError, match="invalid_mapping"):
        run_command(path, "--map", "Kontak=telephone")


def test_five_thousand_rows_with_progress_in_whole_batches(tmp_path, capsys):
    rows = [["nama", "no_hp", "sisa_pinjaman", "dpd"]]
    rows += [
        [f"Nasabah {i}", f"0812{i:08d}", f"Rp {i * 1000:,}".replace(",", "."), str(i % 90)]
        for i in range(5000)
    ]
    path = write(tmp_path, "5k.xlsx", xlsx_bytes(rows))
    output = run_command(path)
    assert "5000 rows read: 5000 created" in output
    assert "5000/5000" in output  # the progress bar reached the end
    assert Lead.objects.count() == 5000
    assert Lead.objects.get(phone="6281200004321").outstanding == Decimal("4321000")
    record = LeadImport.objects.get()
    assert (record.status, record.committed_through_line) == ("done", 5001)
    assert "5000 unchanged" in run_command(path, "--no-progress")
    assert Lead.objects.count() == 5000


def test_a_crash_half_way_keeps_whole_batches_and_the_same_file_finishes_the_job(
    tmp_path, monkeypatch
):
    rows = [["nama", "no_hp"]] + [[f"N {i}", f"0812{i:08d}"] for i in range(2500)]
    path = write(tmp_path, "crash.csv", csv_bytes(rows))
    calls = {"n": 0}
    from rooms.services import room_link_leads as real_link

    def failing_link(*, phones):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real_link(phones=phones)

    monkeypatch.setattr("rooms.services.room_link_leads", failing_link)
    with pytest.raises(CommandError, match="Stopped after line 1001"):
        run_command(path, "--no-progress")
    assert Lead.objects.count() == 1000  # the first whole batch, nothing of the second
    record = LeadImport.objects.get()
    assert (record.status, record.committed_through_line) == ("failed", 1001)
    assert record.counts == {"created": 1000, "updated": 0, "unchanged": 0, "skipped": 0}
    monkeypatch.setattr("rooms.services.room_link_leads", real_link)
    assert "1500 created, 0 updated, 1000 unchanged" in run_command(path, "--no-progress")
    assert Lead.objects.count() == 2500


# --- POST /leads/import ----------------------------------------------------------------------


def test_rest_import_answers_the_report_and_emits_one_event(supervisor_api, tap):
    for i in range(3):
        RoomFactory(phone=f"62812345670{i:02d}", lead=None)
    supervisors, agents = tap(SUPERVISORS_GROUP), tap(AGENTS_GROUP)
    upload = io.BytesIO(xlsx_bytes(MESSY_ROWS))
    upload.name = "nasabah.xlsx"
    response = supervisor_api.post("/leads/import", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    check_messy_import(body)
    assert body["status"] == "done" and body["rows_read"] == 9
    assert [c["target"] for c in body["columns"]] == [
        "name",
        "phone",
        "outstanding",
        "loan_type",
        "leads_status",
        "attr:due_date:date",
        "attr:dpd:number",
        "attr:branch:text",
    ]
    assert Room.objects.get(phone="6281234567001").lead.name == "Dewi Lestari"
    events = [(e, d) for e, d in supervisors.drain() if e == "leads_imported"]
    assert len(events) == 1  # one event for the import, not one per row
    assert [e for e, _ in agents.drain() if e == "leads_imported"] == ["leads_imported"]
    _, data = events[0]
    schema = json.loads((SCHEMAS / "leads_imported.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert (data["created"], data["updated"], data["skipped"]) == (4, 0, 5)
    # The downloadable report.
    report = supervisor_api.get(body["report_url"])
    assert report.status_code == 200
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].endswith(",line,error")
    assert len(text.splitlines()) == 6


def test_rest_dry_run_and_mapping_change_nothing(supervisor_api):
    rows = [["Debitur", "Kontak"], ["Dewi", "0812 3456 7001"]]
    upload = io.BytesIO(csv_bytes(rows))
    upload.name = "x.csv"
    response = supervisor_api.post(
        "/leads/import",
        {"file": upload, "dry_run": "true", "mapping": json.dumps({"Kontak": "phone"})},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["import_id"] is None
    assert body["sample"] == [
        {"line": 2, "phone": "6281234567001", "name": "Dewi", "attributes": {}}
    ]
    assert body["counts"]["created"] == 1
    assert body["columns"][0]["target"] == "name"  # "debitur" is a name alias
    assert not Lead.objects.exists()


def test_rest_import_bad_input_is_a_4xx_with_a_stable_code(supervisor_api):
    upload = io.BytesIO(b"PK\x03\x04garbage")
    upload.name = "x.xlsx"
    response = supervisor_api.post("/leads/import", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unreadable_file"
    response = supervisor_api.post("/leads/import", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    upload = io.BytesIO(b"nama,hp\nA,081234567890\n")
    upload.name = "x.csv"
    response = supervisor_api.post(
        "/leads/import", {"file": upload, "mapping": "{nope"}, format="multipart"
    )
    assert response.status_code == 400
    assert not Lead.objects.exists()


def test_rest_import_needs_the_import_right(agent_api, agent):
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def post(client):
        upload = io.BytesIO(b"nama,hp\nA,081234567890\n")
        upload.name = "x.csv"
        return client.post("/leads/import", {"file": upload}, format="multipart")

    assert post(agent_api).status_code == 403
    assert post(APIClient()).status_code == 401
    integration = UserFactory(username="crm-bot")
    integration.user_permissions.add(Permission.objects.get(codename="import_leads"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=integration).key}")
    assert post(client).status_code == 201
    assert Lead.objects.filter(phone="6281234567890").exists()


def test_attribute_filters_compare_as_their_type(tmp_path):
    rows = [
        ["nama", "hp", "dpd", "jatuh tempo", "angsuran"],
        ["A", "0812 0000 0001", "5", "01/02/2027", "Rp 900.000"],
        ["B", "0812 0000 0002", "30", "15/01/2027", "Rp 1.250.000"],
        ["C", "0812 0000 0003", "120", "2026-12-31", "Rp 10.000.000"],
    ]
    run_command(write(tmp_path, "f.csv", csv_bytes(rows)), "--no-progress")
    names = lambda qs: sorted(qs.values_list("name", flat=True))  # noqa: E731
    assert names(Lead.objects.filter(attributes__dpd__gte=30)) == ["B", "C"]
    assert names(Lead.objects.filter(attributes__installment__gt=1000000)) == ["B", "C"]
    assert names(Lead.objects.filter(attributes__due_date__lt="2027-01-20")) == ["B", "C"]
    assert connection.vendor == "postgresql"
