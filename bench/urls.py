"""The app's URLs plus one bare view for comparison: one INSERT into PostgreSQL.
Mounted only by the benchmark (ROOT_URLCONF=bench.urls)."""

import uuid

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare_insert(request):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_insert (id, body) VALUES (%s, %s)",
            [uuid.uuid4(), request.body.decode()[:200]],
        )
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("bench/insert", bare_insert),
    path("", include("boztell.urls")),
]
