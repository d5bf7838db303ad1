"""The /campaigns/... API, for supervisors (session or API token): create and edit a
campaign, preview it, start, pause, resume, cancel, and download its results.

Views validate with a serializer, call one service, and answer with the campaign.
"""

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.errors import BoztellError
from boztell.realtime import to_wire
from campaigns import services
from campaigns.audience import campaign_audience_from_leads
from campaigns.models import Campaign
from campaigns.selectors import campaign_progress, campaign_results_csv

MAX_UPLOAD = 20 * 1024 * 1024


class IsSupervisor(permissions.BasePermission):
    message = "Only supervisors run campaigns."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_supervisor)


class CampaignInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    template_name = serializers.CharField(max_length=512)
    language = serializers.CharField(max_length=15)
    parameters = serializers.JSONField(
        required=False,
        help_text='{"body": {"1": {"column": "name"}, "2": {"column": "amount", "format": '
        '"idr"}}, "header": {"type": "image", "link": "https://..."}, "buttons": {"0": '
        '{"column": "ref"}}}; formats: text, idr, date_id. Named templates map by name: '
        '{"body": {"customer_name": {"column": "name"}}}.',
    )
    recipients = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        max_length=100_000,
        help_text='Rows: {"to": phone or BSUID, other columns...}.',
    )
    lead_ids = serializers.ListField(child=serializers.UUIDField(), required=False)
    segment_id = serializers.UUIDField(required=False, allow_null=True)
    start_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Empty: when started. Asia/Jakarta if naive."
    )
    only_business_hours = serializers.BooleanField(required=False, default=False)
    frequency_cap = serializers.BooleanField(required=False, default=False)
    retry_frequency_capped_hours = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=720
    )

    def validate(self, data):
        given = [k for k in ("recipients", "lead_ids", "segment_id") if data.get(k)]
        if len(given) > 1:
            raise serializers.ValidationError("Give one of recipients, lead_ids, segment_id.")
        return data


