"""Core views: health."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from boztell.health import health_report


@require_GET
def health(request):
    status, body = health_report()
    return JsonResponse(body, status=status)
