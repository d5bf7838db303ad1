"""Core views: health, the favicon, the 404 answer."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from boztell.health import health_report


@require_GET
def health(request):
    status, body = health_report()
    return JsonResponse(body, status=status)


def favicon(request):
    """Browsers ask for /favicon.ico on every page they open by themselves (the media
    viewer, the API docs); the answer is our icon, not a 404 in their console."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.http import HttpResponsePermanentRedirect

    return HttpResponsePermanentRedirect(staticfiles_storage.url("favicon.svg"))


# The REST API's and the webhook's paths: a URL there that names nothing (an id that is
# not a UUID) answers in the API's error shape, not with an HTML page; elsewhere, so does
# any request that does not ask for HTML (a browser's does).
API_PREFIXES = (
    "/messages/",
    "/rooms/",
    "/leads/",
    "/quick-replies/",
    "/events",
    "/api/",
    "/webhooks/",
)


def not_found(request, exception=None):
    from django.views.defaults import page_not_found

    from boztell.errors import error_response

    if request.path.startswith(API_PREFIXES) or "text/html" not in request.headers.get(
        "Accept", ""
    ):
        return error_response("not_found", "Not found.", 404)
    return page_not_found(request, exception)
