"""The 24-hour window in the inbox follows the server, never the browser's clock: the page
shows what the room's `window_open` / `window_closes_at` say, and at the closing time asks
the server again. Each test sets the page's clock far off (Playwright's clock API) and
checks the page still follows the server."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import MessageTemplateFactory

pytestmark = [pytest.mark.slow]

NEW = "6281355550001"
JAKARTA = ZoneInfo("Asia/Jakarta")  # the browser context's zone (tests/browser/conftest.py)


def _customer_wrote(at: datetime) -> None:
    from rooms.models import Room

    assert Room.objects.filter(phone=NEW).update(last_customer_message_at=at) == 1


def _open_with_clock(inbox, browser_now: datetime) -> None:
    """Reload the inbox with the page's clock at `browser_now` (timers are faked too)."""
    inbox.page.clock.install(time=browser_now)
    inbox.page.reload()
    inbox.page.wait_for_selector("#connection[data-state=live]")
    inbox.room_row("Dewi Lestari").click()


def _local_time(at: datetime) -> re.Pattern:
    local = at.astimezone(JAKARTA)
    return re.compile(rf"{local:%H}[.:]{local:%M}")


def test_the_composer_stays_open_while_the_server_says_so_then_switches_to_templates(
    open_inbox, agent, customer
):
    MessageTemplateFactory()
    customer(NEW, "Halo")
    # By the server's clock the customer wrote 23 h 30 min ago: 30 minutes are left.
    wrote = timezone.now().replace(microsecond=0) - timedelta(hours=23, minutes=30)
    closes = wrote + timedelta(hours=24)
    _customer_wrote(wrote)
    inbox = open_inbox(agent)
    # The browser's clock is three days ahead: by its own reckoning the window is long shut.
    _open_with_clock(inbox, datetime.now(UTC) + timedelta(days=3))
    page = inbox.page

    status = page.locator("#window-status")
    expect(status).to_have_attribute("data-open", "true")
    expect(status).to_have_attribute("datetime", closes.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expect(status).to_have_text(_local_time(closes))
    # Its last hour: the header warns.
    expect(status).to_have_attribute("data-closing-soon", "true")
    expect(page.locator("#text")).to_be_enabled()
    expect(page.locator("#window-closed")).to_be_hidden()

    # The window closes on the server (here: the customer's last message is now older), and
    # the page's clock reaches the closing time the server gave: the page asks the server,
    # which says closed, and the composer offers only templates.
    _customer_wrote(wrote - timedelta(hours=2))
    page.clock.fast_forward("31:00")
    expect(status).to_have_attribute("data-open", "false")
    expect(page.locator("#window-closed")).to_be_visible()
    expect(page.locator("#text")).to_be_disabled()
    expect(page.locator("#send")).to_be_disabled()
    page.click("#window-template")
    expect(page.locator("#template-dialog")).to_be_visible()
    expect(page.locator("#template-params input")).to_have_count(2)


def test_the_composer_offers_only_templates_when_the_server_says_closed(
    open_inbox, agent, customer
):
    MessageTemplateFactory()
    customer(NEW, "Halo")
    wrote = timezone.now().replace(microsecond=0) - timedelta(hours=30)
    closed = wrote + timedelta(hours=24)
    _customer_wrote(wrote)
    inbox = open_inbox(agent)
    # The browser's clock says the customer wrote an hour ago: it would think the window open.
    _open_with_clock(inbox, wrote + timedelta(hours=1))
    page = inbox.page

    status = page.locator("#window-status")
    expect(status).to_have_attribute("data-open", "false")
    expect(status).to_have_attribute("datetime", closed.strftime("%Y-%m-%dT%H:%M:%SZ"))
    expect(status).to_have_text(_local_time(closed))
    expect(page.locator("#window-closed")).to_be_visible()
    expect(page.locator("#text")).to_be_disabled()
    page.click("#window-template")
    expect(page.locator("#template-dialog")).to_be_visible()
