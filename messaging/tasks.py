"""Background work: fetch a customer's media from Meta into our storage, with retries.

Runs after the webhook has answered (production: `manage.py db_worker`). The task row is
written in the same transaction as the message, so a stored media message always has
its fetch queued.
"""

import logging
import tempfile
import time
from datetime import timedelta

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_tasks import default_task_backend, task

from messaging import whatsapp
from messaging.media import MEDIA_LIMITS, media_extension, media_id_valid
from messaging.models import Message
from messaging.services import message_media_attempt_failed, message_media_stored

logger = logging.getLogger("boztell.media")

MB = 1024 * 1024
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = 15  # 15s, 30s, 60s, 2m, 4m between attempts


def backoff(attempt: int) -> timedelta:
    return timedelta(seconds=BACKOFF_SECONDS * 2 ** (attempt - 1))


def _transactional_queue() -> bool:
    """A database-backed queue writes its row in our transaction; others run at once."""
    return default_task_backend.supports_defer


def media_fetch_enqueue(*, message: Message, attempt: int = 1) -> None:
    args = (str(message.pk), attempt)
    if _transactional_queue():
        media_fetch.using(
            run_after=(timezone.now() + backoff(attempt - 1)) if attempt > 1 else None
        ).enqueue(*args)
    else:
        transaction.on_commit(lambda: media_fetch.enqueue(*args))


def storage_name(message: Message, mime_type: str | None) -> str:
    """Ours only: ids we made and an extension from our table, never the customer's name."""
    return f"whatsapp/{message.room_id}/{message.pk}{media_extension(mime_type)}"


@task()
def media_fetch(message_id: str, attempt: int = 1) -> str:
    message = Message.objects.filter(pk=message_id).first()
    if message is None or message.gcs_filename:
        return "done"
    limit = MEDIA_LIMITS.get(message.media_type or "", 100 * MB)
    if not media_id_valid(message.media_id):
        # Never a path or a URL piece: the message is kept, its media marked failed.
        logger.warning("media refused message=%s reason=invalid_media_id", message_id)
        message_media_attempt_failed(
            message_id=message_id,
            error="invalid_media_id: the media id is not an opaque WhatsApp id.",
            final=True,
            attempt=attempt,
        )
        return "invalid_media_id"
    try:
        info = whatsapp.get_media_info(message.media_id)
        if info.file_size and info.file_size > limit:
            raise whatsapp.MediaTooLarge(
                f"The {message.media_type} is {info.file_size} bytes; "
                f"WhatsApp allows {limit} bytes."
            )
        with tempfile.SpooledTemporaryFile(max_size=8 * MB) as buffer:
            size = whatsapp.download_media(info.url, max_bytes=limit, into=buffer)
            buffer.seek(0)
            mime_type = info.mime_type or message.mime_type
            name = default_storage.save(storage_name(message, mime_type), File(buffer))
    except whatsapp.MediaTooLarge as exc:
        logger.warning("media refused message=%s reason=too_large", message_id)
        message_media_attempt_failed(
            message_id=message_id,
            error=f"media_too_large: {exc.message}",
            final=True,
            attempt=attempt,
        )
        return "too_large"
    except whatsapp.GraphError as exc:
        final = attempt >= MAX_ATTEMPTS or not exc.retryable
        logger.warning(
            "media fetch failed message=%s attempt=%s final=%s http=%s",
            message_id,
            attempt,
            final,
            exc.http_status,
        )
        message_media_attempt_failed(
            message_id=message_id, error=exc.message, final=final, attempt=attempt
        )
        if not final:
            with transaction.atomic():
                media_fetch_enqueue(message=message, attempt=attempt + 1)
        return "failed" if final else "retrying"
    message_media_stored(message_id=message_id, name=name, size=size, mime_type=mime_type)
    logger.info("media stored message=%s bytes=%s", message_id, size)
    return "stored"


# --- kept statuses -----------------------------------------------------------------------

# Seconds after a status is kept until a sweep looks, then again while young kept statuses
# are still unmatched. A sender stores its wamid in one short transaction, so the first
# look nearly always finds it; the later ones cover a slow commit.
SWEEP_AFTER = (2, 10, 60)
_sweep_queued_until = 0.0  # per process: a sweep is queued that will see what is kept now


def pending_statuses_sweep_soon() -> None:
    """A status was kept for a message whose wamid is not stored (yet). Its sender applies
    it when it stores the wamid, except in one race: each transaction looked before the
    other committed (the webhook found no wamid, the sender found no kept status). A
    sweep queued for a little later applies it, run by `db_worker`, which both Procfiles
    start; no campaign worker is needed. At most one is queued per process every
    SWEEP_AFTER[0] seconds (a burst of kept statuses queues one).

    Not on a queue that cannot wait (the embedded default runs tasks inline): there SQLite
    runs one writing transaction at a time (transaction_mode IMMEDIATE), so the webhook's
    transaction sees the sender's wamid or the sender sees the kept status: no race."""
    global _sweep_queued_until
    if not _transactional_queue():
        return
    now = time.monotonic()
    if now < _sweep_queued_until:
        return
    _sweep_queued_until = now + SWEEP_AFTER[0]
    pending_statuses_sweep_later.using(
        run_after=timezone.now() + timedelta(seconds=SWEEP_AFTER[0])
    ).enqueue(1)


@task()
def pending_statuses_sweep_later(attempt: int = 1) -> int:
    """Apply kept statuses whose message has its wamid by now; look again later while kept
    statuses from the last minute or so are still unmatched (a status for a message sent
    from elsewhere never matches: it stops being looked for after the last delay)."""
    from messaging.models import PendingStatus
    from messaging.services.receive import pending_statuses_sweep

    applied = pending_statuses_sweep()
    horizon = timezone.now() - timedelta(seconds=sum(SWEEP_AFTER))
    young = PendingStatus.objects.filter(created_at__gte=horizon)
    if attempt < len(SWEEP_AFTER) and young.exists():
        with transaction.atomic():
            pending_statuses_sweep_later.using(
                run_after=timezone.now() + timedelta(seconds=SWEEP_AFTER[attempt])
            ).enqueue(attempt + 1)
    if applied:
        logger.info("kept statuses applied by the sweep: %d", applied)
    return applied
