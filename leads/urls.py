"""The /leads/... API."""

from django.urls import path

from leads import api

urlpatterns = [path("<uuid:lead_id>", api.LeadApi.as_view(), name="lead-detail")]
