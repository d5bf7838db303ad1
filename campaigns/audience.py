"""Where a campaign's recipients come from: an uploaded CSV/XLSX, a list of leads, or a
leads segment; and what the template's parameters need from each of them.

A row is {"to": phone or BSUID as written, "lead_id": uuid or None, "columns": {...}}.
"""

import csv
import io
import re

from django.apps import apps

from boztell.errors import BoztellError

# Headers that name the recipient's number or BSUID (first match wins, any case).
RECIPIENT_HEADERS = (
    "to",
    "phone",
    "wa_id",
    "whatsapp",
    "nomor",
    "no_hp",
    "nomor_hp",
    "hp",
    "telepon",
    "bsuid",
    "user_id",
)
MAX_ROWS = 100_000
LEAD_FIELDS = ("name", "phone", "outstanding", "loan_type", "leads_status", "contact_status")


class AudienceError(BoztellError):
    code = "invalid_audience"
    status = 400


def _header_key(text) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text or "").strip().lower()).strip("_")


def _table(data: bytes, filename: str) -> list[list]:
    name = (filename or "").lower()
    if name.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
            return book.get_sheet_by_index(0).to_python(skip_empty_area=True)
        except Exception as exc:  # calamine raises its own types for a broken file
            raise AudienceError(f"The spreadsheet cannot be read: {exc}") from exc
    if name.endswith((".csv", ".txt")) or not name:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        return list(csv.reader(io.StringIO(text), dialect))
    raise AudienceError("Upload a .csv or .xlsx file.", code="unsupported_file")


def audience_from_file(*, data: bytes, filename: str) -> tuple[list[dict], list[str]]:
    """Rows and column names of an uploaded CSV/XLSX; the first row is the header, and one
    column names the recipient (phone, to, wa_id, nomor, hp, bsuid, ...)."""
    table = [row for row in _table(data, filename) if any(str(c).strip() for c in row)]
    if not table:
        raise AudienceError("The file has no rows.", code="empty_audience")
    headers = [_header_key(h) or f"column_{i + 1}" for i, h in enumerate(table[0])]
    recipient = next((h for h in RECIPIENT_HEADERS if h in headers), None)
    if recipient is None:
        raise AudienceError(
            "No column names the recipient: call it phone, to, wa_id, nomor, hp or bsuid.",
            code="no_recipient_column",
        )
    if len(table) - 1 > MAX_ROWS:
        raise AudienceError(f"At most {MAX_ROWS} recipients per campaign.", code="too_many_rows")
    index = headers.index(recipient)
    rows = []
    for cells in table[1:]:
        cells = list(cells) + [""] * (len(headers) - len(cells))
        columns = {h: _cell(cells[i]) for i, h in enumerate(headers)}
        rows.append({"to": _phone_text(cells[index]), "lead_id": None, "columns": columns})
    return rows, headers


def _cell(value):
    """JSON-safe cell: dates as ISO text, whole floats as ints."""
    import datetime as dt

    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _phone_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number typed into Excel: 6281234567890.0
    return str(value if value is not None else "").strip()


def _lead_has(field: str) -> bool:
    lead = apps.get_model("leads", "Lead")
    return any(f.name == field for f in lead._meta.get_fields())


def campaign_audience_from_leads(queryset) -> tuple[list[dict], list[str]]:
    """A lead queryset as audience rows: the lead's fields, and its typed attributes when
    the leads app has them (issue 16), as columns; `do_not_contact` travels along."""
    with_attributes = _lead_has("attributes")
    with_dnc = _lead_has("do_not_contact")
    rows, names = [], list(LEAD_FIELDS)
    seen = set(names)
    ordered = queryset if queryset.query.order_by else queryset.order_by("name", "pk")
    for lead in ordered.iterator(chunk_size=2000):
        columns = {name: _cell(getattr(lead, name)) for name in LEAD_FIELDS}
        columns["outstanding"] = str(lead.outstanding)
        if with_attributes:
            for key, value in (lead.attributes or {}).items():
                columns.setdefault(key, value)
                if key not in seen:
                    seen.add(key)
                    names.append(key)
        row = {"to": lead.phone, "lead_id": str(lead.pk), "columns": columns}
        if with_dnc:
            row["do_not_contact"] = bool(lead.do_not_contact)
        rows.append(row)
    return rows, names


def segments_available() -> bool:
    try:
        apps.get_model("leads", "Segment")
    except LookupError:
        return False
    return True


def segment_leads(segment_id):
    """The hook for a leads segment: its leads as a queryset. Filled by the leads app's
    Segment (issue 16) when it exists; until then a segment audience is refused."""
    if not segments_available():
        raise AudienceError(
            "Lead segments are not available yet; upload a file or choose leads.",
            code="segments_unavailable",
        )
    segment_model = apps.get_model("leads", "Segment")
    segment = segment_model.objects.filter(pk=segment_id).first()
    if segment is None:
        raise AudienceError("No segment has this id.", code="unknown_segment")
    from leads import selectors

    return selectors.segment_leads(segment)


def campaign_rows(campaign) -> tuple[list[dict], list[str]]:
    """The campaign's audience as rows, resolved now (a segment is read afresh)."""
    if campaign.audience_kind == campaign.Audience.SEGMENT:
        return campaign_audience_from_leads(segment_leads(campaign.segment_id))
    return list(campaign.audience_rows or []), list(campaign.audience_columns or [])
