"""Settings come from the environment: the embedded default and the production profile."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, django
from django.conf import settings
django.setup()
from channels.layers import get_channel_layer
from django.core.files.storage import default_storage
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "pool": db.get("OPTIONS", {}).get("pool"),
    "conn_max_age": db.get("CONN_MAX_AGE"),
    "layer": type(get_channel_layer()).__name__,
    "storage": type(default_storage._wrapped if hasattr(default_storage, "_wrapped")
                    else default_storage).__name__,
    "bucket": getattr(settings, "GS_BUCKET_NAME", ""),
    "debug": settings.DEBUG,
    "sandbox": settings.WHATSAPP_BACKEND.endswith("SandboxClient"),
    "tasks": settings.TASKS["default"]["BACKEND"],
    "hosts": settings.ALLOWED_HOSTS,
}))
"""


def _probe(tmp_path, **env):
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LOG_DIR": str(tmp_path)}
    base.update(env)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.core.files.storage import default_storage;"
            "default_storage._setup();" + PROBE,
        ],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "boztell.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result


def test_no_environment_is_the_embedded_default(tmp_path):
    result = _probe(tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["engine"] == "django.db.backends.sqlite3"
    assert seen["layer"] == "InMemoryChannelLayer"
    assert seen["storage"] == "FileSystemStorage"
    assert seen["debug"] is True
    assert seen["sandbox"] is True
    assert seen["tasks"].endswith("ImmediateBackend")


def test_production_environment_uses_postgres_pool_redis_and_gcs(tmp_path):
    result = _probe(
        tmp_path,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/boztell",
        REDIS_URL="redis://127.0.0.1:6379/0",
        GS_BUCKET_NAME="boztell-media",
        STORAGE_EMULATOR_HOST="http://127.0.0.1:9",
        SECRET_KEY="a-real-secret-" + "y" * 40,
        ALLOWED_HOSTS="inbox.example.com",
        WHATSAPP_ACCESS_TOKEN="EAAG-test",
        WHATSAPP_APP_SECRET="real-app-secret",
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["engine"] == "django.db.backends.postgresql"
    assert seen["pool"]["max_size"] >= 1
    assert seen["conn_max_age"] == 0, "under ASGI connections go through the pool"
    assert seen["layer"] == "PubSubChannelLayer"
    assert seen["storage"] == "GoogleCloudStorage"
    assert seen["bucket"] == "boztell-media"
    assert seen["debug"] is False
    assert seen["sandbox"] is False
    assert seen["tasks"] == "django_tasks_db.DatabaseBackend"
    assert seen["hosts"] == ["inbox.example.com"]


def test_a_sqlite_database_url_gets_no_pool_and_migrates(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/boztell.sqlite3", "DEBUG": "true"}
    seen = _probe(tmp_path, **env)
    assert seen.returncode == 0, seen.stderr
    assert json.loads(seen.stdout.strip().splitlines()[-1])["pool"] is None
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LOG_DIR": str(tmp_path)}
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr[-2000:]


def test_production_refuses_the_development_secret_key(tmp_path):
    result = _probe(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/boztell")
    assert result.returncode != 0
    assert "SECRET_KEY is the development key" in result.stderr


QUEUED_ON_SQLITE = """
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from messaging.models import Message
from tests.helpers import signed_post, text_webhook
from webhooks.models import Delivery
call_command("migrate", verbosity=0)
answer = signed_post(Client(), text_webhook("6281234567001", "wamid.EMBEDDED", "halo"))
assert answer.json() == {"status": "queued", "queued": 1}, answer.content
assert Delivery.objects.count() == 1 and Message.objects.count() == 0
call_command("webhook_worker", "--once")
assert Message.objects.get().content_text == "halo"
assert Delivery.objects.count() == 0
# The event log (GET /events, a reconnect's catch-up) is written on SQLite too.
from boztell.models import Event
from boztell.realtime import flush_events
from boztell.services import user_create, user_token_issue
flush_events()
logged = list(Event.objects.values_list("event", "room_id"))
assert logged == [("new_room_complete", Message.objects.get().room_id)], logged
token = user_token_issue(user=user_create(username="sari", role="supervisor")).key
page = Client().get("/events", {"after": 0}, HTTP_AUTHORIZATION=f"Token {token}").json()
assert [row["event"] for row in page["results"]] == ["new_room_complete"], page
print("ok")
"""


def test_queued_webhooks_and_the_event_log_work_on_the_embedded_default_too(tmp_path):
    """SQLite has no NOTIFY: the worker polls; bodies are still kept, then stored, and
    their events numbered in the log for catch-up."""
    result = subprocess.run(
        [sys.executable, "-c", QUEUED_ON_SQLITE],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "LOG_DIR": str(tmp_path),
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
            "ALLOWED_HOSTS": "testserver",
            "WEBHOOK_QUEUE": "true",
            "DJANGO_SETTINGS_MODULE": "boztell.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "ok"


def _production_env(tmp_path) -> dict:
    """The production profile as an operator sets it: no test overrides."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LOG_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "boztell.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "DATABASE_POOL_TIMEOUT": "5",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "GS_BUCKET_NAME": "boztell-media",
        "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9",
        # check --deploy wants 50+ characters of some variety.
        "SECRET_KEY": "k8#Qz2v!Lm9@rT4wXy7^Pn3&Bc6*Hd1(Jf5)Gs0_Ua8+Ve2=Wi4-production",
        "ALLOWED_HOSTS": "inbox.example.com",
        "WHATSAPP_ACCESS_TOKEN": "EAAG-test",
        "WHATSAPP_APP_SECRET": "real-app-secret",
    }


def test_production_profile_passes_check_deploy_at_warning_level(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "no issues" in result.stdout


HTTPS_PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="inbox.example.com")
plain = client.get("/login/?next=/inbox/")
webhook = client.post("/webhooks/whatsapp", b"{}", content_type="application/json")
health = client.get("/health")
secure = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "webhook": [webhook.status_code, webhook.get("Location")],
    "health": [health.status_code, health.get("Location")],
    "secure": [secure.status_code, secure.get("Strict-Transport-Security"),
               secure.get("Content-Security-Policy")],
    "plain_hsts": plain.get("Strict-Transport-Security"),
}))
"""


def test_production_redirects_plain_http_to_https_and_sends_hsts(tmp_path):
    """Behind the proxy's X-Forwarded-Proto: http gets 301 to https (the webhook too),
    except the load balancer's /health; https answers carry HSTS and the CSP."""
    result = subprocess.run(
        [sys.executable, "-c", HTTPS_PROBE],
        cwd=ROOT,
        # No collectstatic here (the page's static URLs come unhashed), and media on disk:
        # /health writes to storage for real.
        env={
            **{
                k: v
                for k, v in _production_env(tmp_path).items()
                if not k.startswith(("GS_", "STORAGE_"))
            },
            "STATIC_MANIFEST": "false",
            "MEDIA_ROOT": str(tmp_path / "media"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain"] == [301, "https://inbox.example.com/login/?next=/inbox/"]
    assert seen["webhook"] == [301, "https://inbox.example.com/webhooks/whatsapp"]
    assert seen["health"] == [200, None], "the load balancer's check is not redirected"
    status, hsts, csp = seen["secure"]
    assert status == 200
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert seen["plain_hsts"] is None, "HSTS only over https"
