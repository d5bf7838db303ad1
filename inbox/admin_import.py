"""The admin's import flow: upload -> preview of what will happen (the mapping can be
changed) -> confirm -> report. The preview is a dry run of the same service."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from boztell.errors import BoztellError
from leads.export import streaming_response
from leads.importing import ATTR_TYPES, IGNORE, LEAD_FIELDS, header_key
from leads.models import LeadImport
from leads.selectors import lead_import_report, lead_import_report_csv
from rooms.services import lead_import

OVERWRITE_LABELS = [
    ("all", "Overwrite: the file's values replace what a lead has (blank cells erase nothing)"),
    ("empty", "Fill only empty fields of existing leads"),
    ("none", "Leave existing leads as they are (only new leads are created)"),
]
DUPLICATE_LABELS = [
    ("first", "The first row of a repeated phone is imported"),
    ("last", "The last row of a repeated phone is imported"),
]
PREVIEW_ISSUES = 200


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV or XLSX. Headers such as nama, no_hp, sisa_pinjaman.")
    sheet = forms.CharField(required=False, help_text="XLSX only; default: the first sheet")
    overwrite = forms.ChoiceField(choices=OVERWRITE_LABELS, initial="all", widget=forms.RadioSelect)
    duplicates = forms.ChoiceField(
        choices=DUPLICATE_LABELS, initial="first", widget=forms.RadioSelect
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.LEADS_IMPORT_MAX_BYTES:
            raise forms.ValidationError("The file is too large.")
        return upload


def target_choices(header: str, key: str | None) -> list[tuple[str, str]]:
    key = key or header_key(header) or "column"
    return [
        *((f, f"Lead: {f.replace('_', ' ')}") for f in LEAD_FIELDS),
        *((f"attr:{key}:{t}", f"Attribute {key} ({t})") for t in ATTR_TYPES),
        (IGNORE, "Ignore this column"),
    ]


def _run(request, record: LeadImport, *, dry_run: bool, mapping=None, sheet=None):
    options = record.options or {}
    with record.file.open("rb") as handle:
        data = handle.read()
    return lead_import(
        data=data,
        filename=record.original_name,
        by=request.user,
        dry_run=dry_run,
        sheet=sheet if sheet is not None else (options.get("sheet") or None),
        overwrite=options.get("overwrite", "all"),
        duplicates=options.get("duplicates", "first"),
        mapping=mapping,
        record=record,
    )


def _check(request) -> None:
    if not request.user.has_perm("leads.import_leads"):
        raise PermissionDenied


def upload_view(model_admin, request):
    _check(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        record = LeadImport(original_name=(upload.name or "leads")[:255], created_by=request.user)
        record.options = {
            "overwrite": form.cleaned_data["overwrite"],
            "duplicates": form.cleaned_data["duplicates"],
        }
        data = upload.read()
        try:
            _run_bytes(request, record, data, sheet=form.cleaned_data["sheet"] or None)
        except BoztellError as exc:
            messages.error(request, f"{exc.message} Nothing was imported.")
        else:
            upload.seek(0)
            record.file.save(f"{record.pk}-{header_key(upload.name)[:80]}", upload, save=False)
            record.status = LeadImport.Status.PREVIEWED
            record.save()
            return redirect("admin:leads_lead_import_preview", record.pk)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Import leads",
        "form": form,
    }
    return TemplateResponse(request, "admin/leads/lead/import_upload.html", context)


def _run_bytes(request, record, data, *, sheet):
    return lead_import(
        data=data,
        filename=record.original_name,
        by=request.user,
        dry_run=True,
        sheet=sheet,
        overwrite=record.options["overwrite"],
        duplicates=record.options["duplicates"],
        record=record,
    )


def preview_view(model_admin, request, import_id):
    _check(request)
    record = get_object_or_404(LeadImport, pk=import_id)
    if request.method == "POST" and record.status == LeadImport.Status.PREVIEWED:
        columns = record.options.get("columns", [])
        mapping = {
            f"#{c['column']}": request.POST.get(f"column-{c['column']}", c["target"])
            for c in columns
        }
        for name, allowed in (("overwrite", OVERWRITE_LABELS), ("duplicates", DUPLICATE_LABELS)):
            if request.POST.get(name) in dict(allowed):
                record.options[name] = request.POST[name]
        confirm = request.POST.get("action") == "confirm"
        try:
            record = _run(request, record, dry_run=not confirm, mapping=mapping)
        except BoztellError as exc:
            messages.error(request, exc.message)
            record.refresh_from_db()
        else:
            if confirm:
                counts = record.counts
                level = messages.SUCCESS if record.status == "done" else messages.ERROR
                messages.add_message(
                    request,
                    level,
                    record.error
                    or f"Stored: {counts['created']} created, {counts['updated']} updated, "
                    f"{counts['unchanged']} unchanged; {counts['skipped']} rows skipped.",
                )
            else:
                record.status = LeadImport.Status.PREVIEWED
                record.save()
        return redirect("admin:leads_lead_import_preview", record.pk)
    report = lead_import_report(record, issues_limit=PREVIEW_ISSUES)
    columns = [
        {**c, "choices": target_choices(c["header"], c.get("key"))} for c in report["columns"]
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Import {record.original_name}",
        "record": record,
        "report": report,
        "columns": columns,
        "previewing": record.status == LeadImport.Status.PREVIEWED,
        "overwrite_choices": OVERWRITE_LABELS,
        "duplicate_choices": DUPLICATE_LABELS,
    }
    return TemplateResponse(request, "admin/leads/lead/import_preview.html", context)


def report_csv_view(model_admin, request, import_id):
    _check(request)
    record = get_object_or_404(LeadImport, pk=import_id)
    response = streaming_response(
        lead_import_report_csv(record), content_type="text/csv; charset=utf-8", request=request
    )
    response["Content-Disposition"] = f'attachment; filename="import-{record.pk}-report.csv"'
    return response
