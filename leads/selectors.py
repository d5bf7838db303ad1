"""Reads for leads: how money is shown, import reports, filters and segments, exports,
and what a quick reply can fill from a lead."""

import contextlib
from decimal import ROUND_HALF_UP, Decimal

from boztell.errors import BoztellError
from boztell.phones import InvalidPhone, normalize_phone


def format_idr(amount: Decimal | int | None) -> str:
    """Rupiah as Indonesians write it: Rp 12.500.000 (no cents; '.' groups thousands)."""
    if amount is None:
        return "-"
    value = Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}Rp {abs(int(value)):,}".replace(",", ".")


MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def format_date_id(day) -> str:
    """A date as Indonesians write it: 5 Desember 2026."""
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def lead_import_report(record, *, issues_limit: int | None = None) -> dict:
    """An import's report as the API, the admin and the command show it."""
    issues = record.issues if issues_limit is None else record.issues[:issues_limit]
    return {
        "import_id": record.pk if record.pk and not record._state.adding else None,
        "status": record.status,
        "dry_run": record.dry_run,
        "file": record.original_name,
        "sheet": record.options.get("sheet", ""),
        "rows_read": record.rows_read,
        "counts": dict(record.counts),
        "committed_through_line": record.committed_through_line,
        "error": record.error,
        "overwrite": record.options.get("overwrite"),
        "duplicates": record.options.get("duplicates"),
        "columns": record.options.get("columns", []),
        "sample": record.options.get("sample", []),
        "issues": [{k: v for k, v in issue.items() if k != "values"} for issue in issues],
        "issues_total": len(record.issues),
    }


class _Echo:
    def write(self, value):
        return value


def lead_import_report_csv(record):
    """The skipped rows as CSV, text chunk by chunk: the file's own columns, then `line`
    and `error`. Fixed, it can be imported again as it is (`line` and `error` are ignored)."""
    import csv

    writer = csv.writer(_Echo())
    headers = [c["header"] for c in record.options.get("columns", [])]
    yield "\ufeff" + writer.writerow([*headers, "line", "error"])
    for issue in record.issues:
        values = list(issue.get("values", []))
        values = (values + [""] * len(headers))[: len(headers)]
        yield writer.writerow([*values, issue["line"], f"{issue['column']}: {issue['reason']}"])


# --- filters and segments ----------------------------------------------------------------

ATTRIBUTE_OPS = {
    "date": ("eq", "gt", "gte", "lt", "lte", "within_next_days", "within_last_days", "is_set"),
    "money": ("eq", "ne", "gt", "gte", "lt", "lte", "is_set"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "is_set"),
    "text": ("eq", "ne", "contains", "is_set"),
}
LIST_FILTERS = ("leads_status", "contact_status", "loan_type")

# Filters other apps contribute: what a lead's room carries (its labels, team, the
# customer's last message) is rooms' to read, and leads must not import rooms. Each entry
# names its query parameters; `build` gets the value (one name) or a dict of the values
# given (several names, one condition: the same room must satisfy them all); `clean`
# checks a value when a filter is saved or asked for, and returns it as stored.
EXTRA_LEAD_FILTERS: dict[tuple[str, ...], tuple] = {}


def register_lead_filter(names: str | tuple[str, ...], build, *, clean=None) -> None:
    """Let another app add a segment filter, e.g. register_lead_filter("room_label", fn)."""
    names = (names,) if isinstance(names, str) else tuple(names)
    EXTRA_LEAD_FILTERS[names] = (build, clean)


def _extra_filter_names() -> set[str]:
    return {name for names in EXTRA_LEAD_FILTERS for name in names}


class InvalidFilter(BoztellError):
    code = "invalid_filter"
    status = 400


def _listify(value) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        out += [part.strip() for part in str(item).split(",") if part.strip()]
    return out


