"""The lead-only /leads/... API; the doors that touch rooms are inbox/lead_urls.py, under
the same prefix (boztell/urls.py)."""

from django.urls import path

from leads import api

urlpatterns = [
    path("", api.LeadListApi.as_view(), name="lead-list"),
    path("segments", api.SegmentListApi.as_view(), name="lead-segments"),
    path("attributes", api.LeadAttributeListApi.as_view(), name="lead-attributes"),
    path("imports/<uuid:import_id>", api.LeadImportDetailApi.as_view(), name="lead-import-detail"),
    path(
        "imports/<uuid:import_id>/report.csv",
        api.LeadImportReportCsvApi.as_view(),
        name="lead-import-report-csv",
    ),
]
