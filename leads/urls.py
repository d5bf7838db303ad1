"""The /leads/... API."""

from django.urls import path

from leads import api

urlpatterns = [
    path("", api.LeadListApi.as_view(), name="lead-list"),
    path("export", api.LeadExportApi.as_view(), name="lead-export"),
    path("segments", api.SegmentListApi.as_view(), name="lead-segments"),
    path("attributes", api.LeadAttributeListApi.as_view(), name="lead-attributes"),
    path("import", api.LeadImportApi.as_view(), name="lead-import"),
    path("imports/<uuid:import_id>", api.LeadImportDetailApi.as_view(), name="lead-import-detail"),
    path(
        "imports/<uuid:import_id>/report.csv",
        api.LeadImportReportCsvApi.as_view(),
        name="lead-import-report-csv",
    ),
    path("<uuid:lead_id>", api.LeadApi.as_view(), name="lead-detail"),
    path("<uuid:lead_id>/history", api.LeadHistoryApi.as_view(), name="lead-history"),
]
