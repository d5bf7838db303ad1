"""Writes for leads."""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from boztell.phones import InvalidPhone, normalize_phone
from leads.models import LEAD_FIELDS, Lead, LeadAttribute, LeadImport

logger = logging.getLogger("boztell.leads")


def lead_create(
    *,
    name: str,
    phone: str,
    outstanding: Decimal | int | str = 0,
    loan_type: str = "",
    leads_status: str = "",
    contact_status: str = "",
    do_not_contact: bool = False,
    attributes: dict | None = None,
) -> Lead:
    """The lead alone. Doors call rooms.services.lead_create, which also links the room that
    already exists for this phone."""
    return Lead.objects.create(
        name=name,
        phone=normalize_phone(phone),
        outstanding=Decimal(str(outstanding)),
        loan_type=loan_type,
        leads_status=leads_status,
        contact_status=contact_status,
        do_not_contact=do_not_contact,
        attributes=attributes or {},
    )


def lead_update(*, lead: Lead, by, **changes) -> Lead:
    """Change a lead's fields (any of LEAD_FIELDS), the lead alone. Doors call
    rooms.services.lead_update, which also links a new phone's room and tells whoever sees
    the lead's rooms (`lead_updated`)."""
    unknown = set(changes) - set(LEAD_FIELDS)
    if unknown:
        raise TypeError(f"lead_update() cannot change {', '.join(sorted(unknown))}")
    if "phone" in changes:
        changes["phone"] = normalize_phone(changes["phone"])
    if "outstanding" in changes:
        changes["outstanding"] = Decimal(str(changes["outstanding"]))
    if "attributes" in changes:
        changes["attributes"] = changes["attributes"] or {}  # a cleared admin field
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if changes:
            for name, value in changes.items():
                setattr(lead, name, value)
            lead._history_user = by  # the lead's admin history names who changed it
            lead.save(update_fields=[*changes, "updated_at"])
    return lead


def leads_phones_renormalise(*, write=lambda line: None) -> Counter:
    """Stored leads' phones in today's phone rule (boztell/phones.py); a number that is not
    one, or that another lead already has, is left. Each change is reported through
    `write`; the counts come back. (messaging.services.customers.phones_renormalise does the
    rooms after it.)"""
    from boztell.phones import normalize_wa_id

    counts: Counter = Counter()
    for lead in Lead.objects.order_by("created_at", "id"):
        try:
            phone = normalize_wa_id(lead.phone)
        except InvalidPhone:
            write(f"lead {lead.pk} ({lead.name}): '{lead.phone}' is not a phone number; left")
            counts["leads_invalid"] += 1
            continue
        if phone == lead.phone:
            continue
        if Lead.objects.filter(phone=phone).exclude(pk=lead.pk).exists():
            write(
                f"lead {lead.pk} ({lead.name}): '{lead.phone}' is {phone}, "
                "which another lead has; left"
            )
            counts["leads_duplicate"] += 1
            continue
        Lead.objects.filter(pk=lead.pk).update(phone=phone)
        write(f"lead {lead.pk} ({lead.name}): {lead.phone} -> {phone}")
        counts["leads_renormalised"] += 1
    return counts


# --- import ------------------------------------------------------------------------------

OVERWRITE_CHOICES = ("all", "empty", "none")
DUPLICATE_CHOICES = ("first", "last")
IMPORT_BATCH_SIZE = 1000
SAMPLE_ROWS = 10  # rows shown as they will be stored, in the admin's preview
_TEXT_LIMITS = {"name": 200, "loan_type": 100}


@dataclass
class _Row:
    line: int
    phone: str
    values: list
    fields: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)


class _RowProblem(Exception):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column = column
        self.reason = reason


