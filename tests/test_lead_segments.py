"""Segments (saved filters over leads) and exports, through REST and the admin, checked
against the database."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from leads.models import LeadAttribute, Segment
from tests.factories import LeadFactory, MessageFactory, RoomFactory, RoomParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(agent):
    """Five leads with typed attributes; Dewi's room is assigned to Agent A with 2 unread."""
    today = timezone.localdate()
    for key, type_ in (
        ("dpd", "number"),
        ("due_date", "date"),
        ("installment", "money"),
        ("branch", "text"),
    ):
        LeadAttribute.objects.create(key=key, label=key.replace("_", " ").title(), type=type_)

    def lead(name, status, outstanding, dpd, due_in, branch, **extra):
        due = (today + dt.timedelta(days=due_in)).isoformat()
        return LeadFactory(
            name=name,
            leads_status=status,
            outstanding=Decimal(outstanding),
            loan_type="KTA",
            attributes={"dpd": dpd, "due_date": due, "installment": 1250000, "branch": branch},
            **extra,
        )

    leads = {
        "dewi": lead("Dewi", "hot", "12500000", 45, 3, "Jakarta"),
        "rudi": lead("Rudi", "hot", "2000000", 10, 5, "Bandung"),
        "siti": lead("Siti", "collection", "30000000", 90, -2, "Jakarta"),
        "agus": lead("Agus", "hot", "40000000", 31, 30, "Surabaya", do_not_contact=True),
        "eko": LeadFactory(name="Eko", leads_status="cold", outstanding=0, attributes={}),
    }
    now = timezone.now()
    room = RoomFactory(
        phone=leads["dewi"].phone,
        lead=leads["dewi"],
        last_message_at=now,
        last_customer_message_at=now,
    )
    RoomParticipantFactory(room=room, user=agent, last_read_at=now - dt.timedelta(hours=2))
    MessageFactory(room=room, user=None)
    MessageFactory(room=room, user=None)
    RoomFactory(
        phone=leads["siti"].phone,
        lead=leads["siti"],
        last_customer_message_at=now - dt.timedelta(days=40),
    )
    return leads


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["name"] for row in response.json()["results"])


