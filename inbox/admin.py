"""Admin for leads: search by name or phone, filter by status and loan type, import,
export. Here, not in leads/admin.py, because a lead saved in admin links its customer's room
and tells whoever sees it (rooms.services), and the export carries each lead's room facts
(inbox.selectors)."""

from django import forms
from django.contrib import admin
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from boztell.phones import InvalidPhone, normalize_phone
from inbox.lead_export import lead_export_response
from leads.export import FORMATS
from leads.models import LEAD_FIELDS, Lead, Segment
from leads.selectors import format_idr, segment_leads


class LeadForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = LEAD_FIELDS

    def clean_phone(self):
        try:
            return normalize_phone(self.cleaned_data["phone"])
        except InvalidPhone as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


@admin.register(Lead)
class LeadAdmin(SimpleHistoryAdmin):
    """The History button lists who changed which field, when (django-simple-history)."""

    form = LeadForm
    list_display = (
        "name",
        "phone",
        "outstanding_idr",
        "loan_type",
        "leads_status",
        "contact_status",
        "do_not_contact",
        "updated_at",
    )
    search_fields = ("name", "phone")
    list_filter = ("leads_status", "contact_status", "loan_type", "do_not_contact")
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("name",)
    change_list_template = "admin/leads/lead/change_list.html"

    def get_urls(self):
        from inbox import admin_import

        def view(function):
            return self.admin_site.admin_view(
                lambda request, *args, **kwargs: function(self, request, *args, **kwargs)
            )

        return [
            path("import/", view(admin_import.upload_view), name="leads_lead_import"),
            path(
                "import/<uuid:import_id>/",
                view(admin_import.preview_view),
                name="leads_lead_import_preview",
            ),
            path(
                "import/<uuid:import_id>/report.csv",
                view(admin_import.report_csv_view),
                name="leads_lead_import_report",
            ),
            path("export/", view(export_view), name="leads_lead_export"),
            *super().get_urls(),
        ]

    actions = ["export_csv", "export_xlsx"]

    @admin.action(description="Export selected leads as CSV")
    def export_csv(self, request, queryset):
        return lead_export_response(queryset, format="csv", request=request)

    @admin.action(description="Export selected leads as XLSX")
    def export_xlsx(self, request, queryset):
        return lead_export_response(queryset, format="xlsx", request=request)

    def save_model(self, request, obj, form, change):
        """Through the services the API uses: a new lead links its customer's room, an edit
        tells whoever sees the lead's rooms (`lead_updated`)."""
        from rooms.services import lead_create, lead_update

        if change:
            changed = [name for name in form.changed_data if name in LEAD_FIELDS]
            lead_update(lead=obj, by=request.user, **{n: form.cleaned_data[n] for n in changed})
            return
        created = lead_create(**{name: form.cleaned_data[name] for name in LEAD_FIELDS})
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False

    @admin.display(description="Outstanding", ordering="outstanding")
    def outstanding_idr(self, obj):
        return format_idr(obj.outstanding)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            phone = normalize_phone(search_term)
        except InvalidPhone:
            return queryset, may_have_duplicates
        return queryset | self.model.objects.filter(phone=phone), may_have_duplicates


def export_view(model_admin, request):
    """Export what the change list shows (its filters and search), or a segment."""
    from django.core.exceptions import PermissionDenied
    from django.shortcuts import get_object_or_404

    if not request.user.has_perm("leads.export_leads"):
        raise PermissionDenied
    format = request.GET.get("format", "csv")
    if format not in FORMATS:
        format = "csv"
    segment_id = request.GET.get("segment")
    if segment_id:
        segment = get_object_or_404(Segment, pk=segment_id)
        return lead_export_response(
            segment_leads(segment), format=format, name=segment.name, request=request
        )
    request.GET = request.GET.copy()
    request.GET.pop("format", None)
    changelist = model_admin.get_changelist_instance(request)
    return lead_export_response(changelist.get_queryset(request), format=format, request=request)
