"""Test settings for the embedded default, the README's `scripts/run`: no DATABASE_URL
(SQLite), no REDIS_URL (Channels' in-memory layer), no GS_BUCKET_NAME (media on the local
disk). scripts/test runs the webhook, send and event tests a second time on it:

    .venv/bin/python -m pytest --ds=tests.settings_sqlite tests/test_webhook.py

A test that needs what only the production profile has (real parallel requests on
PostgreSQL, its full-text search, Redis between processes) is marked `postgresql_only`
with its reason, and is skipped here only.
"""

import os
import tempfile

# Empty, not unset: tests.settings fills in what is unset with the production profile.
for name in ("DATABASE_URL", "REDIS_URL", "GS_BUCKET_NAME", "STORAGE_EMULATOR_HOST"):
    os.environ[name] = ""
os.environ.setdefault("SQLITE_PATH", os.path.join(tempfile.mkdtemp(prefix="boztell-"), "db"))
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="boztell-media-"))

from tests.settings import *  # noqa: E402, F403

DATABASES["default"]["TEST"] = {}  # noqa: F405  (SQLite: an in-memory test database)
# A test's listener reads a whole body's events after they are sent (up to 1,000): the
# in-memory layer's default of 100 waiting messages per channel would drop the rest.
CHANNEL_LAYERS = {
    "default": {"BACKEND": "boztell.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}
}
# Shared-cache memory fails on a locked table at once; a file database waits: so does this.
DATABASES["default"]["ENGINE"] = "tests.sqlite_backend"  # noqa: F405