class CampaignPatchSerializer(CampaignInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
        for name in ("only_business_hours", "frequency_cap"):
            self.fields[name].default = serializers.empty


class ProgressSerializer(serializers.Serializer):
    """The `campaign_progress` payload."""

    campaign_id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    version = serializers.IntegerField()
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    percent = serializers.FloatField()
    counts = serializers.DictField(child=serializers.IntegerField())
    failed_by_reason = serializers.DictField(child=serializers.IntegerField())
    excluded_by_reason = serializers.DictField(child=serializers.IntegerField())
    unknown_by_reason = serializers.DictField(child=serializers.IntegerField())
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class CampaignSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    template_name = serializers.CharField()
    language = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    version = serializers.IntegerField()
    previewed_version = serializers.IntegerField(allow_null=True)
    audience_kind = serializers.CharField()
    audience_source = serializers.CharField()
    audience_rows = serializers.IntegerField()
    audience_columns = serializers.ListField(child=serializers.CharField())
    segment_id = serializers.UUIDField(allow_null=True)
    parameters = serializers.JSONField()
    start_at = serializers.DateTimeField(allow_null=True)
    only_business_hours = serializers.BooleanField()
    frequency_cap = serializers.BooleanField()
    retry_frequency_capped_hours = serializers.IntegerField(allow_null=True)
    created_by = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = ProgressSerializer()


class PreviewSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    previewed_at = serializers.DateTimeField()
    rows = serializers.IntegerField()
    recipients = serializers.IntegerField()
    excluded = serializers.IntegerField()
    excluded_by_reason = serializers.DictField(child=serializers.IntegerField())
    exclusions = serializers.ListField(child=serializers.DictField())
    samples = serializers.ListField(child=serializers.DictField())
    cost = serializers.DictField()
    columns = serializers.ListField(child=serializers.CharField())


def campaign_data(campaign: Campaign) -> dict:
    return to_wire(
        {
            "id": campaign.pk,
            "name": campaign.name,
            "template_name": campaign.template.name,
            "language": campaign.template.language,
            "category": campaign.template.category,
            "status": campaign.status,
            "status_reason": campaign.status_reason,
            "version": campaign.version,
            "previewed_version": campaign.previewed_version,
            "audience_kind": campaign.audience_kind,
            "audience_source": campaign.audience_source,
            "audience_rows": campaign.audience_size,
            "audience_columns": campaign.audience_columns or [],
            "segment_id": campaign.segment_id,
            "parameters": campaign.parameters,
            "start_at": campaign.start_at,
            "only_business_hours": campaign.only_business_hours,
            "frequency_cap": campaign.frequency_cap,
            "retry_frequency_capped_hours": campaign.retry_frequency_capped_hours,
            "created_by": campaign.created_by_id,
            "created_at": campaign.created_at,
            "started_at": campaign.started_at,
            "finished_at": campaign.finished_at,
            "progress": campaign_progress(campaign=campaign),
        }
    )


def _audience(data: dict) -> dict:
    """The service's audience arguments from the request's recipients / lead_ids."""
    if data.get("recipients"):
        rows, columns = [], {}
        for item in data["recipients"]:
            if "to" not in item:
                raise BoztellError("Each recipient needs 'to'.", code="invalid_audience")
            cells = {str(k): v for k, v in item.items()}
            columns.update(dict.fromkeys(cells))
            rows.append({"to": str(item["to"] or ""), "lead_id": None, "columns": cells})
        return {"rows": rows, "columns": list(columns), "audience_source": "api"}
    if data.get("lead_ids"):
        from leads.models import Lead

        rows, columns = campaign_audience_from_leads(Lead.objects.filter(pk__in=data["lead_ids"]))
        return {"rows": rows, "columns": columns, "audience_source": "leads"}
    return {}


def _campaign(campaign_id) -> Campaign:
    return get_object_or_404(Campaign.objects.light().select_related("template"), pk=campaign_id)


class CampaignListApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(responses={200: CampaignSerializer(many=True)}, summary="List campaigns")
    def get(self, request):
        campaigns = Campaign.objects.light().select_related("template")[:200]
        return Response([campaign_data(c) for c in campaigns])

    @extend_schema(
        request=CampaignInputSerializer,
        responses={201: CampaignSerializer},
        summary="Create a campaign (a draft: preview it, then start it)",
    )
    def post(self, request):
        form = CampaignInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        audience = _audience(data)
        for key in ("recipients", "lead_ids"):
            data.pop(key, None)
        campaign = services.campaign_create(created_by=request.user, **data, **audience)
        return Response(campaign_data(campaign), status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(responses={200: CampaignSerializer}, summary="A campaign and its progress")
    def get(self, request, campaign_id):
        return Response(campaign_data(_campaign(campaign_id)))

    @extend_schema(
        request=CampaignPatchSerializer,
        responses={200: CampaignSerializer},
        summary="Edit a draft campaign (its version goes up: preview again before start)",
    )
    def patch(self, request, campaign_id):
        campaign = _campaign(campaign_id)
        form = CampaignPatchSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        audience = _audience(data)
        for key in ("recipients", "lead_ids"):
            data.pop(key, None)
        campaign = services.campaign_update(campaign=campaign, by=request.user, **data, **audience)
        return Response(campaign_data(campaign))


class AudienceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX; a column names the recipient.")


class CampaignAudienceApi(APIView):
    permission_classes = [IsSupervisor]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": AudienceUploadSerializer},
        responses={200: CampaignSerializer},
        summary="Upload a draft campaign's recipients as CSV or XLSX",
    )
    def post(self, request, campaign_id):
        campaign = _campaign(campaign_id)
        form = AudienceUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        if upload.size > MAX_UPLOAD:
            raise BoztellError("The file is over 20 MB.", code="payload_too_large", status=413)
        campaign = services.campaign_set_audience_file(
            campaign=campaign, by=request.user, data=upload.read(), filename=upload.name
        )
        return Response(campaign_data(campaign))


class CampaignPreviewApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(
        request=None,
        responses={200: PreviewSerializer},
        summary="Dry run: recipients, exclusions with reasons, rendered texts, cost",
    )
    def post(self, request, campaign_id):
        preview = services.campaign_preview(campaign=_campaign(campaign_id), by=request.user)
        return Response(to_wire(preview))


class StartSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, help_text="The version you previewed; refused if it changed since."
    )


class CampaignStartApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(
        request=StartSerializer,
        responses={200: CampaignSerializer},
        summary="Start (or schedule) a previewed campaign: its audience is frozen",
    )
    def post(self, request, campaign_id):
        form = StartSerializer(data=request.data or {})
        form.is_valid(raise_exception=True)
        campaign = services.campaign_start(
            campaign=_campaign(campaign_id),
            by=request.user,
            version=form.validated_data.get("version"),
        )
        return Response(campaign_data(campaign))


class CampaignPauseApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(request=None, responses={200: CampaignSerializer}, summary="Pause sending")
    def post(self, request, campaign_id):
        campaign = services.campaign_pause(campaign=_campaign(campaign_id), by=request.user)
        return Response(campaign_data(campaign))


class CampaignResumeApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(request=None, responses={200: CampaignSerializer}, summary="Resume sending")
    def post(self, request, campaign_id):
        campaign = services.campaign_resume(campaign=_campaign(campaign_id), by=request.user)
        return Response(campaign_data(campaign))


class CampaignCancelApi(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(
        request=None, responses={200: CampaignSerializer}, summary="Cancel: nothing more is sent"
    )
    def post(self, request, campaign_id):
        campaign = services.campaign_cancel(campaign=_campaign(campaign_id), by=request.user)
        return Response(campaign_data(campaign))


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class CampaignRecipientsCsvApi(APIView):
    permission_classes = [IsSupervisor]
    # JSON for errors; the CSV itself is a streamed response.
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.STR, description="text/csv")},
        summary="Per-recipient results as CSV (excluded rows too)",
    )
    def get(self, request, campaign_id):
        campaign = _campaign(campaign_id)
        response = StreamingHttpResponse(
            campaign_results_csv(campaign=campaign), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
        return response
