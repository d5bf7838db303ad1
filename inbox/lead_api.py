"""The lead doors that touch rooms (same /leads/... URLs, routed in boztell/urls.py): an
agent's lead, seen through its rooms (PATCH /leads/{id}, its history), the import (each
lead linked to its customer's room), the export (each lead with its room's facts). The
lead-only doors are leads/api.py."""

import json

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.errors import BoztellError
from boztell.realtime import to_wire
from inbox.lead_export import lead_export_response
from leads.api import (
    FILTER_PARAMETERS,
    CanImportLeads,
    LeadImportReportSerializer,
    filtered_leads,
    report_body,
)
from leads.export import FORMATS
from leads.models import Lead, LeadImport, Segment
from leads.selectors import lead_history
from leads.serializers import LeadSerializer
from leads.services import DUPLICATE_CHOICES, OVERWRITE_CHOICES
from rooms.selectors import leads_visible_to
from rooms.services import lead_import, lead_update_status


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
        # Supervisors too: a lead changed from the inbox is one with a room.
        lead = get_object_or_404(leads_visible_to(user=request.user), pk=lead_id)
        form = LeadStatusSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = lead_update_status(lead=lead, by=request.user, **form.validated_data)
        return Response(to_wire(LeadSerializer.render(lead)))


class LeadChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class LeadHistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["created", "changed"])
    by = serializers.CharField(allow_null=True, help_text="who, by name; null: an import")
    changes = LeadChangeSerializer(many=True)


class LeadHistoryApi(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "LeadHistory", {"results": LeadHistoryEntrySerializer(many=True)}
            )
        },
        summary="Who changed the lead's fields, and when (newest first, 50)",
    )
    def get(self, request, lead_id):
        user = request.user
        leads = Lead.objects.all() if user.is_supervisor else leads_visible_to(user=user)
        lead = get_object_or_404(leads, pk=lead_id)
        return Response(to_wire({"results": lead_history(lead=lead)}))


# --- import ------------------------------------------------------------------------------


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
        body = report_body(record)
        if record.status == LeadImport.Status.FAILED:
            raise BoztellError(record.error, code="import_interrupted", status=503, details=body)
        return Response(body, status=200 if record.dry_run else 201)


# --- export ------------------------------------------------------------------------------


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
        return lead_export_response(leads, format=format, name=name, request=request)

    # DRF's content negotiation would refuse ?format=xlsx (its own format suffix).
    def get_renderers(self):
        from rest_framework.renderers import JSONRenderer

        return [JSONRenderer()]

    def perform_content_negotiation(self, request, force=False):
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type
