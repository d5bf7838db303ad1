"""The /campaigns/... API."""

from django.urls import path

from campaigns import api

urlpatterns = [
    path("", api.CampaignListApi.as_view(), name="campaign-list"),
    path("<uuid:campaign_id>", api.CampaignDetailApi.as_view(), name="campaign-detail"),
    path(
        "<uuid:campaign_id>/audience", api.CampaignAudienceApi.as_view(), name="campaign-audience"
    ),
    path("<uuid:campaign_id>/preview", api.CampaignPreviewApi.as_view(), name="campaign-preview"),
    path("<uuid:campaign_id>/start", api.CampaignStartApi.as_view(), name="campaign-start"),
    path("<uuid:campaign_id>/pause", api.CampaignPauseApi.as_view(), name="campaign-pause"),
    path("<uuid:campaign_id>/resume", api.CampaignResumeApi.as_view(), name="campaign-resume"),
    path("<uuid:campaign_id>/cancel", api.CampaignCancelApi.as_view(), name="campaign-cancel"),
    path(
        "<uuid:campaign_id>/recipients.csv",
        api.CampaignRecipientsCsvApi.as_view(),
        name="campaign-recipients-csv",
    ),
]
