import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command


@pytest.mark.django_db
def test_user_events_go_to_the_rotated_file_without_secrets():
    from boztell.models import User

    handler = settings.LOGGING["handlers"]["file"]
    assert handler["class"] == "logging.handlers.RotatingFileHandler"
    assert handler["maxBytes"] > 0 and handler["backupCount"] > 0
    log = Path(handler["filename"])
    # The file outlives test runs: read only what this test appends to it.
    start = log.stat().st_size if log.exists() else 0
    out = io.StringIO()
    call_command("create_user", "logged", "--password", "pw-not-logged-77", "--token", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    user = User.objects.get(username="logged")
    with log.open(encoding="utf-8") as file:
        file.seek(start)
        text = file.read()
    assert f"user created id={user.id}" in text
    assert f"api token issued user={user.id}" in text
    assert token not in text
    assert "pw-not-logged-77" not in text
