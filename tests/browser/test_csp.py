"""The Content-Security-Policy holds on every page in Chromium: login, inbox, admin, the
API docs and the lockout page work with it on and cause no violation."""

import pytest
from playwright.sync_api import expect

from rooms.models import Room
from tests.browser.conftest import SCREENSHOTS, watch_csp

pytestmark = pytest.mark.slow


def _policy(response) -> dict[str, list[str]]:
    header = response.headers["content-security-policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def test_every_page_works_under_the_csp_with_no_violation(
    open_inbox, supervisor, customer, csp_violations
):
    customer("6281200000501", "Halo, saya mau tanya cicilan")
    boss = open_inbox(supervisor)
    page = boss.page
    expect(boss.room_row("Dewi Lestari")).to_be_visible()
    boss.room_row("Dewi Lestari").click()
    expect(page.locator("#messages")).to_contain_text("cicilan")

    inbox = page.request.get("/inbox/")
    policy = _policy(inbox)
    assert policy["script-src"] == ["'self'"], "no inline script needed on the inbox"
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    assert not any("unsafe" in v for values in policy.values() for v in values)

    room = Room.objects.get()
    for path, marker in (
        ("/admin/", "#content-main"),
        ("/admin/rooms/room/", "#result_list"),
        (f"/admin/rooms/room/{room.pk}/change/", ".inline-group"),
        ("/admin/messaging/messagetemplate/", "#changelist"),
        ("/admin/axes/accessattempt/", "#changelist"),
        ("/admin/leads/lead/add/", "form"),
        (f"/admin/boztell/user/{supervisor.pk}/change/", "form"),
        ("/admin/boztell/user/add/", "form"),
    ):
        response = page.goto(path)
        assert response.status == 200, path
        assert "content-security-policy" in response.headers, path
        expect(page.locator(marker).first).to_be_visible()

    # Admin's own scripts run: the navigation sidebar opens and closes through JS.
    page.goto("/admin/rooms/room/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    main = page.locator("#main")
    opened = "shifted" in (main.get_attribute("class") or "")
    page.click("#toggle-nav-sidebar")
    if opened:
        expect(main).not_to_have_class("shifted")
    else:
        expect(main).to_have_class("main shifted")

    docs = page.goto("/api/docs/")
    nonce = _policy(docs)["style-src"][1]
    assert nonce.startswith("'nonce-")
    assert "unsafe-inline" not in docs.headers["content-security-policy"]
    # Swagger UI rendered the schema's operations: its start-up script ran from a URL.
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/messages/send")).not_to_have_count(0)

    assert csp_violations == []


def test_the_login_and_lockout_pages_work_under_the_csp(
    browser, inbox_server, agent, csp_violations
):
    context = browser.new_context(base_url=inbox_server)
    context.set_default_timeout(10_000)
    watch_csp(context, csp_violations)
    page = context.new_page()
    for path in ("/login/", "/admin/login/"):
        page.goto(path)
        expect(page.locator("#id_username")).to_be_visible()
    page.goto("/login/")
    for n in range(5):
        page.fill("#id_username", agent.username)
        page.fill("#id_password", f"wrong-{n}")
        page.click("button[type=submit]")
        page.wait_for_load_state()
    expect(page.locator("#locked-out")).to_contain_text("Too many failed sign-in attempts")
    expect(page.locator("#locked-out")).to_contain_text("15 minutes")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "locked-out.png"))
    context.close()
    assert csp_violations == []


def test_a_violation_is_caught_by_the_watch(browser, inbox_server, csp_violations):
    """The watch itself: an inline script in a page is refused and reported."""
    context = browser.new_context(base_url=inbox_server)
    watch_csp(context, csp_violations)
    page = context.new_page()
    page.goto("/login/")
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.__ran = true";
            document.body.append(s);
        }"""
    )
    page.wait_for_function("() => window.__cspSeen > 0")
    assert page.evaluate("() => window.__ran === undefined"), "the inline script was refused"
    context.close()
    seen = list(csp_violations)
    csp_violations.clear()
    assert any("script-src" in v for v in seen), seen
