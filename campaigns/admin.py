"""Admin for campaigns, the supervisors' UI: set one up (template, audience file,
parameters), preview it, start, pause, resume or cancel it, watch it live (a progress bar
fed by GET /campaigns/{id} every second, from a static script: the CSP allows nothing
inline), and download the per-recipient results."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import F
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from boztell.errors import BoztellError
from campaigns import services
from campaigns.audience import AudienceError, audience_from_file
from campaigns.models import Campaign, CampaignRecipient, OptOut
from campaigns.rendering import MappingError, mapping_check
from campaigns.selectors import campaign_cancellable, campaign_progress, campaign_results_csv
from messaging.models import MessageTemplate

EXAMPLE = (
    '{"body": {"1": {"column": "name"}, "2": {"column": "amount", "format": "idr"}, '
    '"3": {"column": "due_date", "format": "date_id"}}}'
)


class CampaignForm(forms.ModelForm):
    audience_file = forms.FileField(
        required=False,
        help_text="CSV or XLSX; one column names the recipient (phone, to, wa_id, nomor, hp "
        "or bsuid); the others can fill the template's parameters.",
    )
    segment = forms.ModelChoiceField(
        queryset=None,
        required=False,
        help_text="Or a saved lead segment (read afresh at preview and at start); lead fields "
        "and typed attributes are its columns.",
    )
    parameters = forms.JSONField(
        required=False,
        help_text="Which column fills each placeholder, and how: " + EXAMPLE + ". Formats: "
        "text, idr (Rp 1.500.000), date_id (5 Desember 2026). Fixed text: "
        '{"value": "..."}. A media header: {"header": {"type": "image", "link": "https://..."}} '
        'or {"column": "photo_url"} for a URL per recipient.',
    )

    class Meta:
        model = Campaign
        fields = (
            "name",
            "template",
            "audience_file",
            "segment",
            "parameters",
            "start_at",
            "only_business_hours",
            "frequency_cap",
            "retry_frequency_capped_hours",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "segment" in self.fields:
            from leads.models import Segment

            self.fields["segment"].queryset = Segment.objects.all()
            if self.instance.segment_id:
                self.fields["segment"].initial = self.instance.segment_id
        if "template" in self.fields:
            self.fields["template"].queryset = MessageTemplate.objects.filter(
                status=MessageTemplate.Status.APPROVED
            )

    def clean(self):
        data = super().clean()
        upload = data.get("audience_file")
        self.rows = self.columns = None
        if upload:
            try:
                self.rows, self.columns = audience_from_file(
                    data=upload.read(), filename=upload.name
                )
            except AudienceError as exc:
                self.add_error("audience_file", exc.message)
                return data
        elif data.get("segment") is None and self.instance.pk is None:
            self.add_error(
                "audience_file", "Upload the recipients (CSV or XLSX) or pick a segment."
            )
            return data
        template = data.get("template")
        if template is not None:
            columns = self.columns if self.columns is not None else self.instance.audience_columns
            if self.columns is None and data.get("segment") is not None:
                columns = None  # a segment's columns are known at preview
            try:
                mapping_check(template, data.get("parameters") or {}, columns)
            except MappingError as exc:
                self.add_error("parameters", exc.message)
        return data


class RecipientInline(admin.TabularInline):
    model = CampaignRecipient
    fields = ("line", "identity", "status", "reason", "sent_at", "delivered_at", "read_at")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "Recipients (first 50; download the CSV for all)"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = list(queryset.values_list("pk", flat=True)[:50])  # a slice cannot be filtered
        return queryset.filter(pk__in=ids)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("name", "template", "status", "created_by", "created_at", "started_at")
    list_filter = ("status",)
    search_fields = ("name",)
    change_form_template = "admin/campaigns/campaign/change_form.html"
    readonly_fields = ("status", "status_reason", "version", "previewed_version", "audience")

    def get_fields(self, request, obj=None):
        fields = list(CampaignForm.Meta.fields)
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            fields.remove("audience_file")  # frozen: nothing to upload any more
            fields.remove("segment")
        if obj is not None:
            fields += list(self.readonly_fields)
        return fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            frozen = [f for f in CampaignForm.Meta.fields if f not in ("audience_file", "segment")]
            return [*frozen, *self.readonly_fields]
        return self.readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("template", "created_by")

    @admin.display(description="Audience")
    def audience(self, obj):
        return f"{obj.audience_size} rows from {obj.audience_source or '-'}"

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if form.rows is not None:
                obj.audience_rows, obj.audience_columns = form.rows, form.columns
                obj.audience_size = len(form.rows)
                obj.audience_source = form.cleaned_data["audience_file"].name
                obj.audience_kind = Campaign.Audience.ROWS
                obj.segment_id = None
            elif form.cleaned_data.get("segment") is not None:
                obj.audience_kind = Campaign.Audience.SEGMENT
                obj.segment_id = form.cleaned_data["segment"].pk
                obj.audience_rows, obj.audience_columns, obj.audience_size = [], [], 0
                obj.audience_source = f"segment {form.cleaned_data['segment'].name}"
            if not change:
                obj.created_by = request.user
                from django.conf import settings

                obj.phone_number_id = settings.WHATSAPP_PHONE_NUMBER_ID
                obj.save()
            else:
                obj.version = F("version") + 1  # an edit voids the preview
                obj.preview = {}
                obj.save()
                obj.refresh_from_db()

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<uuid:pk>/preview/", view(self.preview_view), name="campaign-admin-preview"),
            path(
                "<uuid:pk>/do/<str:action>/", view(self.action_view), name="campaign-admin-action"
            ),
            path("<uuid:pk>/results.csv", view(self.csv_view), name="campaign-admin-csv"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        campaign = Campaign.objects.filter(pk=object_id).first()
        if campaign is not None:
            extra_context["campaign"] = campaign
            extra_context["progress"] = campaign_progress(campaign=campaign)
            extra_context["progress_url"] = reverse("campaign-detail", args=[campaign.pk])
            extra_context["preview_current"] = (
                campaign.previewed_version == campaign.version and bool(campaign.preview)
            )
            extra_context["preview"] = campaign.preview
            extra_context["cancellable"] = campaign_cancellable(campaign=campaign)
        return super().change_view(request, object_id, form_url, extra_context)

    def preview_view(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        if request.method == "POST":
            try:
                services.campaign_preview(campaign=campaign, by=request.user)
                self.message_user(request, "Preview ready: check it, then start.")
            except BoztellError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        return redirect("admin:campaigns_campaign_change", pk)

    ACTIONS = {
        "start": services.campaign_start,
        "pause": services.campaign_pause,
        "resume": services.campaign_resume,
        "cancel": services.campaign_cancel,
    }

    def action_view(self, request, pk, action):
        campaign = get_object_or_404(Campaign, pk=pk)
        service = self.ACTIONS.get(action)
        if request.method == "POST" and service is not None:
            try:
                service(campaign=campaign, by=request.user)
                self.message_user(request, f"Campaign {action}: done.")
            except BoztellError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        return redirect("admin:campaigns_campaign_change", pk)

    def csv_view(self, request, pk):
        campaign = get_object_or_404(Campaign, pk=pk)
        response = StreamingHttpResponse(
            campaign_results_csv(campaign=campaign), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
        return response


@admin.register(CampaignRecipient)
class CampaignRecipientAdmin(admin.ModelAdmin):
    list_display = ("campaign", "line", "identity", "status", "reason", "sent_at", "replied_at")
    list_filter = ("status", "reason")
    search_fields = ("identity", "campaign__name")
    list_select_related = ("campaign",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ("identity", "source", "campaign", "created_at")
    search_fields = ("identity",)

    def has_change_permission(self, request, obj=None):
        return False