def lead_filter_moment(value, name: str, *, end: bool = False):
    """A filter's date (the whole day, in the server's zone) or ISO datetime; invalid_filter
    otherwise. Also for the filters other apps register."""
    import datetime as dt

    from django.utils import timezone
    from django.utils.dateparse import parse_date, parse_datetime

    text = str(value).strip()
    try:
        moment = parse_datetime(text)
        if moment is None and (day := parse_date(text)) is not None:
            moment = dt.datetime.combine(day + dt.timedelta(days=1 if end else 0), dt.time())
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidFilter(f"{name}: '{value}' is not a date or datetime (yyyy-mm-dd).")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def lead_filters_clean(raw: dict) -> dict:
    """A filter as stored in a segment, from a segment's JSON or from query parameters:
    unknown keys, bad values and unknown attributes are refused with invalid_filter."""
    from leads.importing import ValueProblem, attribute_value, parse_money
    from leads.models import LeadAttribute

    clean: dict = {}
    known = (
        {*LIST_FILTERS, "outstanding_min", "outstanding_max", "do_not_contact", "search"}
        | {"attributes"}
        | _extra_filter_names()
    )
    unknown = set(raw) - known
    if unknown:
        raise InvalidFilter(f"Unknown filter: {', '.join(sorted(unknown))}.")
    for name in LIST_FILTERS:
        if values := _listify(raw.get(name)):
            clean[name] = values
    for name in ("outstanding_min", "outstanding_max"):
        if raw.get(name) not in (None, ""):
            try:
                clean[name] = str(parse_money(raw[name]))
            except ValueProblem as exc:
                raise InvalidFilter(f"{name}: '{raw[name]}' is not an amount.") from exc
    if raw.get("do_not_contact") not in (None, ""):
        value = str(raw["do_not_contact"]).lower()
        if value not in ("true", "false", "1", "0", "yes", "no"):
            raise InvalidFilter("do_not_contact: use true or false.")
        clean["do_not_contact"] = value in ("true", "1", "yes")
    if raw.get("search"):
        clean["search"] = str(raw["search"])[:100]
    conditions = raw.get("attributes") or []
    if not isinstance(conditions, list):
        raise InvalidFilter("attributes: a list of {key, op, value}.")
    types = dict(LeadAttribute.objects.values_list("key", "type"))
    cleaned = []
    for condition in conditions:
        if not isinstance(condition, dict) or not {"key", "op"} <= set(condition):
            raise InvalidFilter("attributes: each condition is {key, op, value}.")
        key, op, value = condition["key"], condition["op"], condition.get("value")
        if key not in types:
            raise InvalidFilter(f"attributes: there is no attribute '{key}'.")
        if op not in ATTRIBUTE_OPS[types[key]]:
            raise InvalidFilter(
                f"attributes: {key} is a {types[key]}; use one of "
                f"{', '.join(ATTRIBUTE_OPS[types[key]])}."
            )
        try:
            if op in ("within_next_days", "within_last_days"):
                value = int(value)
                if not 0 <= value <= 3660:
                    raise ValueProblem("out of range")
            elif op == "is_set":
                value = str(value).lower() not in ("false", "0", "no")
            else:
                value = attribute_value(value, types[key])
        except (ValueProblem, TypeError, ValueError) as exc:
            raise InvalidFilter(f"attributes: {key} {op} '{value}': {exc}") from exc
        cleaned.append({"key": key, "op": op, "value": value})
    if cleaned:
        clean["attributes"] = cleaned
    for names, (_build, check) in EXTRA_LEAD_FILTERS.items():
        for name in names:
            if raw.get(name) not in (None, ""):
                clean[name] = check(raw[name], name) if check else raw[name]
    return clean


def lead_filters_from_query(params) -> dict:
    """Query parameters as a filter: lists repeat or use commas; attribute conditions are
    `attr=<key>:<op>:<value>` (repeatable): attr=dpd:gte:30, attr=due_date:within_next_days:7."""
    raw: dict = {}
    for name in params:
        if name in ("segment", "format", "page", "page_size", "cursor", "limit"):
            continue
        if name == "attr":
            conditions = []
            for item in params.getlist("attr"):
                key, _, rest = item.partition(":")
                op, _, value = rest.partition(":")
                conditions.append({"key": key, "op": op, "value": value})
            raw["attributes"] = conditions
        elif name in LIST_FILTERS:
            raw[name] = params.getlist(name)
        else:
            raw[name] = params.get(name)
    return lead_filters_clean(raw)


