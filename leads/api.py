"""The leads API: agents keep a lead's statuses current from the inbox."""

import json
import uuid

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.errors import BoztellError
from boztell.realtime import to_wire
from leads.export import FORMATS, export_response, streaming_response
from leads.models import Lead, LeadAttribute, LeadImport, Segment
from leads.selectors import (
    lead_filters_from_query,
    lead_import_report,
    lead_import_report_csv,
    leads_matching,
    segment_leads,
)
from leads.serializers import LeadRowSerializer, LeadSerializer
from leads.services import (
    DUPLICATE_CHOICES,
    OVERWRITE_CHOICES,
    lead_import,
    lead_update_status,
)
from rooms.selectors import rooms_visible_to


class LeadStatusSerializer(serializers.Serializer):
    leads_status = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_status = serializers.CharField(max_length=50, required=False, allow_blank=True)


class LeadApi(APIView):
    @extend_schema(
        request=LeadStatusSerializer,
        responses={200: LeadSerializer},
        summary="Update a lead's leads_status / contact_status",
    )
    def patch(self, request, lead_id):
        visible = rooms_visible_to(user=request.user).filter(lead_id=lead_id)
        lead = get_object_or_404(Lead.objects.filter(pk=lead_id, rooms__in=visible).distinct())
        form = LeadStatusSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = lead_update_status(lead=lead, by=request.user, **form.validated_data)
        return Response(to_wire(LeadSerializer.render(lead)))


# --- import ------------------------------------------------------------------------------


class CanImportLeads(BasePermission):
    """Supervisors, and users (an API token's user) given the `leads.import_leads` right."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("leads.import_leads"))


class LeadImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8 or Excel's encodings, , ; or tab) or XLSX")
    dry_run = serializers.BooleanField(default=False, help_text="report only, change nothing")
    sheet = serializers.CharField(required=False, allow_blank=True, help_text="default: first")
    overwrite = serializers.ChoiceField(choices=OVERWRITE_CHOICES, default="all")
    duplicates = serializers.ChoiceField(choices=DUPLICATE_CHOICES, default="first")
    mapping = serializers.JSONField(
        required=False,
        help_text='{"<header>": "<target>"}; target: a lead field, "ignore" or '
        '"attr:<key>:<date|money|number|text>"',
    )

    def validate_mapping(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise serializers.ValidationError("mapping must be a JSON object.") from exc
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise serializers.ValidationError("mapping must map headers to target strings.")
        return value

    def validate_file(self, value):
        limit = settings.LEADS_IMPORT_MAX_BYTES
        if value.size > limit:
            raise serializers.ValidationError(f"The file is larger than {limit} bytes.")
        return value


class LeadImportColumnSerializer(serializers.Serializer):
    column = serializers.IntegerField()
    header = serializers.CharField()
    target = serializers.CharField()
    field = serializers.CharField()
    key = serializers.CharField(allow_null=True)
    type = serializers.CharField(allow_null=True)


class LeadImportIssueSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.CharField()
    reason = serializers.CharField()


class LeadImportCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()


class LeadImportReportSerializer(serializers.Serializer):
    import_id = serializers.UUIDField(allow_null=True)
    status = serializers.ChoiceField(choices=LeadImport.Status.choices)
    dry_run = serializers.BooleanField()
    file = serializers.CharField()
    sheet = serializers.CharField()
    rows_read = serializers.IntegerField()
    counts = LeadImportCountsSerializer()
    committed_through_line = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    overwrite = serializers.CharField()
    duplicates = serializers.CharField()
    columns = LeadImportColumnSerializer(many=True)
    sample = serializers.ListField(
        child=serializers.DictField(), help_text="the first rows as they will be stored"
    )
    issues = LeadImportIssueSerializer(many=True)
    issues_total = serializers.IntegerField()
    report_url = serializers.CharField(allow_null=True)


ISSUES_IN_RESPONSE = 1000


def _report_body(record) -> dict:
    body = lead_import_report(record, issues_limit=ISSUES_IN_RESPONSE)
    body["report_url"] = (
        reverse("lead-import-report-csv", args=[record.pk]) if body["import_id"] else None
    )
    return to_wire(body)


class LeadImportApi(APIView):
    permission_classes = [IsAuthenticated, CanImportLeads]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": LeadImportRequestSerializer},
        responses={
            200: LeadImportReportSerializer,
            201: LeadImportReportSerializer,
            503: OpenApiResponse(description="import_interrupted: committed batches stay"),
        },
        summary="Import leads from a CSV/XLSX file (dry run: report only)",
    )
    def post(self, request):
        form = LeadImportRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        record = lead_import(
            data=upload.read(),
            filename=upload.name or "",
            by=request.user,
            dry_run=form.validated_data["dry_run"],
            sheet=form.validated_data.get("sheet") or None,
            overwrite=form.validated_data["overwrite"],
            duplicates=form.validated_data["duplicates"],
            mapping=form.validated_data.get("mapping"),
        )
        body = _report_body(record)
        if record.status == LeadImport.Status.FAILED:
            raise BoztellError(record.error, code="import_interrupted", status=503, details=body)
        return Response(body, status=200 if record.dry_run else 201)


class LeadImportDetailApi(APIView):
    permission_classes = [IsAuthenticated, CanImportLeads]

    @extend_schema(responses={200: LeadImportReportSerializer}, summary="An import's report")
    def get(self, request, import_id):
        return Response(_report_body(get_object_or_404(LeadImport, pk=import_id)))


class LeadImportReportCsvApi(APIView):
    permission_classes = [IsAuthenticated, CanImportLeads]

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="An import's skipped rows as CSV, with `line` and `error` columns",
    )
    def get(self, request, import_id):
        record = get_object_or_404(LeadImport, pk=import_id)
        response = streaming_response(
            lead_import_report_csv(record), content_type="text/csv; charset=utf-8", request=request
        )
        response["Content-Disposition"] = f'attachment; filename="import-{record.pk}-report.csv"'
        return response


# --- list and segments -------------------------------------------------------------------


class CanViewLeads(BasePermission):
    """Supervisors, and users (API tokens) given `leads.view_lead`."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("leads.view_lead"))


class LeadPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = LeadRowSerializer(many=True)


FILTER_PARAMETERS = [
    OpenApiParameter("segment", OpenApiTypes.UUID, description="a saved segment's id"),
    OpenApiParameter("leads_status", str, description="any of; repeat or comma-separate"),
    OpenApiParameter("contact_status", str, description="any of; repeat or comma-separate"),
    OpenApiParameter("loan_type", str, description="any of, case-insensitive"),
    OpenApiParameter("outstanding_min", str, description="IDR, inclusive"),
    OpenApiParameter("outstanding_max", str, description="IDR, inclusive"),
    OpenApiParameter("do_not_contact", bool),
    OpenApiParameter("search", str, description="name or any phone spelling"),
    OpenApiParameter("last_customer_message_after", str, description="yyyy-mm-dd or ISO time"),
    OpenApiParameter("last_customer_message_before", str, description="yyyy-mm-dd or ISO time"),
    OpenApiParameter(
        "attr",
        str,
        many=True,
        description="attribute condition <key>:<op>:<value>, repeatable: dpd:gte:30, "
        "due_date:within_next_days:7, branch:eq:Jakarta, due_date:is_set:true",
    ),
]


def filtered_leads(request):
    """The leads a request asks for: its segment (if any) and its query filters."""
    extra = lead_filters_from_query(request.query_params)
    segment_id = request.query_params.get("segment")
    if segment_id:
        try:
            segment = Segment.objects.get(pk=uuid.UUID(segment_id))
        except (ValueError, Segment.DoesNotExist) as exc:
            raise BoztellError(
                "There is no such segment.", code="unknown_segment", status=404
            ) from exc
        return segment_leads(segment, extra)
    return leads_matching(extra)


class LeadListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewLeads]

    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="up to 500; default 100"),
        ],
        responses={200: LeadPageSerializer},
        summary="Leads, filtered by a segment and/or the same filters as query parameters",
    )
    def get(self, request):
        leads = filtered_leads(request).order_by("name", "id")
        try:
            page = max(1, int(request.query_params.get("page", 1)))
            size = min(500, max(1, int(request.query_params.get("page_size", 100))))
        except ValueError as exc:
            raise BoztellError("page and page_size are numbers.", code="invalid_request") from exc
        rows = leads[(page - 1) * size : page * size]
        return Response(
            {
                "count": leads.count(),
                "page": page,
                "page_size": size,
                "results": to_wire({"r": LeadRowSerializer.render_many(rows)})["r"],
            }
        )


class SegmentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = ("id", "name", "filters", "created_at", "updated_at")


class SegmentListApi(APIView):
    permission_classes = [IsAuthenticated, CanViewLeads]

    @extend_schema(responses={200: SegmentOutputSerializer(many=True)}, summary="Saved segments")
    def get(self, request):
        return Response(SegmentOutputSerializer(Segment.objects.all(), many=True).data)


class LeadAttributeOutputSerializer(serializers.ModelSerializer):
    # A plain string in the schema: an enum named "Type" would rename the media send's.
    type = serializers.CharField(help_text="date, money, number or text")

    class Meta:
        model = LeadAttribute
        fields = ("key", "label", "type")


class LeadAttributeListApi(APIView):
    """Every signed-in user: the inbox's lead panel formats attributes by their type."""

    @extend_schema(
        responses={200: LeadAttributeOutputSerializer(many=True)},
        summary="Lead attribute definitions (key, label, type)",
    )
    def get(self, request):
        return Response(LeadAttributeOutputSerializer(LeadAttribute.objects.all(), many=True).data)


class CanExportLeads(BasePermission):
    """Supervisors, and users (API tokens) given `leads.export_leads`."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("leads.export_leads"))


class LeadExportApi(APIView):
    permission_classes = [IsAuthenticated, CanExportLeads]

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), description="default csv"),
            *FILTER_PARAMETERS,
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): (
                OpenApiTypes.BINARY
            ),
        },
        summary="Export leads (a segment, filtered) as CSV or XLSX, streamed, with room facts",
    )
    def get(self, request):
        format = request.query_params.get("format", "csv")
        if format not in FORMATS:
            raise BoztellError("format is csv or xlsx.", code="invalid_format")
        leads = filtered_leads(request)
        segment = request.query_params.get("segment")
        name = Segment.objects.get(pk=segment).name if segment else "leads"
        return export_response(leads, format=format, name=name, request=request)

    # DRF's content negotiation would refuse ?format=xlsx (its own format suffix).
    def get_renderers(self):
        from rest_framework.renderers import JSONRenderer

        return [JSONRenderer()]

    def perform_content_negotiation(self, request, force=False):
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type
