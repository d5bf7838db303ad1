"""The lead-only doors of the /leads/... API: the list and its filters, segments,
attributes, an import's report. The doors that touch rooms (a lead's PATCH and history,
the import, the export) are inbox/lead_api.py."""

import uuid

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.errors import BoztellError
from boztell.realtime import to_wire
from leads.export import streaming_response
from leads.models import LeadAttribute, LeadImport, Segment
from leads.selectors import (
    lead_filters_from_query,
    lead_import_report,
    lead_import_report_csv,
    leads_matching,
    segment_leads,
)
from leads.serializers import LeadRowSerializer

# --- import ------------------------------------------------------------------------------


class CanImportLeads(BasePermission):
    """Supervisors, and users (an API token's user) given the `leads.import_leads` right."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.has_perm("leads.import_leads"))


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


def report_body(record) -> dict:
    body = lead_import_report(record, issues_limit=ISSUES_IN_RESPONSE)
    body["report_url"] = (
        reverse("lead-import-report-csv", args=[record.pk]) if body["import_id"] else None
    )
    return to_wire(body)


class LeadImportDetailApi(APIView):
    permission_classes = [IsAuthenticated, CanImportLeads]

    @extend_schema(responses={200: LeadImportReportSerializer}, summary="An import's report")
    def get(self, request, import_id):
        return Response(report_body(get_object_or_404(LeadImport, pk=import_id)))


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
