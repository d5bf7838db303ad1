"""The /leads/... doors that touch rooms (inbox/lead_api.py), beside leads/urls.py."""

from django.urls import path

from inbox import lead_api

urlpatterns = [
    path("export", lead_api.LeadExportApi.as_view(), name="lead-export"),
    path("import", lead_api.LeadImportApi.as_view(), name="lead-import"),
    path("<uuid:lead_id>", lead_api.LeadApi.as_view(), name="lead-detail"),
    path("<uuid:lead_id>/history", lead_api.LeadHistoryApi.as_view(), name="lead-history"),
]
