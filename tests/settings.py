"""Test settings: the production profile (PostgreSQL, Redis, GCS through its emulator),
with defaults for this machine. Every value can still be overridden from the environment."""

import os
import socket
import uuid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_run = uuid.uuid4().hex[:8]
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/boztell")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("CHANNEL_LAYER_PREFIX", f"boztell-test-{_run}")
os.environ.setdefault("GS_BUCKET_NAME", "boztell-test")
os.environ.setdefault("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{_free_port()}")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("WHATSAPP_APP_SECRET", "test-app-secret")
os.environ.setdefault("WHATSAPP_VERIFY_TOKEN", "test-verify-token")
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend")
os.environ.setdefault("LOG_DIR", os.path.join(os.path.dirname(__file__), "..", "logs", "test"))
os.environ.setdefault("STATIC_MANIFEST", "false")
os.environ.setdefault("WHATSAPP_SANDBOX_STATUS_DELAYS", "")
# Test servers (daphne subprocesses on boztell.settings) are reached over plain HTTP.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from boztell.settings import *  # noqa: E402, F403

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files from the apps' folders in tests, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# One test database per run: a crashed run's leftovers (or its lingering server processes)
# never block the next one. scripts/test drops old ones first.
DATABASES["default"]["TEST"] = {"NAME": f"test_boztell_{_run}"}  # noqa: F405
