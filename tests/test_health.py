"""GET /health checks each part for real: a query, a channel-layer round trip, a storage
write/read/delete."""

import os
from pathlib import Path

import pytest
import requests
from django.core.files.storage import default_storage

from tests.helpers import start_daphne, stop

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_health_is_ok_on_postgres_redis_and_gcs(client):
    from django.conf import settings

    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "boztell.layers.PubSubChannelLayer"
    assert "gcloud" in settings.STORAGES["default"]["BACKEND"]
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "channel_layer": "ok",
        "storage": "ok",
        "webhook_queue": "ok",
        "tasks": "ok",
    }
    leftovers = default_storage.listdir("health")[1]
    assert leftovers == [], "the storage check cleans up after itself"


@pytest.mark.django_db
def test_health_reports_a_dead_channel_layer_as_degraded(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["failing"] == ["channel_layer"]
    assert body["database"] == "ok" and body["channel_layer"].startswith("error")


@pytest.mark.slow
def test_health_is_503_naming_the_database_when_postgres_is_unreachable(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "boztell.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/boztell",
        "DATABASE_POOL_TIMEOUT": "2",
        "LOG_DIR": str(tmp_path),
    }
    server, port = start_daphne(env)
    try:
        response = requests.get(f"http://127.0.0.1:{port}/health", timeout=15)
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "error"
        assert body["failing"] == ["database"]
        assert body["database"].startswith("error")
    finally:
        stop(server)


def _queued_task(*, enqueued_ago: float, run_after=None, status="READY"):
    """A media fetch as db_worker's queue holds it (django-tasks-db's row)."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult, get_date_max

    row = DBTaskResult.objects.create(
        task_path="messaging.tasks.media_fetch",
        args_kwargs={"args": ["00000000-0000-0000-0000-000000000000", 1], "kwargs": {}},
        backend_name="default",
        run_after=run_after or get_date_max(),
        status=status,
    )
    DBTaskResult.objects.filter(pk=row.pk).update(
        enqueued_at=timezone.now() - timedelta(seconds=enqueued_ago)
    )
    return row


@pytest.mark.django_db
def test_health_is_degraded_naming_tasks_when_background_work_waits_with_no_worker(client):
    from datetime import timedelta

    from django.utils import timezone

    _queued_task(enqueued_ago=5)  # just queued: a worker has not had its chance yet
    _queued_task(enqueued_ago=3600, status="SUCCESSFUL")  # done long ago
    _queued_task(enqueued_ago=600, run_after=timezone.now() + timedelta(minutes=2))  # a retry
    assert client.get("/health").json()["tasks"] == "ok"

    _queued_task(enqueued_ago=90)
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["failing"] == ["tasks"]
    assert "db_worker" in body["tasks"]


@pytest.mark.django_db
def test_a_retry_overdue_for_a_minute_is_waiting_work_too(client):
    from datetime import timedelta

    from django.utils import timezone

    _queued_task(enqueued_ago=900, run_after=timezone.now() - timedelta(seconds=90))
    assert client.get("/health").json()["failing"] == ["tasks"]
