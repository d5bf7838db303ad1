"""Leads out as CSV or XLSX, streamed: rows are read from the database in chunks (a
server-side cursor on PostgreSQL) and written as they come, with the columns another app
adds beside them (the export doors, inbox/lead_export.py, add each lead's room facts)."""

import contextlib
import csv
import datetime as dt
import os
import tempfile
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import timezone

from leads.models import LeadAttribute

CHUNK_ROWS = 2000
FORMATS = ("csv", "xlsx")
LEAD_COLUMNS = [
    ("name", "name"),
    ("phone", "phone"),
    ("outstanding", "outstanding"),
    ("loan_type", "loan_type"),
    ("leads_status", "leads_status"),
    ("contact_status", "contact_status"),
    ("do_not_contact", "do_not_contact"),
]


def export_rows(leads, columns=()):
    """The header, then one list of typed values per lead (Decimal, date, datetime, ...).
    `columns`: more columns after the lead's, as (header, annotation on `leads`, value when
    empty): another app's facts about each lead (inbox.selectors.LEAD_ROOM_COLUMNS)."""
    attributes = list(LeadAttribute.objects.order_by("key").values_list("key", "label", "type"))
    names = [attname for _, attname in LEAD_COLUMNS] + ["attributes"]
    names += [attname for _, attname, _ in columns]
    header = [label for label, _ in LEAD_COLUMNS]
    header += [key for key, _, _ in attributes]
    header += [label for label, _, _ in columns]
    yield header, [t for _, _, t in attributes]
    empty = [value for _, _, value in columns]
    rows = leads.order_by("name", "id").values_list(*names)
    zone = timezone.get_current_timezone()
    for values in rows.iterator(chunk_size=CHUNK_ROWS):
        lead = list(values[: len(LEAD_COLUMNS)])
        stored = values[len(LEAD_COLUMNS)] or {}
        facts = list(values[len(LEAD_COLUMNS) + 1 :])
        typed = []
        for key, _, type_ in attributes:
            value = stored.get(key)
            if type_ == "date" and isinstance(value, str):
                with contextlib.suppress(ValueError):
                    value = dt.date.fromisoformat(value)
            elif type_ == "money" and isinstance(value, int | float):
                value = Decimal(str(value))
            typed.append(value)
        facts = [
            otherwise
            if v is None
            else v.astimezone(zone).replace(tzinfo=None)
            if isinstance(v, dt.datetime)
            else v
            for v, otherwise in zip(facts, empty, strict=True)
        ]
        yield lead + typed + facts


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # a spreadsheet must not run a customer's text as a formula
    return value


class _Echo:
    def write(self, value):
        return value


def csv_chunks(leads, columns=()):
    writer = csv.writer(_Echo())
    rows = export_rows(leads, columns)
    header, _ = next(rows)
    buffer = ["\ufeff" + writer.writerow(header)]
    size = 0
    for row in rows:
        line = writer.writerow([_csv_cell(v) for v in row])
        buffer.append(line)
        size += len(line)
        if size > 64 * 1024:
            yield "".join(buffer)
            buffer, size = [], 0
    yield "".join(buffer)


def xlsx_chunks(leads, columns=()):
    """Written row by row with xlsxwriter's constant_memory mode into a temporary file
    (a zip cannot be sent before it is finished), then streamed from it and removed."""
    import xlsxwriter

    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="leads-export-")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
                "remove_timezone": True,
            },
        )
        sheet = workbook.add_worksheet("Leads")
        money = workbook.add_format({"num_format": '"Rp" #,##0'})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        rows = export_rows(leads, columns)
        header, attribute_types = next(rows)
        sheet.write_row(0, 0, header)
        money_columns = {2} | {
            len(LEAD_COLUMNS) + i for i, t in enumerate(attribute_types) if t == "money"
        }
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, bool):
                    sheet.write_boolean(r, c, value)
                elif isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, moment)
                elif isinstance(value, dt.date):
                    sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), day)
                elif isinstance(value, Decimal | int | float):
                    sheet.write_number(r, c, value, money if c in money_columns else None)
                else:
                    sheet.write_string(r, c, str(value))
        workbook.close()
        with open(path, "rb") as source:
            while chunk := source.read(256 * 1024):
                yield chunk
    finally:
        os.unlink(path)


def _async_chunks(chunks):
    """The same chunks for an ASGI server (daphne): Django drains a plain iterator into a
    list before serving it asynchronously, so the export would sit whole in memory. Each
    chunk is made in the request's one sync thread, where its database cursor lives."""
    from asgiref.sync import sync_to_async

    done = object()
    pull = sync_to_async(next, thread_sensitive=True)

    async def stream():
        while (chunk := await pull(chunks, done)) is not done:
            yield chunk

    return stream()


def streaming_response(chunks, *, content_type: str, request=None) -> StreamingHttpResponse:
    """Stream `chunks` (an iterator) under WSGI and under ASGI alike: pass the request."""
    from django.core.handlers.asgi import ASGIRequest

    if isinstance(getattr(request, "_request", request), ASGIRequest):
        chunks = _async_chunks(chunks)
    return StreamingHttpResponse(chunks, content_type=content_type)


def export_response(
    leads, *, format: str, name: str = "leads", request=None, columns=()
) -> StreamingHttpResponse:
    """A streamed download of these leads as CSV or XLSX (`columns`: see export_rows)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if format == "xlsx":
        response = streaming_response(
            xlsx_chunks(leads, columns),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            request=request,
        )
    else:
        response = streaming_response(
            csv_chunks(leads, columns), content_type="text/csv; charset=utf-8", request=request
        )
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60] or "leads"
    response["Content-Disposition"] = f'attachment; filename="{safe}-{stamp}.{format}"'
    return response