def lead_import(
    *,
    data: bytes,
    filename: str = "",
    by=None,
    dry_run: bool = False,
    sheet: str | None = None,
    overwrite: str = "all",
    duplicates: str = "first",
    mapping: dict[str, str] | None = None,
    record: LeadImport | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    batch_size: int = IMPORT_BATCH_SIZE,
    stored: Callable[[list[str]], object] | None = None,
) -> LeadImport:
    """Import a CSV/XLSX of leads: one lead per normalised phone, created or updated, in
    whole committed batches. Returns the import's record and report (`counts`, `issues`,
    `committed_through_line`); a dry run computes the same report and writes nothing.

    `stored(phones)` runs in each batch's transaction with the phones it stored: doors call
    rooms.services.lead_import, which links the rooms of those phones there.

    Raises UnreadableFile / InvalidMapping before anything is written. A failure half-way
    leaves the committed batches and a record with status `failed` saying where it stopped;
    importing the same file again finishes the job (stored rows come back `unchanged`)."""
    from leads.importing import (
        IGNORE,
        InvalidMapping,
        apply_mapping,
        default_columns,
        find_header,
        infer_type,
        read_table,
    )

    if overwrite not in OVERWRITE_CHOICES:
        raise InvalidMapping(f"overwrite must be one of {', '.join(OVERWRITE_CHOICES)}.")
    if duplicates not in DUPLICATE_CHOICES:
        raise InvalidMapping(f"duplicates must be one of {', '.join(DUPLICATE_CHOICES)}.")
    spreadsheet = read_table(data, filename=filename, sheet=sheet)
    header_line, headers = find_header(spreadsheet)
    known = dict(LeadAttribute.objects.values_list("key", "type"))
    columns = apply_mapping(default_columns(headers, known), mapping)
    phone_column = next((c for c in columns if c.target == "phone"), None)
    if phone_column is None:
        raise InvalidMapping(
            "No column holds the phone number: name it no_hp, telepon, phone or whatsapp, "
            "or map one.",
            details={"headers": headers},
        )

    # Pass 1: every row's phone (duplicates are known before anything is stored) and the
    # first values of attribute columns whose type is not known yet.
    untyped = [c for c in columns if c.target == "attribute" and not c.type]
    samples: dict[int, list] = {c.index: [] for c in untyped}
    phones: dict[int, str | InvalidPhone] = {}
    lines_by_phone: dict[str, list[int]] = {}
    for line, row in spreadsheet.rows():
        if line <= header_line:
            continue
        cell = row[phone_column.index] if phone_column.index < len(row) else ""
        try:
            phone = normalize_phone(_phone_text(cell))
        except InvalidPhone as exc:
            phones[line] = exc
            continue
        phones[line] = phone
        lines_by_phone.setdefault(phone, []).append(line)
        for column in untyped:
            if column.index < len(row) and len(samples[column.index]) < 500:
                samples[column.index].append(row[column.index])
    for column in untyped:
        column.type = known.get(column.key) or infer_type(column.header, samples[column.index])
    _check_attribute_columns(columns, known)
    total = len(phones)

    record = record or LeadImport(original_name=filename[:255], created_by=by)
    record.dry_run = dry_run
    record.options = {
        "overwrite": overwrite,
        "duplicates": duplicates,
        "sheet": spreadsheet.sheet,
        "sheets": spreadsheet.sheets,
        "format": spreadsheet.source_format,
        "header_line": header_line,
        "columns": [c.as_dict() for c in columns],
    }
    record.rows_read = total
    record.counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    record.issues = []
    record.error = ""
    record.committed_through_line = None
    record.status = LeadImport.Status.RUNNING
    if not dry_run:
        record.save()
        with transaction.atomic():
            for column in columns:
                if column.target == "attribute" and column.key not in known:
                    LeadAttribute.objects.get_or_create(
                        key=column.key,
                        defaults={"label": column.header.strip()[:100], "type": column.type},
                    )

    used = [c for c in columns if c.target != IGNORE]
    keep = {
        phone: (lines[0] if duplicates == "first" else lines[-1])
        for phone, lines in lines_by_phone.items()
    }
    batch: list[_Row] = []
    sample = record.options["sample"] = []
    done = 0
    last_line = header_line
    try:
        for line, row in spreadsheet.rows():
            if line <= header_line:
                continue
            last_line = line
            phone = phones[line]
            if isinstance(phone, InvalidPhone):
                _skip(record, line, phone_column.header, phone.message, row)
            elif keep[phone] != line:
                others = [n for n in lines_by_phone[phone] if n != line]
                _skip(
                    record,
                    line,
                    phone_column.header,
                    f"duplicate phone {phone}: also on line{'s' if len(others) > 1 else ''} "
                    f"{', '.join(map(str, others))}; line {keep[phone]} was kept "
                    f"({duplicates} wins)",
                    row,
                )
            else:
                try:
                    parsed = _parse_row(line, phone, row, used)
                    batch.append(parsed)
                    if len(sample) < SAMPLE_ROWS:
                        sample.append(_sample(parsed))
                except _RowProblem as problem:
                    _skip(record, line, problem.column, problem.reason, row)
            done += 1
            if len(batch) >= batch_size:
                _store_batch(
                    record, batch, overwrite=overwrite, dry_run=dry_run, line=line, stored=stored
                )
                batch = []
                if progress:
                    progress(done, total)
        _store_batch(
            record, batch, overwrite=overwrite, dry_run=dry_run, line=last_line, stored=stored
        )
        if progress:
            progress(done, total)
    except Exception as exc:
        if dry_run:
            raise
        logger.exception(
            "lead import %s stopped after line %s", record.pk, record.committed_through_line
        )
        record.status = LeadImport.Status.FAILED
        record.error = (
            f"Stopped after line {record.committed_through_line or header_line}: {exc}. "
            "Rows up to that line are stored; import the same file again to finish."
        )
        record.finished_at = timezone.now()
        with transaction.atomic():
            record.save()
            _emit_imported(record, by)
        return record
    record.status = LeadImport.Status.DONE
    record.finished_at = timezone.now()
    if not dry_run:
        with transaction.atomic():
            record.save()
            _emit_imported(record, by)
    return record


