"""Health checks: each part is checked for real (a query, a layer round trip, a storage write)."""

import asyncio
import uuid
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

LAYER_TIMEOUT_SECONDS = 2.0


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("unexpected answer to SELECT 1")


def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")

    async def roundtrip():
        channel = await layer.new_channel("health.")
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "token": token})
        reply = await asyncio.wait_for(layer.receive(channel), LAYER_TIMEOUT_SECONDS)
        if reply.get("token") != token:
            raise RuntimeError("channel layer returned another message")

    async_to_sync(roundtrip)()


def check_storage() -> None:
    payload = uuid.uuid4().hex.encode()
    name = default_storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(payload))
    try:
        with default_storage.open(name, "rb") as handle:
            if handle.read() != payload:
                raise RuntimeError("storage returned other bytes")
    finally:
        default_storage.delete(name)


QUEUE_STALE_SECONDS = 60


def check_webhook_queue() -> None:
    """Queued set-up only: bodies waiting longer than a minute mean no webhook_worker is
    running (or it cannot keep up), and customers' messages are not appearing."""
    from django.conf import settings
    from django.db.models import Min
    from django.utils import timezone

    from webhooks.models import Delivery

    if not settings.WEBHOOK_QUEUE:
        return
    waiting = Delivery.objects.filter(failed_at__isnull=True).aggregate(oldest=Min("received_at"))
    if waiting["oldest"] is not None:
        age = (timezone.now() - waiting["oldest"]).total_seconds()
        if age > QUEUE_STALE_SECONDS:
            raise RuntimeError(
                f"the oldest webhook body has waited {age:.0f} s; is webhook_worker running?"
            )


TASKS_STALE_SECONDS = 60


def check_tasks() -> None:
    """Background work (media downloads and their retries) waiting, due, for over a minute
    means no `db_worker` is running (or it cannot keep up): customers' photos never
    arrive. A task is due from when it was queued, or from its `run_after` (a retry)."""
    from django.db.models import Min, Q
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult, TaskResultStatus, get_date_max

    cutoff = timezone.now() - timedelta(seconds=TASKS_STALE_SECONDS)
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY).filter(
        Q(run_after=get_date_max(), enqueued_at__lt=cutoff) | Q(run_after__lt=cutoff)
    )
    oldest = waiting.aggregate(queued=Min("enqueued_at"))["queued"]
    if oldest is not None:
        age = (timezone.now() - oldest).total_seconds()
        raise RuntimeError(
            f"{waiting.count()} background task(s) due and waiting, the oldest queued "
            f"{age:.0f} s ago; is db_worker running?"
        )


CHECKS = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "storage": check_storage,
    "webhook_queue": check_webhook_queue,
    "tasks": check_tasks,
}


def health_report() -> tuple[int, dict]:
    """Run every check. The database is essential (503 without it); the channel layer,
    storage and waiting background work (webhook queue, tasks) are reported as degraded,
    since messages still save and clients catch up."""
    report: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            report[name] = "ok"
        except Exception as exc:  # a health check reports, it never raises
            report[name] = f"error: {type(exc).__name__}: {str(exc)[:200]}"
    if report["database"] != "ok":
        return 503, {"status": "error", "failing": ["database"], **report}
    failing = [name for name, value in report.items() if value != "ok"]
    status = "degraded" if failing else "ok"
    body = {"status": status, **report}
    if failing:
        body["failing"] = failing
    return 200, body
