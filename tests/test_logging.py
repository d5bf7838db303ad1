import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command


@pytest.mark.django_db
def test_user_events_go_to_the_rotated_file_without_secrets():
    out = io.StringIO()
    call_command("create_user", "logged", "--password", "pw-not-logged-77", "--token", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    handler = settings.LOGGING["handlers"]["file"]
    assert handler["class"] == "logging.handlers.RotatingFileHandler"
    assert handler["maxBytes"] > 0 and handler["backupCount"] > 0
    text = Path(handler["filename"]).read_text()
    assert "user created" in text and "api token issued" in text
    assert token not in text
    assert "pw-not-logged-77" not in text
