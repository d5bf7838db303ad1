"""Every page and API answer carries the Content-Security-Policy; pages need no inline
script, and the one inline style (the API docs') carries the request's nonce."""

import re

import pytest

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (
            part.split() for part in response["Content-Security-Policy"].split(";") if part.strip()
        )
    }


def _strict(policy):
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert all(v.startswith("'nonce-") for v in policy["script-src"][1:])
    assert policy["style-src"][0] == "'self'"
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    assert policy["media-src"] == ["'self'", "blob:"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in v for values in policy.values() for v in values)


def _no_inline_script(html: str):
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    assert " style=" not in html, "no inline style attributes"


def test_pages_carry_a_strict_policy_and_no_inline_script(client, supervisor):
    login = client.get("/login/")
    _strict(_policy(login))
    _no_inline_script(login.content.decode())

    client.force_login(supervisor)
    for path in ("/inbox/", "/admin/", "/admin/messaging/messagetemplate/"):
        response = client.get(path)
        assert response.status_code == 200, path
        _strict(_policy(response))
        if not path.startswith("/admin/"):
            _no_inline_script(response.content.decode())
    template_list = client.get("/admin/messaging/messagetemplate/").content.decode()
    assert "Sync from WhatsApp" in template_list and " style=" not in template_list


def test_api_answers_carry_the_policy_too(agent_api, client):
    _strict(_policy(agent_api.get("/api/me")))
    _strict(_policy(client.get("/health")))


def test_the_api_docs_page_runs_no_inline_script_and_nonces_its_style(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    policy = _policy(page)
    _strict(policy)
    html = page.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    nonce = re.search(r'<style nonce="([^"]+)">', html).group(1)
    assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    script_url = re.findall(r'<script src="([^"]+)"', html)[-1].replace("&amp;", "&")
    script = client.get(script_url)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert '"validatorUrl": null' in script.content.decode(), "no third-party validator badge"
