"""Password guessing is limited (django-axes): per account and per address, on the inbox's
/login/ and on /admin/login/; a supervisor unlocks from admin."""

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RIGHT = "pass-word-123"
LOCKED_TEXT = b"Too many failed sign-in attempts"


def _login(client, path, username, password, ip="198.51.100.7", **headers):
    return client.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=ip, **headers
    )


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize(
    ("path", "user_fixture"),
    [("/login/", "agent"), ("/admin/login/?next=/admin/", "supervisor")],
)
def test_five_wrong_passwords_then_the_right_one_is_refused_with_429(request, path, user_fixture):
    user = request.getfixturevalue(user_fixture)
    client = Client()
    for attempt in range(1, 5):
        response = _login(client, path, user.username, f"wrong-{attempt}")
        assert response.status_code == 200, "the form again, with its error"
    fifth = _login(client, path, user.username, "wrong-5")
    assert fifth.status_code == 429
    assert LOCKED_TEXT in fifth.content

    right = _login(client, path, user.username, RIGHT)
    assert right.status_code == 429
    assert LOCKED_TEXT in right.content
    assert b"15 minutes" in right.content
    assert right["Retry-After"] == "900"
    assert "default-src 'self'" in right["Content-Security-Policy"]
    assert not _logged_in(client)
    assert AccessAttempt.objects.get(username=user.username).failures_since_start >= 5
    # Another account at another address is not affected.
    UserFactory(username="bystander")
    bystander = Client()
    assert _login(bystander, "/login/", "bystander", RIGHT, ip="203.0.113.9").status_code == 302
    assert _logged_in(bystander)


def test_one_address_rotating_usernames_is_locked_out(agent, other_agent):
    client = Client()
    for n in range(5):
        _login(client, "/login/", f"guess-{n}", "secret", ip="198.51.100.20")
    # A real account with its right password, from the guessing address: refused.
    refused = _login(Client(), "/login/", agent.username, RIGHT, ip="198.51.100.20")
    assert refused.status_code == 429
    assert LOCKED_TEXT in refused.content
    # The same account from another address signs in: the lock was the address's.
    elsewhere = Client()
    assert _login(elsewhere, "/login/", agent.username, RIGHT, ip="203.0.113.50").status_code == 302
    assert _logged_in(elsewhere)


def test_one_username_from_many_addresses_is_locked_out(agent):
    for n in range(5):
        _login(Client(), "/login/", agent.username, "wrong", ip=f"198.51.100.{30 + n}")
    fresh_address = Client()
    refused = _login(fresh_address, "/login/", agent.username, RIGHT, ip="203.0.113.77")
    assert refused.status_code == 429
    assert not _logged_in(fresh_address)


def test_a_forged_x_forwarded_for_does_not_reset_the_count_by_default(agent):
    for n in range(5):
        _login(
            Client(),
            "/login/",
            f"guess-{n}",
            "x",
            ip="198.51.100.40",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.40"}
    refused = _login(
        Client(),
        "/login/",
        agent.username,
        RIGHT,
        ip="198.51.100.40",
        HTTP_X_FORWARDED_FOR="10.9.9.99",
    )
    assert refused.status_code == 429


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_appended(agent, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # nginx appends the address it saw; what the client wrote before it is ignored.
    for n in range(5):
        _login(
            Client(),
            "/login/",
            f"guess-{n}",
            "x",
            ip="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 198.51.100.60",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.60"}
    assert (
        _login(
            Client(),
            "/login/",
            agent.username,
            RIGHT,
            ip="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.60",
        ).status_code
        == 429
    )
    # Another client behind the same proxy is not locked out.
    assert (
        _login(
            Client(),
            "/login/",
            agent.username,
            RIGHT,
            ip="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.61",
        ).status_code
        == 302
    )


def test_a_supervisor_unlocks_an_account_from_admin(agent, supervisor):
    for n in range(5):
        _login(Client(), "/login/", agent.username, "wrong", ip=f"198.51.100.{70 + n}")
    assert _login(Client(), "/login/", agent.username, RIGHT).status_code == 429

    admin = Client()
    admin.force_login(supervisor)
    listing = admin.get("/admin/axes/accessattempt/", {"q": agent.username})
    assert listing.status_code == 200
    assert b"Locked Out" in listing.content
    ids = [
        str(pk)
        for pk in AccessAttempt.objects.filter(username=agent.username).values_list("pk", flat=True)
    ]
    assert len(ids) == 6, "five guesses and the refused right password"
    confirm = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids},
    )
    assert confirm.status_code == 200 and b"Are you sure" in confirm.content
    done = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert done.status_code == 302
    assert not AccessAttempt.objects.filter(username=agent.username).exists()

    client = Client()
    assert _login(client, "/login/", agent.username, RIGHT).status_code == 302
    assert _logged_in(client)


def test_an_agent_cannot_see_or_clear_login_attempts(client, agent):
    client.force_login(agent)
    assert client.get("/admin/axes/accessattempt/").status_code == 302


def test_api_tokens_keep_working_from_a_locked_address(agent, agent_api):
    for _n in range(5):
        _login(Client(), "/login/", agent.username, "wrong", ip="127.0.0.1")
    assert _login(Client(), "/login/", agent.username, RIGHT, ip="127.0.0.1").status_code == 429
    assert agent_api.get("/api/me", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_a_supervisor_reads_the_login_logs_but_cannot_erase_them(client, supervisor):
    client.force_login(supervisor)
    assert client.get("/admin/axes/accesslog/").status_code == 200
    assert client.get("/admin/axes/accessfailurelog/").status_code == 200
    assert supervisor.has_perm("axes.delete_accessattempt")
    assert not supervisor.has_perm("axes.delete_accesslog")
    assert not supervisor.has_perm("axes.delete_accessfailurelog")
