"""The leads API: agents keep a lead's statuses current from the inbox."""

import json

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.errors import BoztellError
from boztell.realtime import to_wire
from leads.models import Lead, LeadImport
from leads.selectors import lead_import_report, lead_import_report_csv
from leads.services import (
    DUPLICATE_CHOICES,
    OVERWRITE_CHOICES,
    lead_import,
    lead_update_status,
)
from rooms.events import leads_info
from rooms.selectors import rooms_visible_to


class LeadStatusSerializer(serializers.Serializer):
    leads_status = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_status = serializers.CharField(max_length=50, required=False, allow_blank=True)


class LeadApi(APIView):
    @extend_schema(
        request=LeadStatusSerializer,
        responses={200: LeadStatusSerializer},
        summary="Update a lead's leads_status / contact_status",
    )
    def patch(self, request, lead_id):
        visible = rooms_visible_to(user=request.user).filter(lead_id=lead_id)
        lead = get_object_or_404(Lead.objects.filter(pk=lead_id, rooms__in=visible).distinct())
        form = LeadStatusSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = lead_update_status(lead=lead, by=request.user, **form.validated_data)
        return Response(to_wire(leads_info(lead)))


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
        response = StreamingHttpResponse(
            lead_import_report_csv(record), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="import-{record.pk}-report.csv"'
        return response