def test_filters_as_query_parameters(supervisor_api, book):
    def get(query):
        return names(supervisor_api.get(f"/leads/?{query}"))

    today = timezone.localdate()
    assert get("leads_status=hot") == ["Agus", "Dewi", "Rudi"]
    assert get("leads_status=HOT,collection&do_not_contact=false") == ["Dewi", "Rudi", "Siti"]
    assert get("attr=dpd:gte:30") == ["Agus", "Dewi", "Siti"]
    assert get("attr=dpd:gte:30&attr=branch:eq:Jakarta") == ["Dewi", "Siti"]
    assert get("attr=due_date:within_next_days:7") == ["Dewi", "Rudi"]
    assert get(f"attr=due_date:lt:{today.isoformat()}") == ["Siti"]
    assert get(f"attr=due_date:lt:{today.strftime('%d/%m/%Y')}") == ["Siti"]
    assert get("attr=due_date:is_set:false") == ["Eko"]
    assert get("outstanding_min=Rp%2010.000.000&outstanding_max=30000000") == ["Dewi", "Siti"]
    assert get(f"last_customer_message_after={today.isoformat()}") == ["Dewi"]
    assert get(f"last_customer_message_before={today.isoformat()}") == ["Siti"]
    assert get("search=dew") == ["Dewi"]
    body = supervisor_api.get("/leads/?leads_status=hot&page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert body["results"][0]["attributes"]["dpd"] == 31


@pytest.mark.parametrize(
    "query",
    [
        "attr=dpd:gte:many",
        "attr=unknown:eq:1",
        "attr=branch:gte:A",
        "outstanding_min=lots",
        "colour=red",
        "last_customer_message_after=yesterday",
        "do_not_contact=maybe",
    ],
)
def test_bad_filters_are_400_invalid_filter(supervisor_api, book, query):
    response = supervisor_api.get(f"/leads/?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_filter"


def test_agents_cannot_list_or_export_leads(agent_api, book):
    assert agent_api.get("/leads/").status_code == 403
    assert agent_api.get("/leads/export").status_code == 403
    assert agent_api.get("/leads/attributes").status_code == 200  # the lead panel's types


def test_segment_saved_in_admin_with_live_count_then_listed_and_exported(
    client, supervisor, supervisor_api, book
):
    client.force_login(supervisor)
    form = {
        "name": "Jakarta DPD 30+",
        "leads_status": ["hot", "collection"],
        "do_not_contact": "false",
        "conditions": "dpd >= 30\nbranch = Jakarta",
        "loan_type": "",
        "outstanding_min": "",
        "outstanding_max": "",
    }
    count = client.get("/admin/leads/segment/count/", form)
    assert count.json() == {"count": 2}
    bad = client.get("/admin/leads/segment/count/", {**form, "conditions": "dpd is big"})
    assert bad.status_code == 400 and "Line 1" in bad.json()["error"]
    page = client.get("/admin/leads/segment/add/")
    assert b'id="segment-live-count"' in page.content
    assert b"leads/segment_count.js" in page.content
    response = client.post("/admin/leads/segment/add/", form)
    assert response.status_code == 302, response.content
    segment = Segment.objects.get()
    assert segment.filters == {
        "leads_status": ["hot", "collection"],
        "do_not_contact": False,
        "attributes": [
            {"key": "dpd", "op": "gte", "value": 30},
            {"key": "branch", "op": "eq", "value": "Jakarta"},
        ],
    }
    assert segment.created_by == supervisor
    edit = client.get(f"/admin/leads/segment/{segment.pk}/change/").content.decode()
    assert "dpd &gt;= 30" in edit and f"segment={segment.pk}&amp;format=xlsx" in edit

    assert names(supervisor_api.get(f"/leads/?segment={segment.pk}")) == ["Dewi", "Siti"]
    both = supervisor_api.get(f"/leads/?segment={segment.pk}&leads_status=collection")
    assert names(both) == ["Siti"]
    missing = supervisor_api.get("/leads/?segment=00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_segment"
    listed = supervisor_api.get("/leads/segments").json()
    assert [s["name"] for s in listed] == ["Jakarta DPD 30+"]

    response = supervisor_api.get(f"/leads/export?segment={segment.pk}&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "Jakarta-DPD-30-" in response["Content-Disposition"]
    rows = read_csv(response)
    assert [r["name"] for r in rows] == ["Dewi", "Siti"]
    dewi = rows[0]
    assert dewi["assigned_agent"] == "Agent A"
    assert dewi["unread_count"] == "2"
    assert dewi["last_message_at"]
    assert dewi["dpd"] == "45" and dewi["branch"] == "Jakarta"
    assert rows[1]["assigned_agent"] == "" and rows[1]["unread_count"] == "0"


def read_csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def read_xlsx(response) -> list[list]:
    data = b"".join(response.streaming_content)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    return sheet.to_python()


def test_xlsx_export_is_typed_and_never_runs_a_formula(supervisor_api, book):
    LeadFactory(name='=HYPERLINK("http://evil")', leads_status="hot", attributes={})
    response = supervisor_api.get("/leads/export?format=xlsx&leads_status=hot")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.streaming
    rows = read_xlsx(response)
    header = rows[0]
    assert header[:3] == ["name", "phone", "outstanding"]
    assert {"due_date", "dpd", "installment", "assigned_agent", "unread_count"} <= set(header)
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"Agus", "Dewi", "Rudi", '=HYPERLINK("http://evil")'}
    dewi = by_name["Dewi"]
    assert dewi["outstanding"] == 12500000
    assert dewi["due_date"] == timezone.localdate() + dt.timedelta(days=3)
    assert dewi["installment"] == 1250000
    assert dewi["unread_count"] == 2
    csv_rows = read_csv(supervisor_api.get("/leads/export?leads_status=hot"))
    assert csv_rows[0]["name"] == '\'=HYPERLINK("http://evil")'  # text, not a formula
    bad = supervisor_api.get("/leads/export?format=pdf")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_format"


def test_admin_exports_what_the_change_list_shows(client, supervisor, book):
    client.force_login(supervisor)
    changelist = client.get("/admin/leads/lead/?leads_status__exact=hot").content.decode()
    assert "format=xlsx&amp;leads_status__exact=hot" in changelist
    rows = read_csv(client.get("/admin/leads/lead/export/?format=csv&leads_status__exact=hot"))
    assert sorted(r["name"] for r in rows) == ["Agus", "Dewi", "Rudi"]
    response = client.post(
        "/admin/leads/lead/",
        {"action": "export_xlsx", "_selected_action": [str(book["eko"].pk)]},
    )
    rows = read_xlsx(response)
    assert [r[0] for r in rows[1:]] == ["Eko"]


@pytest.mark.django_db(transaction=True)
async def test_export_streams_under_asgi_without_draining_into_memory(supervisor):
    """Under daphne (ASGI) Django drains a plain iterator into a list before sending it;
    the export hands it an async stream instead, chunk by chunk."""
    import warnings

    from asgiref.sync import sync_to_async
    from django.test import AsyncClient
    from rest_framework.authtoken.models import Token

    @sync_to_async
    def seed():
        from leads.models import Lead

        Lead.objects.bulk_create(
            Lead(name=f"Nasabah {i:05d}", phone=f"62812{i:08d}") for i in range(3000)
        )
        return Token.objects.create(user=supervisor).key

    key = await seed()
    client = AsyncClient()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = await client.get(
            "/leads/export?format=csv", headers={"authorization": f"Token {key}"}
        )
        assert response.status_code == 200, response.content
        chunks = [chunk async for chunk in response.streaming_content]
    from django.db import connections

    await sync_to_async(connections.close_all)()  # the stream's thread, as request_finished
    assert not [w for w in caught if "consume synchronous iterators" in str(w.message)]
    assert len(chunks) > 2  # 64 KB at a time, not one list
    text = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3000 and rows[0]["name"] == "Nasabah 00000"


def test_segments_by_the_rooms_label_and_team(supervisor_api):
    from leads.models import Segment
    from rooms.models import Label, RoomLabel, Team
    from tests.factories import LeadFactory, RoomFactory

    promised = LeadFactory(name="Janji Bayar", phone="6281234500001")
    other = LeadFactory(name="Lain", phone="6281234500002")
    LeadFactory(name="Tanpa Room", phone="6281234500003")
    collection = Team.objects.create(name="Collection")
    room = RoomFactory(phone=promised.phone, lead=promised, team=collection)
    RoomFactory(phone=other.phone, lead=other)
    RoomLabel.objects.create(room=room, label=Label.objects.create(name="janji-bayar"))

    def names(query):
        response = supervisor_api.get(f"/leads/?{query}")
        assert response.status_code == 200, response.content
        return sorted(lead["name"] for lead in response.json()["results"])

    assert names("room_label=janji-bayar") == ["Janji Bayar"]
    assert names("room_label=janji-bayar,nothing") == ["Janji Bayar"]
    assert names("team=Collection") == ["Janji Bayar"]
    assert names("room_label=nothing") == []
    segment = Segment.objects.create(name="Promised", filters={"room_label": "janji-bayar"})
    assert names(f"segment={segment.pk}") == ["Janji Bayar"]
