"""Browser tests: Playwright driving Debian's Chromium against a live daphne server (real
HTTP, real WebSocket) on the test database."""

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.helpers import (
    PAGE_SERVER_STOP_SECONDS,
    post_live,
    process_env,
    spawn_daphne,
    stop,
    wait_port,
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

# Every document reports its Content-Security-Policy violations to the test (Playwright's
# init script and binding are injected by the browser's devtools protocol, outside the CSP).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspSeen = (window.__cspSeen || 0) + 1;
  window.__cspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
    `in ${event.documentURI} (${event.sourceFile}:${event.lineNumber}) ${event.sample}`
  );
});
"""


def watch_csp(context, violations: list[str]) -> None:
    """Record every CSP violation in this browser context's pages into `violations`.

    The pages allow no eval: give Playwright's wait_for_function a function
    ("() => ..."), not a bare expression, which it would eval inside the page."""
    context.expose_function("__cspViolation", lambda text: violations.append(text))
    context.add_init_script(CSP_LISTENER)

    def on_page(page):
        page.on(
            "console",
            lambda m: "Content Security Policy" in m.text and violations.append(m.text),
        )

    context.on("page", on_page)


@pytest.fixture(autouse=True)
def csp_violations():
    """Any CSP violation seen by a browser test fails it."""
    violations: list[str] = []
    yield violations
    assert violations == [], f"Content-Security-Policy violations: {violations}"


class PageServers:
    """A daphne of its own for each browser test, booted while the test before it runs: each
    test still gets a process that has served nobody, without waiting ~1 s for its boot
    (which touches neither the database nor Redis)."""

    def __init__(self, env):
        self.env = env
        self.spare = spawn_daphne(env)

    def take(self):
        proc, port = self.spare
        self.spare = spawn_daphne(self.env)  # the next test's
        wait_port(port, proc=proc)
        return proc, port

    def close(self):
        stop(self.spare[0], timeout=PAGE_SERVER_STOP_SECONDS)


@pytest.fixture(scope="session")
def page_servers(django_db_setup, tmp_path_factory):
    servers = PageServers(
        process_env(
            tmp_path_factory.mktemp("page-server-logs"),
            DJANGO_SETTINGS_MODULE="tests.settings",
            WHATSAPP_SANDBOX_STATUS_DELAYS="0.3,0.3,0.3",
        )
    )
    yield servers
    servers.close()


@pytest.fixture
def inbox_server(transactional_db, page_servers):
    proc, port = page_servers.take()
    yield f"http://127.0.0.1:{port}"
    stop(proc, timeout=PAGE_SERVER_STOP_SECONDS)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests (each test opens contexts of its own), closed when
    they are done: Playwright's loop must be gone before async tests in other modules."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is required for the browser tests ({CHROMIUM}); "
            "scripts/test installs Debian's chromium package."
        )
    # Playwright's sync API keeps an event loop running in this thread; Django's ORM
    # refuses to run beside one unless told it is safe, which it is here (one thread).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


class Agent:
    """A logged-in browser page, with the console errors it saw."""

    def __init__(self, browser, base_url, user, password, viewport, csp_violations):
        self.context = browser.new_context(
            viewport=viewport, base_url=base_url, timezone_id="Asia/Jakarta", locale="id-ID"
        )
        self.context.set_default_timeout(10_000)
        watch_csp(self.context, csp_violations)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto("/login/")
        self.page.fill("#id_username", user.username)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/inbox/")
        self.page.wait_for_selector("#connection[data-state=live]")

    def room_row(self, title):
        return self.page.locator(".room-row", has_text=title)

    def expect_joined(self, room_id):
        """Wait until the socket has joined the room: its live events reach this page."""
        from playwright.sync_api import expect

        expect(self.page.locator("#app")).to_have_attribute("data-joined-room", str(room_id))

    def screenshot(self, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.fixture
def open_inbox(browser, inbox_server, csp_violations):
    agents = []

    def make(user, password="pass-word-123", viewport=None):  # noqa: S107 - the factory's
        agent = Agent(
            browser,
            inbox_server,
            user,
            password,
            viewport or {"width": 1280, "height": 800},
            csp_violations,
        )
        agents.append(agent)
        return agent

    yield make
    errors = [e for agent in agents for e in agent.errors]
    for agent in agents:
        agent.context.close()
    assert errors == [], f"errors in the browser console: {errors}"


@pytest.fixture
def customer(inbox_server):
    """A customer writing over WhatsApp: signed webhooks to the live server."""
    counter = {"n": 0}

    def write(phone, text, name="Dewi Lestari", kind="text", body=None):
        counter["n"] += 1
        message = {
            "from": phone,
            "id": f"wamid.BROWSER-{phone}-{counter['n']}-{time.time()}",
            "timestamp": str(int(time.time())),
            "type": kind,
            kind: body or {"body": text},
        }
        envelope = {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "W",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "62811",
                                    "phone_number_id": "1",
                                },
                                "contacts": [{"profile": {"name": name}, "wa_id": phone}],
                                "messages": [message],
                            },
                        }
                    ],
                }
            ],
        }
        response = post_live(inbox_server, envelope)
        assert response.status_code == 200, response.text
        return message["id"]

    return write
