import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from boztell.models import User

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_token_is_the_last_line_and_authenticates_the_api():
    lines = _run("sari", "--role", "supervisor", "--password", "s3cret-pass-9", "--token")
    key = lines[-1]
    user = User.objects.get(username="sari")
    assert user.role == "supervisor"
    assert user.check_password("s3cret-pass-9")
    assert Token.objects.get(user=user).key == key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = client.get("/api/me")
    assert me.status_code == 200 and me.json()["role"] == "supervisor"


def test_agent_without_password_cannot_log_in_but_exists():
    lines = _run("andi", "--role", "agent")
    user = User.objects.get(username="andi")
    assert user.role == "agent" and not user.has_usable_password()
    assert not Token.objects.filter(user=user).exists()
    assert "andi" in lines[-1]


def test_duplicate_username_is_a_clear_error():
    _run("dup")
    with pytest.raises(CommandError, match="already exists"):
        _run("dup")


def test_unknown_role_is_refused():
    with pytest.raises(CommandError):
        _run("x", "--role", "boss")