def _phone_text(cell) -> str:
    # A phone typed into a number cell comes back as 6281234567890.0.
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return "" if cell is None else str(cell)


def _check_attribute_columns(columns, known: dict) -> None:
    from leads.importing import InvalidMapping

    keys: dict[str, str] = {}
    for c in columns:
        if c.target != "attribute":
            continue
        if c.key in keys:
            raise InvalidMapping(
                f"Columns '{keys[c.key]}' and '{c.header}' both map to attribute {c.key}."
            )
        keys[c.key] = c.header
        if c.key in known and known[c.key] != c.type:
            raise InvalidMapping(
                f"Attribute {c.key} ('{c.header}') is a {known[c.key]}, not a {c.type}."
            )


def _parse_row(line: int, phone: str, row: list, columns) -> _Row:
    from leads.importing import (
        ValueProblem,
        attribute_value,
        is_blank,
        parse_bool,
        parse_money,
        parse_status,
        parse_text,
    )

    parsed = _Row(line=line, phone=phone, values=row)
    for column in columns:
        if column.target == "phone":
            continue
        value = row[column.index] if column.index < len(row) else None
        if is_blank(value):
            continue
        try:
            if column.target == "attribute":
                parsed.attributes[column.key] = attribute_value(value, column.type)
            elif column.target == "outstanding":
                parsed.fields["outstanding"] = parse_money(value)
            elif column.target in ("leads_status", "contact_status"):
                parsed.fields[column.target] = parse_status(value, field=column.target)
            elif column.target == "do_not_contact":
                parsed.fields["do_not_contact"] = parse_bool(value)
            else:
                text = parse_text(value)
                limit = _TEXT_LIMITS[column.target]
                if len(text) > limit:
                    raise ValueProblem(f"longer than {limit} characters")
                parsed.fields[column.target] = text
        except ValueProblem as exc:
            raise _RowProblem(column.header, str(exc)) from exc
    return parsed


def _sample(row: _Row) -> dict:
    """A row as it will be stored (for the preview): values as text."""
    from leads.selectors import format_idr

    fields = {name: str(value) for name, value in row.fields.items()}
    if "outstanding" in row.fields:
        fields["outstanding"] = format_idr(row.fields["outstanding"])
    return {"line": row.line, "phone": row.phone, **fields, "attributes": row.attributes}


def _skip(record: LeadImport, line: int, column: str, reason: str, row: list) -> None:
    from leads.importing import parse_text

    record.counts["skipped"] += 1
    record.issues.append(
        {
            "line": line,
            "column": column,
            "reason": reason,
            "values": ["" if v is None else parse_text(v) for v in row],
        }
    )


_EMPTY = {"name": "", "loan_type": "", "leads_status": "", "contact_status": ""}


