"""GET /health checks each part for real: a query, a channel-layer round trip, a storage
write/read/delete."""

import os
from pathlib import Path

import pytest
import requests
from django.core.files.storage import default_storage

from tests.conftest import start_daphne, stop

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
