"""Writes for webhook bodies in the queued set-up (WEBHOOK_QUEUE=true): keep a verified
body in one INSERT, then turn kept bodies into messages in batches (webhook_worker).

A batch of bodies is handled in one transaction with their removal from the queue, oldest
first, so updates keep Meta's order and a crash half-way leaves the bodies to do again. A
body that fails on its own is retried, then kept with its error (admin: Deliveries).
"""

import logging
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from boztell.bulk import insert_returning_ids
from boztell.realtime import deferred_broadcasts
from hours.selectors import AWAY_MESSAGE_ON_SQL
from messaging.services import updates_process
from webhooks.models import Delivery
from webhooks.parsing import body_load, parse_body

logger = logging.getLogger("boztell.webhooks")

MAX_ATTEMPTS = 5
# The database itself is unreachable: nothing to blame on a body; the worker waits.
UNAVAILABLE = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class Batch:
    bodies: int = 0
    updates: int = 0
    failed: int = 0


def delivery_store(*, body: str) -> int:
    """Keep a verified body (its JSON text); a trigger wakes the worker (PostgreSQL
    NOTIFY). One statement, committed before the view answers."""
    (delivery_id,) = insert_returning_ids([Delivery(body=body)])
    return delivery_id


def deliveries_process(*, limit: int = 500) -> Batch:
    """Handle up to `limit` waiting bodies, oldest first, in one transaction. If that
    fails, each body goes alone, so one bad body never holds up the others."""
    rows: list = []
    try:
        with deferred_broadcasts(), transaction.atomic():
            rows, away_on = _deliveries_take(limit)
            if not rows:
                return Batch()
            updates = [u for _, body in rows for u in parse_body(body_load(body)).updates]
            after_stored(updates_process(updates=updates), away_on=away_on)
        return Batch(bodies=len(rows), updates=len(updates))
    except UNAVAILABLE:
        raise
    except Exception:
        if not rows:
            raise
        logger.exception("webhook batch failed; handling its %d bodies one by one", len(rows))
    failed = sum(not _delivery_process_alone(pk) for pk, _ in rows)
    return Batch(bodies=len(rows), failed=failed)


def after_stored(outcomes, *, away_on: bool | None = None) -> None:
    """What follows a body's stored customer messages: the away message while the team is
    closed, queued (never sent here; the Graph API is not called on the webhook path).
    `away_on`: whether the away message is on, when the caller read it in the batch."""
    from hours.services import away_messages_enqueue

    created = [o.message for o in outcomes if o.result == "created" and o.message is not None]
    if not created:
        return
    try:
        away_messages_enqueue(messages=created, on=away_on)
    except Exception:
        # The messages are stored (and their events queued): an away message is not worth
        # failing, and redelivering, a webhook for.
        logger.exception("away messages not queued")


_WAITING = "SELECT id FROM webhook_deliveries WHERE failed_at IS NULL ORDER BY id LIMIT %s"
# The same statement answers whether the away message is on (hours.selectors), which the
# batch needs after its customer messages: one trip, not two.
_RETURNING = f"RETURNING id, body, {AWAY_MESSAGE_ON_SQL}"
_TAKE = f"DELETE FROM webhook_deliveries WHERE id IN ({_WAITING}) {_RETURNING}"  # noqa: S608
# PostgreSQL: two workers never take the same body.
_TAKE_LOCKED = (
    f"DELETE FROM webhook_deliveries WHERE id IN ({_WAITING} FOR UPDATE SKIP LOCKED) "  # noqa: S608
    f"{_RETURNING}"
)


def _deliveries_take(limit: int) -> tuple[list[tuple[int, str]], bool]:
    """Remove up to `limit` waiting bodies, oldest first, and return them, with whether
    the away message is on: one statement. The removal commits with what the bodies
    carry, or rolls back with it."""
    take = _TAKE_LOCKED if connection.vendor == "postgresql" else _TAKE
    with connection.cursor() as cursor:
        cursor.execute(take, [limit])
        rows = sorted(cursor.fetchall())  # RETURNING keeps no order
    return [(pk, body) for pk, body, _ in rows], bool(rows and rows[0][2])


def _delivery_process_alone(delivery_id: int) -> bool:
    try:
        with deferred_broadcasts(), transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(pk=delivery_id, failed_at__isnull=True)
                .first()
            )
            if delivery is None:
                return True
            after_stored(updates_process(updates=parse_body(body_load(delivery.body)).updates))
            delivery.delete()
        return True
    except UNAVAILABLE:
        raise
    except Exception as exc:
        logger.exception("webhook delivery %s failed", delivery_id)
        _delivery_record_failure(delivery_id, exc)
        return False


def _delivery_record_failure(delivery_id: int, exc: Exception) -> None:
    Delivery.objects.filter(pk=delivery_id).update(
        attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
    )
    Delivery.objects.filter(pk=delivery_id, attempts__gte=MAX_ATTEMPTS).update(
        failed_at=timezone.now()
    )


def delivery_retry(*, delivery_ids: list[int]) -> int:
    """Put bodies that failed for good back in the queue (admin action)."""
    return Delivery.objects.filter(pk__in=delivery_ids, failed_at__isnull=False).update(
        failed_at=None, attempts=0
    )
