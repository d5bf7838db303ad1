"""Core views: health."""

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
