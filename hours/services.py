"""The away message: a customer who writes while the team is closed gets it once per
room per closed period, inside the 24-hour window, from the system user, unless an agent
is already answering them.

The inbound path only decides whether a message arrived while closed (no Graph API call,
no lock) and queues `away_message_send` after the commit; the task (db_worker) decides
for good and sends through the normal send service.

"An agent is already answering": a message from a person (not the system user) in the
room within AwayMessage.quiet_minutes before the customer's message, or any time after
it. Checked under the room's row lock, which an agent's send also takes.

Once per closed period: AwayMessageSent is unique per (room, period_start) and its row
is committed before the Graph API is called, so concurrent tasks for a burst (or two
workers) send it at most once; a send that then fails is not retried (at most once,
never twice).
"""

import contextlib
import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from hours.models import AwayMessage, AwayMessageSent
from hours.selectors import away_message_on, business_schedule

logger = logging.getLogger("boztell.hours")

NOT_TRIGGERING = frozenset({"reaction", "system"})


def away_messages_enqueue(*, messages: list, on: bool | None = None) -> int:
    """After customer messages were stored (webhook path): queue one away-message task per
    room whose latest new message came while closed. `on`: whether the away message is
    on, when the caller read it in the same transaction (else one small query). Two more
    when it is on; nothing is sent here. Returns how many were queued."""
    if on is False:
        return 0
    latest: dict = {}
    for message in messages:
        if message is None or message.user_id is not None:
            continue
        if message.content_type in NOT_TRIGGERING:
            continue
        room_id = message.room_id
        if room_id not in latest or message.created_at > latest[room_id]:
            latest[room_id] = message.created_at
    # Off (or no text): one plain statement, and no savepoint's two round trips either.
    if not latest or not (on or away_message_on()):
        return 0
    # Inside a worker's batch a savepoint keeps a failure here from breaking the batch;
    # in autocommit (the web process) there is nothing to protect: no extra round trips.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    queued = 0
    with guard:
        schedule = business_schedule()
        for room_id, at in latest.items():
            if schedule.is_open(at):
                continue
            _enqueue(room_id=room_id, at=at)
            queued += 1
    return queued


def _enqueue(*, room_id, at: datetime) -> None:
    from django_tasks import default_task_backend

    from hours.tasks import away_message_send

    args = (str(room_id), at.isoformat())
    if default_task_backend.supports_defer:  # a database queue: the row commits with ours
        away_message_send.enqueue(*args)
    else:
        transaction.on_commit(lambda: away_message_send.enqueue(*args))


def away_message_reply(*, room_id, at: datetime) -> str:
    """Send the away message to the room for a customer message stored at `at`, if it
    still should go; returns what happened (sent, failed, or why not)."""
    from boztell.services import system_user
    from messaging.errors import SendFailed
    from messaging.models import Message
    from messaging.services.send import message_send_automatic_text, window_is_open
    from rooms.models import Room

    away = AwayMessage.objects.filter(pk=1).first()
    if away is None or not away.enabled or not away.text.strip():
        return "disabled"
    schedule = business_schedule()
    period = schedule.closed_period_start(at)
    if period is None:
        return "open"
    if schedule.is_open(timezone.now()):
        return "open_now"  # the team opened before the job ran: an agent will answer
    system = system_user()
    with transaction.atomic():
        room = Room.objects.select_for_update().filter(pk=room_id).first()
        if room is None:
            return "no_room"  # merged away since; the other room's task decides
        if not window_is_open(room):
            return "window_closed"
        answering = (
            Message.objects.filter(
                room=room,
                user__isnull=False,
                created_at__gte=at - timedelta(minutes=away.quiet_minutes),
            )
            .exclude(user=system)
            .exists()
        )
        if answering:
            return "agent_answering"
        try:
            with transaction.atomic():
                claim = AwayMessageSent.objects.create(room=room, period_start=period)
        except IntegrityError:
            return "already_sent"
    try:
        message = message_send_automatic_text(
            room=room, sender=system, text=away.text.strip(), kind="away_message"
        )
    except SendFailed as exc:
        AwayMessageSent.objects.filter(pk=claim.pk).update(
            message_id=(exc.details or {}).get("message_id")
        )
        logger.warning("away message failed room=%s code=%s", room_id, exc.code)
        return "failed"
    AwayMessageSent.objects.filter(pk=claim.pk).update(message=message)
    logger.info("away message sent room=%s message=%s", room_id, message.pk)
    return "sent"