def _merge(lead: Lead, row: _Row, overwrite: str) -> list[str]:
    """Apply the row to an existing lead by the overwrite choice; the fields changed."""
    if overwrite == "none":
        return []
    changed = []
    for name, value in row.fields.items():
        current = getattr(lead, name)
        if overwrite == "empty":
            empty = (
                not current
                if name in _EMPTY or name == "outstanding"
                else current is False  # do_not_contact: only ever switched on
            )
            if not empty:
                continue
        if current != value:
            setattr(lead, name, value)
            changed.append(name)
    attributes = dict(lead.attributes or {})
    for key, value in row.attributes.items():
        if overwrite == "empty" and attributes.get(key) not in (None, ""):
            continue
        if attributes.get(key) != value:
            attributes[key] = value
    if attributes != (lead.attributes or {}):
        lead.attributes = attributes
        changed.append("attributes")
    return changed


_UPDATABLE = ["name", "outstanding", "loan_type", "leads_status", "contact_status"]


def _store_batch(
    record: LeadImport,
    batch: list[_Row],
    *,
    overwrite: str,
    dry_run: bool,
    line: int,
    stored: Callable[[list[str]], object] | None,
) -> None:
    """One batch in one transaction, with the record's progress: after a crash the
    record says exactly which rows are stored."""

    counts = dict(record.counts)
    issues_before = len(record.issues)
    with transaction.atomic():
        leads = Lead.objects.filter(phone__in=[row.phone for row in batch])
        if not dry_run:
            leads = leads.select_for_update()
        existing = {lead.phone: lead for lead in leads}
        now = timezone.now()
        creates, updates, fields, phones = [], [], set(), []
        for row in batch:
            lead = existing.get(row.phone)
            if lead is None:
                if not row.fields.get("name"):
                    _skip(record, row.line, "name", "a new lead needs a name", row.values)
                    continue
                creates.append(
                    Lead(
                        phone=row.phone,
                        attributes=row.attributes,
                        created_at=now,
                        updated_at=now,
                        **row.fields,
                    )
                )
                record.counts["created"] += 1
            else:
                changed = _merge(lead, row, overwrite)
                if changed:
                    lead.updated_at = now
                    updates.append(lead)
                    fields.update(changed)
                    record.counts["updated"] += 1
                else:
                    record.counts["unchanged"] += 1
            phones.append(row.phone)
        if dry_run:
            return
        try:
            Lead.objects.bulk_create(creates, batch_size=IMPORT_BATCH_SIZE)
            if updates:
                _update_leads(updates, [*sorted(fields), "updated_at"])
            if phones and stored is not None:
                stored(phones)
            record.committed_through_line = line
            record.save(update_fields=["counts", "issues", "committed_through_line"])
        except Exception:
            record.counts = counts
            del record.issues[issues_before:]
            raise


def _update_leads(leads: list[Lead], names: list[str]) -> None:
    """Write these fields of many leads. On PostgreSQL one UPDATE ... FROM unnest(arrays):
    Django's bulk_update builds a CASE per field and row, and took 32 s of a 50,000-row
    re-import (bench/import_leads.py); this takes about a second."""
    from django.db import connection

    if connection.vendor != "postgresql":
        Lead.objects.bulk_update(leads, names, batch_size=IMPORT_BATCH_SIZE)
        return
    meta = Lead._meta
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    columns = ", ".join(quote(f.column) for f in fields)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields[1:])
    # Only the model's own table and column names and types; values are parameters.
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({columns}) "  # noqa: S608
        f"WHERE {table}.{quote(meta.pk.column)} = v.{quote(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(leads), IMPORT_BATCH_SIZE):
            chunk = leads[start : start + IMPORT_BATCH_SIZE]
            params = [
                [f.get_db_prep_save(getattr(lead, f.attname), connection) for lead in chunk]
                for f in fields
            ]
            cursor.execute(sql, params)


def _emit_imported(record: LeadImport, by) -> None:
    """One event per import, whatever its size: open inboxes refresh what they show."""
    from boztell.realtime import AGENTS_GROUP, SUPERVISORS_GROUP, broadcast_on_commit

    broadcast_on_commit(
        [AGENTS_GROUP, SUPERVISORS_GROUP],
        "leads_imported",
        {
            "import_id": record.pk,
            "status": record.status,
            "created": record.counts["created"],
            "updated": record.counts["updated"],
            "unchanged": record.counts["unchanged"],
            "skipped": record.counts["skipped"],
            "by": getattr(by, "pk", None),
        },
    )
