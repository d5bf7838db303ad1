"""URL routes: admin, health, the REST API and its docs, the webhook, the inbox pages."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from boztell import api, views

handler404 = "boztell.views.not_found"

urlpatterns = [
    path("health", views.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("api/me", api.MeApi.as_view(), name="api-me"),
    path("events", api.EventsApi.as_view(), name="events"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves the page's start-up script from a URL: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("webhooks/", include("webhooks.urls")),
    path("messages/", include("messaging.urls")),
    path("rooms/", include("inbox.urls")),
    path("leads/", include("leads.urls")),
    path("leads/", include("inbox.lead_urls")),
    path("quick-replies/", include("replies.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("", include("inbox.page_urls")),
]