def leads_matching(filters: dict, leads=None):
    """Leads (all, or those of `leads`) matching a cleaned filter (lead_filters_clean):
    every condition must hold."""
    import datetime as dt

    from django.db.models import Q
    from django.db.models.fields.json import KeyTransform
    from django.utils import timezone

    from leads.models import Lead

    leads = Lead.objects.all() if leads is None else leads
    for name in ("leads_status", "contact_status"):
        if values := filters.get(name):
            leads = leads.filter(**{f"{name}__in": [v.lower() for v in values]})
    if values := filters.get("loan_type"):
        condition = Q()
        for value in values:
            condition |= Q(loan_type__iexact=value)
        leads = leads.filter(condition)
    if "outstanding_min" in filters:
        leads = leads.filter(outstanding__gte=filters["outstanding_min"])
    if "outstanding_max" in filters:
        leads = leads.filter(outstanding__lte=filters["outstanding_max"])
    if "do_not_contact" in filters:
        leads = leads.filter(do_not_contact=filters["do_not_contact"])
    if search := filters.get("search"):
        condition = Q(name__icontains=search) | Q(phone__contains=search)
        with contextlib.suppress(InvalidPhone):
            condition |= Q(phone=normalize_phone(search))
        leads = leads.filter(condition)
    today = timezone.localdate()
    for index, condition in enumerate(filters.get("attributes", [])):
        alias = f"_attr{index}"
        leads = leads.alias(**{alias: KeyTransform(condition["key"], "attributes")})
        op, value = condition["op"], condition["value"]
        if op == "is_set":
            test = Q(**{f"{alias}__isnull": False})
            leads = leads.filter(test if value else ~test)
        elif op == "within_next_days":
            end = (today + dt.timedelta(days=value)).isoformat()
            leads = leads.filter(**{f"{alias}__gte": today.isoformat(), f"{alias}__lte": end})
        elif op == "within_last_days":
            start = (today - dt.timedelta(days=value)).isoformat()
            leads = leads.filter(**{f"{alias}__gte": start, f"{alias}__lte": today.isoformat()})
        elif op == "ne":
            leads = leads.exclude(**{f"{alias}__exact": value})
        elif op == "contains":
            leads = leads.filter(**{f"{alias}__icontains": value})
        elif op == "eq":
            leads = leads.filter(**{f"{alias}__exact": value})
        else:
            leads = leads.filter(**{f"{alias}__{op}": value})
    for names, (build, _check) in EXTRA_LEAD_FILTERS.items():
        given = {name: filters[name] for name in names if name in filters}
        if given:
            leads = leads.filter(build(given[names[0]] if len(names) == 1 else given))
    return leads


def segment_leads(segment, extra: dict | None = None):
    """A segment's leads (and any further filter), as a queryset."""
    leads = leads_matching(lead_filters_clean(segment.filters or {}))
    return leads_matching(extra, leads=leads) if extra else leads


# What a quick reply may name as {{placeholder}}: the lead's fields and its typed attributes
# (by key: {{due_date}}, {{instalment}}, {{dpd}}), each as a customer should read it.
LEAD_PLACEHOLDER_FIELDS = (
    "name",
    "outstanding",
    "phone",
    "loan_type",
    "leads_status",
    "contact_status",
)


def lead_placeholder_names() -> set[str]:
    """Every placeholder name a lead can fill (known even for a room without a lead)."""
    from leads.models import LeadAttribute

    keys = LeadAttribute.objects.values_list("key", flat=True)
    return {*LEAD_PLACEHOLDER_FIELDS, *(key.lower() for key in keys)}


def _attribute_text(value, type_: str) -> str:
    """A stored attribute value as a customer reads it: money in rupiah, a date as
    5 Desember 2026, a whole number without decimals."""
    import datetime as dt

    if value in (None, ""):
        return ""
    if type_ == "money":
        return format_idr(Decimal(str(value)))
    if type_ == "date":
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return format_date_id(day)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def lead_placeholder_values(*, lead) -> dict[str, str]:
    """The lead's values for quick-reply placeholders, as a customer should read them
    (money in rupiah, the phone with +, dates in Indonesian); empty ones are left out."""
    from leads.models import LeadAttribute

    values = {
        "name": lead.name,
        "outstanding": format_idr(lead.outstanding) if lead.outstanding is not None else "",
        "phone": f"+{lead.phone}" if lead.phone else "",
        "loan_type": lead.loan_type,
        "leads_status": lead.leads_status,
        "contact_status": lead.contact_status,
    }
    attributes = lead.attributes or {}
    if attributes:
        types = dict(LeadAttribute.objects.values_list("key", "type"))
        for key, value in attributes.items():
            if key in types and key.lower() not in values:
                values[key.lower()] = _attribute_text(value, types[key])
    return {name: str(value) for name, value in values.items() if value not in (None, "")}


def lead_history(*, lead, limit: int = 50) -> list[dict]:
    """Who changed the lead's fields and when, newest first (django-simple-history): each
    entry's changed fields with their old and new values; the first entry is its creation."""
    records = list(
        lead.history.select_related("history_user").order_by("-history_date")[: limit + 1]
    )
    entries = []
    for record, previous in zip(records, [*records[1:], None], strict=False):
        if len(entries) == limit:
            break
        if previous is None or record.history_type == "+":
            changes = []
            kind = "created"
        else:
            delta = record.diff_against(previous)
            changes = [
                {"field": change.field, "old": change.old, "new": change.new}
                for change in delta.changes
            ]
            kind = "changed"
            if not changes:
                continue
        user = record.history_user
        entries.append(
            {
                "at": record.history_date,
                "kind": kind,
                "by": (user.name if user else None),
                "changes": changes,
            }
        )
    return entries
