"""WhatsApp's customer service window: for 24 hours after the customer's last message a
business may send anything; after that, only an approved template.

The one place this rule lives. Sends are refused by it (`messaging.services.send`), and
every payload that tells a client about the window (room rows, room events, `new_message`)
carries what it computes, so no client works it out from its own clock."""

from datetime import datetime, timedelta

from django.utils import timezone

SERVICE_WINDOW = timedelta(hours=24)


def window_closes_at(last_customer_message_at: datetime | None) -> datetime | None:
    """When the window closes (or closed); None when the customer never wrote."""
    if last_customer_message_at is None:
        return None
    return last_customer_message_at + SERVICE_WINDOW


def window_fields(last_customer_message_at: datetime | None, now=None) -> dict:
    """`window_open` (now) and `window_closes_at`, as the payloads carry them."""
    closes_at = window_closes_at(last_customer_message_at)
    return {
        "window_open": closes_at is not None and (now or timezone.now()) <= closes_at,
        "window_closes_at": closes_at,
    }
