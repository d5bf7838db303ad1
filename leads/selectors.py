"""How a lead's money is shown."""

from decimal import ROUND_HALF_UP, Decimal


def format_idr(amount: Decimal | int | None) -> str:
    """Rupiah as Indonesians write it: Rp 12.500.000 (no cents; '.' groups thousands)."""
    if amount is None:
        return "-"
    value = Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}Rp {abs(int(value)):,}".replace(",", ".")


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
