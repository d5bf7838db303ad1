"""The /leads/... API."""

from django.urls import path

from leads import api

urlpatterns = [
    path("import", api.LeadImportApi.as_view(), name="lead-import"),
    path("imports/<uuid:import_id>", api.LeadImportDetailApi.as_view(), name="lead-import-detail"),
    path(
        "imports/<uuid:import_id>/report.csv",
        api.LeadImportReportCsvApi.as_view(),
        name="lead-import-report-csv",
    ),
    path("<uuid:lead_id>", api.LeadApi.as_view(), name="lead-detail"),
]
