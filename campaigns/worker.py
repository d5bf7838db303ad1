"""The campaign worker: sends each recipient at most once, paced, and records what Meta
said (`manage.py campaign_worker`).

Sent once (DESIGN.md invariant 14):
- a worker runs a campaign only while it holds that campaign's PostgreSQL advisory lock
  (session-level, on its own connection: a dead worker's lock goes with its connection),
  so two workers never run the same campaign;
- a batch of recipients is marked `sending`, with its pending messages stored, in one
  committed transaction before Meta is called for any of them; Meta's answers are
  recorded after (`sent`, `failed`, or back to `queued` when Meta refused to take it);
- a worker that takes a campaign first marks rows left `sending` as `unknown`: their
  send may or may not have reached Meta, so they are shown and never sent by themselves.

Paced (campaigns/pacing.py): a token bucket per business number, shared by every worker
process through Redis; Meta's pair rate per customer; growing back-off after
130429/131056. The campaign's status is re-read every 0.2 s, so pause, resume and cancel
take effect within a second.
"""

import contextlib
import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns import pacing
from campaigns.events import emit_campaign_progress
from campaigns.models import Campaign, CampaignRecipient
from campaigns.selectors import RETRIED_131049
from campaigns.services import (
    campaign_pause,
    campaigns_reopen_for_retries,
    recipients_drop_opted_out_retries,
    recipients_mark_unknown,
    retries_waiting_reason,
)
from messaging import whatsapp
from messaging.events import emit_message_statuses, emit_messages_created, emit_rooms_created
from messaging.models import Message, PendingStatus
from messaging.services.customers import room_for_customer
from messaging.services.receive import pending_statuses_sweep
from messaging.services.rules import room_list_rows, rooms_record
from rooms.models import Room
from rooms.selectors import (
    assigned_user_ids_from_sql,
    assigned_user_ids_sql,
    rooms_audience,
)

logger = logging.getLogger("boztell.campaigns")

LOCK_NS = 0x63616D70  # "camp": advisory lock namespace (campaign locks: hashtext(id))
PROGRESS_KEY = 0  # in LOCK_NS: the one worker that reports progress of finished campaigns
STATUS_EVERY = 0.2  # seconds between re-reads of the campaign's status
PROGRESS_EVERY = 1.0  # campaign_progress at most this often
MAX_BATCH = 200  # recipients claimed in one transaction
RECORD_EVERY = 0.1  # seconds: Meta's answers recorded together
# What a running campaign re-reads (never its uploaded rows).
LIVE_FIELDS = ["name", "status", "status_reason", "version", "started_at", "finished_at"]
HOURS_EVERY = 5.0  # seconds between looks at the business hours (only_business_hours)

R = CampaignRecipient.Status


# --- the lock connection -----------------------------------------------------------------


class Locks:
    """Session advisory locks on a connection of our own (autocommit). On SQLite (the
    embedded default, one worker) every lock is granted."""

    def __init__(self):
        self.conn = None
        if connection.vendor == "postgresql":
            import psycopg

            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            params["application_name"] = f"campaign_worker:{os.getpid()}"
            self.conn = psycopg.connect(**params, autocommit=True)

    def try_lock(self, key: str) -> bool:
        if self.conn is None:
            return True
        row = self.conn.execute(
            "SELECT pg_try_advisory_lock(%s, hashtext(%s))", [LOCK_NS, key]
        ).fetchone()
        return bool(row[0])

    def unlock(self, key: str) -> None:
        if self.conn is not None:
            self.conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [LOCK_NS, key])

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


# --- one campaign's run -----------------------------------------------------------------


@dataclass
class Job:
    recipient_id: int
    message_id: object
    room_id: object
    payload: dict
    attempts: int


class Senders:
    """Threads that make the Graph calls, nothing else (no database): jobs in, Meta's
    answers out as (job, result, error). Two queues cost a send less than an executor's
    futures and waiting on them."""

    def __init__(self, size: int):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.answers: queue.SimpleQueue = queue.SimpleQueue()
        self.threads = [
            threading.Thread(target=self._run, name=f"campaign-send-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            self.answers.put((job, *_send(job.payload)))

    def close(self) -> None:
        """Sends in flight are answered first."""
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()


def _send(payload: dict):
    """In a sender thread: only the HTTP call, no database."""
    try:
        return whatsapp.send_message(payload, retry_throttled=False), None
    except whatsapp.GraphError as exc:
        return None, exc
    except Exception as exc:  # a bug or a broken connection: the outcome is unknown
        logger.exception("campaign send crashed")
        return None, exc


_UPDATE_SENT = """
    UPDATE messages AS m SET wa_message_id = v.wamid, status = v.status,
        status_timestamp = v.at, metadata = m.metadata || v.details, updated_at = v.now
    FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::timestamptz[], %b::jsonb[],
                %b::timestamptz[]) AS v(id, wamid, status, at, details, now)
    WHERE m.id = v.id AND m.status = 'pending'
    RETURNING m.room_id, {audience}
"""
_MARK_SENDING = """
    UPDATE campaign_recipients AS r SET status = 'sending', room_id = v.room,
        message_id = v.message, attempts = r.attempts + 1, next_attempt_at = NULL,
        updated_at = v.now
    FROM unnest(%b::bigint[], %b::uuid[], %b::uuid[], %b::timestamptz[])
        AS v(id, room, message, now)
    WHERE r.id = v.id
    RETURNING v.room, {audience}
"""


class CampaignRun:
    def __init__(
        self,
        campaign: Campaign,
        *,
        senders: "Senders",
        concurrency: int,
        stopping: threading.Event,
        rate: float | None = None,
    ):
        self.campaign = campaign
        self.senders = senders
        self.concurrency = concurrency
        self.stopping = stopping
        self.bucket = pacing.bucket_for(campaign.phone_number_id, rate)
        self.pair = timedelta(seconds=settings.CAMPAIGN_PAIR_RATE_SECONDS)
        self.in_flight: dict[int, Job] = {}  # by recipient id: claimed, not yet recorded
        self.answered: list[tuple] = []  # (job, result, error) of those Meta answered
        self.template = {
            "name": campaign.template.name,
            "language": campaign.template.language,
        }
        self.sent = 0
        self.halted = False  # this run paused the campaign itself (expired token)
        # A claim is one transaction whatever its size: with many sends in flight, claim
        # when half the pipe is free (fewer, bigger transactions; never an empty pipe).
        self.min_claim = max(1, min(64, concurrency // 2))
        self.batch_tokens = max(1, min(MAX_BATCH, int(self.bucket.rate / 10)))

    # The loop ----------------------------------------------------------------------------

    def run(self) -> str:
        campaign = self.campaign
        unknown = recipients_mark_unknown(campaign=campaign)
        if unknown:
            logger.warning("campaign %s: %d in-flight sends marked unknown", campaign.pk, unknown)
        emit_campaign_progress(campaign=campaign)
        next_check = 0.0
        next_progress = time.monotonic() + PROGRESS_EVERY
        idle_until = 0.0
        next_record = 0.0
        next_hours_check = 0.0
        while True:
            now = time.monotonic()
            if now >= next_check or self.halted:
                next_check = now + STATUS_EVERY
                status = self._status()
                if status == Campaign.Status.RUNNING and now >= next_hours_check:
                    next_hours_check = now + HOURS_EVERY
                    if campaign.only_business_hours and not pacing.inside_business_hours(
                        timezone.now()
                    ):
                        status = "outside_hours"  # held, running, until the team opens
                if status != Campaign.Status.RUNNING or self.stopping.is_set():
                    self._drain()
                    self._progress()
                    logger.info("campaign %s: sending stopped (%s)", campaign.pk, status)
                    return "stopped" if status == Campaign.Status.RUNNING else status

                self._requeue_frequency_capped()
            free = self.concurrency - len(self.in_flight)
            # Claim in batches (a claim is one transaction whatever its size): a tenth of a
            # second's tokens at a time, or what the free slots take; never leave the pipe
            # empty.
            batch = min(free, self.batch_tokens)
            batch_ready = free >= self.min_claim or (free > 0 and not self.in_flight)
            if batch_ready and now >= idle_until and self.bucket.available() >= batch:
                n = self.bucket.take(min(free, MAX_BATCH))
                if n:
                    jobs = self._claim(n)
                    self.bucket.give_back(n - len(jobs))  # unused tokens go back
                    for job in jobs:
                        self.in_flight[job.recipient_id] = job
                        self.senders.jobs.put(job)
                    if not jobs and not self.in_flight:
                        if self._finished():
                            return self._done()
                        idle_until = now + STATUS_EVERY  # waiting for a retry time
            self._collect()
            # Answers are recorded together (one transaction), every RECORD_EVERY at most.
            if self.answered and (now >= next_record or self._all_answered()):
                self._record()
                next_record = now + RECORD_EVERY
            if now >= next_progress:
                next_progress = now + PROGRESS_EVERY
                pending_statuses_sweep()
                self._progress()
            timeout = max(
                0.001,
                min(
                    self.bucket.wait_seconds(max(1, min(self.batch_tokens, free))),
                    next_check - time.monotonic(),
                    next_record - time.monotonic() if self.answered else STATUS_EVERY,
                ),
            )
            if self._all_answered():
                time.sleep(timeout)
            else:  # until all are answered (claim again at once) or the timeout
                self._collect(until=time.monotonic() + timeout)

    def _status(self) -> str:
        return Campaign.objects.filter(pk=self.campaign.pk).values_list("status", flat=True).first()

    def _progress(self) -> None:
        self.campaign.refresh_from_db(fields=LIVE_FIELDS)
        emit_campaign_progress(campaign=self.campaign)

    def _drain(self) -> None:
        """Pause, cancel or stop: what is in flight is answered and recorded; nothing new."""
        while not self._all_answered():
            self._collect(until=time.monotonic() + 1.0)
        if self.answered:
            self._record()
        pending_statuses_sweep()

    def _all_answered(self) -> bool:
        return len(self.answered) == len(self.in_flight)

    def _collect(self, until: float | None = None) -> None:
        """Take Meta's answers that came in; with `until`, wait for them until then, or
        until every send in flight is answered."""
        answers = self.senders.answers
        while not self._all_answered():
            try:
                if until is None:
                    answer = answers.get_nowait()
                else:
                    answer = answers.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                return
            job = answer[0]
            if self.in_flight.get(job.recipient_id) is job:  # not a dead run's leftover
                self.answered.append(answer)

    def _finished(self) -> bool:
        """Nothing left to send now. A 131049 retry hours away does not hold the campaign
        (nor this worker, which other campaigns may need): it is done, and runs again when
        the retry is due (campaigns_reopen_for_retries)."""
        waiting = CampaignRecipient.objects.filter(campaign=self.campaign).filter(
            Q(status__in=(R.QUEUED, R.SENDING))
            | Q(status=R.FAILED, reason="meta_131049", next_attempt_at__lte=timezone.now())
        )
        return not waiting.exists()

    def _done(self) -> str:
        pending_statuses_sweep()
        with transaction.atomic():
            updated = Campaign.objects.filter(
                pk=self.campaign.pk, status=Campaign.Status.RUNNING
            ).update(
                status=Campaign.Status.DONE,
                finished_at=timezone.now(),
                status_reason=retries_waiting_reason(campaign=self.campaign),
            )
            self.campaign.refresh_from_db(fields=LIVE_FIELDS)
            emit_campaign_progress(campaign=self.campaign)
        logger.info("campaign done id=%s sent=%d", self.campaign.pk, self.sent)
        return Campaign.Status.DONE if updated else self.campaign.status

    def _requeue_frequency_capped(self) -> None:
        """Meta's 131049: again after the campaign's delay, only if it allows it."""
        if self.campaign.retry_frequency_capped_hours is None:
            return
        due = CampaignRecipient.objects.filter(
            campaign=self.campaign,
            status=R.FAILED,
            reason="meta_131049",
            next_attempt_at__lte=timezone.now(),
        )
        # Hours have passed since the audience was frozen: an opt-out meanwhile holds.
        recipients_drop_opted_out_retries(campaign=self.campaign, recipients=due)
        # The row remembers its one retry (reason RETRIED_131049 until Meta answers again):
        # a second 131049 fails it for good.
        due.update(
            status=R.QUEUED, next_attempt_at=None, reason=RETRIED_131049, updated_at=timezone.now()
        )

    # Claim: mark sending and store the pending messages, committed before any call ------

    def _claim(self, n: int) -> list[Job]:
        now = timezone.now()
        campaign = self.campaign
        with transaction.atomic():
            rows = list(
                CampaignRecipient.objects.select_for_update(skip_locked=True)
                .filter(campaign=campaign, status=R.QUEUED)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .order_by("line")[:n]
            )
            if not rows:
                return []
            rooms, created = self._rooms_for(rows)
            recent = self._recently_messaged(rooms, rows, now)
            ready, deferred, seen_rooms = [], [], set()
            for row in rows:
                room = rooms[row.pk]
                if room.pk in recent or room.pk in seen_rooms:
                    deferred.append(row.pk)  # Meta's pair rate: one message per customer
                else:
                    seen_rooms.add(room.pk)
                    ready.append(row)
            if deferred:
                CampaignRecipient.objects.filter(pk__in=deferred).update(
                    next_attempt_at=now + self.pair, updated_at=now
                )
            if not ready:
                return []
            messages, new = self._store_messages(ready, rooms, now)
            for row in ready:
                row.status = R.SENDING
                row.room_id = rooms[row.pk].pk
                row.message_id = messages[row.pk].pk
                row.attempts += 1
                row.next_attempt_at = None
                row.updated_at = now
            if connection.vendor == "postgresql":
                from boztell.bulk import server_cursor

                with server_cursor() as cursor:
                    cursor.execute(
                        _MARK_SENDING.format(audience=assigned_user_ids_sql("v.room")),
                        [
                            [r.pk for r in ready],
                            [r.room_id for r in ready],
                            [r.message_id for r in ready],
                            [now] * len(ready),
                        ],
                    )
                    # The rooms' audiences, read with the update (one trip, not three).
                    audience = {
                        room_id: assigned_user_ids_from_sql(users)
                        for room_id, users in cursor.fetchall()
                    }
            else:
                CampaignRecipient.objects.bulk_update(
                    ready,
                    ["status", "room", "message", "attempts", "next_attempt_at", "updated_at"],
                )
                audience = rooms_audience(room_ids={r.room_id for r in ready})
            self._emit_created(
                [r for r in ready if messages[r.pk].pk in new], rooms, messages, created, audience
            )
        jobs = []
        for row in ready:
            room = rooms[row.pk]
            address = {"to": room.phone} if room.phone else {"recipient": room.user_id}
            body = dict(self.template)
            if row.components:
                body["components"] = row.components
            jobs.append(
                Job(
                    recipient_id=row.pk,
                    message_id=messages[row.pk].pk,
                    room_id=room.pk,
                    payload={**address, "type": "template", "template": _meta_template(body)},
                    attempts=row.attempts,
                )
            )
        return jobs

    def _rooms_for(self, rows) -> tuple[dict, set]:
        """Each recipient's room: found by phone or BSUID in one query; new customers'
        rooms made in one INSERT (the unique phone / BSUID decide against a webhook
        making the same room meanwhile), titled with their lead's name as rooms are."""
        from boztell.bulk import insert_returning_ids
        from leads.models import Lead

        def lookup(phones, bsuids):
            # Only what a send needs (the address); a full row costs a tenth of a claim.
            found = Room.objects.filter(Q(phone__in=phones) | Q(user_id__in=bsuids)).only(
                "id", "phone", "user_id"
            )
            return (
                {room.phone: room for room in found if room.phone},
                {room.user_id: room for room in found if room.user_id},
            )

        by_phone, by_bsuid = lookup(
            [r.phone for r in rows if r.phone], [r.user_id for r in rows if r.user_id]
        )
        missing = [
            r for r in rows if not (by_phone.get(r.phone) if r.phone else by_bsuid.get(r.user_id))
        ]
        created: set = set()
        if missing:
            phones = {r.phone for r in missing if r.phone}
            leads = {lead.phone: lead for lead in Lead.objects.filter(phone__in=phones)}
            new, seen = [], set()
            for r in missing:
                key = r.phone or r.user_id
                if key in seen:
                    continue
                seen.add(key)
                lead = leads.get(r.phone) if r.phone else None
                new.append(
                    Room(
                        phone=r.phone,
                        user_id=None if r.phone else r.user_id,
                        title=((lead.name if lead else "") or r.phone or "")[:200],
                        lead=lead,
                        # Waiting on the customer: a reply reopens the room, and a reopened
                        # unassigned room goes to its team (rooms/status.py), so thousands of
                        # reminders do not leave their replies in nobody's queue.
                        status=Room.Status.PENDING,
                    )
                )
            created = set(insert_returning_ids(new, ignore_conflicts=True))
            more_phone, more_bsuid = lookup(
                [r.phone for r in missing if r.phone],
                [r.user_id for r in missing if r.user_id],
            )
            by_phone.update(more_phone)
            by_bsuid.update(more_bsuid)
        rooms = {}
        for row in rows:
            room = by_phone.get(row.phone) if row.phone else by_bsuid.get(row.user_id)
            if room is None:  # made and merged away meanwhile: the one rule decides
                customer = room_for_customer(phone=row.phone, user_id=row.user_id)
                room = customer.room
            rooms[row.pk] = room
        return rooms, created

    def _recently_messaged(self, rooms: dict, rows, now) -> set:
        """Rooms that got one of our messages within the pair-rate window."""
        own = [r.message_id for r in rows if r.message_id]
        return set(
            Message.objects.filter(
                room_id__in={room.pk for room in rooms.values()},
                user__isnull=False,
                created_at__gt=now - self.pair,
            )
            .exclude(pk__in=own)
            .values_list("room_id", flat=True)
        )

    def _store_messages(self, rows, rooms: dict, now) -> tuple[dict, set]:
        """The pending message of each recipient (a retry keeps its own message when Meta
        never took it; a message Meta took and later failed, a late 131049, stays in the
        room as it is and the retry is a new message); and the ids of the messages made."""
        from boztell.bulk import insert_returning_ids

        campaign = self.campaign
        messages, new = {}, []
        again = [r.message_id for r in rows if r.message_id]
        retried = (
            {m.pk: m for m in Message.objects.filter(pk__in=again, wa_message_id__isnull=True)}
            if again
            else {}
        )
        for i, row in enumerate(rows):
            message = retried.get(row.message_id)
            if message is not None:
                messages[row.pk] = message
                continue
            message = Message(
                id=uuid.uuid4(),
                room_id=rooms[row.pk].pk,
                user_id=campaign.created_by_id,
                content_type="template",
                content_text=row.rendered_text or self.template["name"],
                status=Message.Status.PENDING,
                status_timestamp=now,
                metadata={
                    "template": {**self.template, "components": row.components},
                    "campaign": {
                        "id": str(campaign.pk),
                        "name": campaign.name,
                        "recipient_id": row.pk,
                    },
                },
            )
            message.created_at = message.updated_at = now + timedelta(microseconds=i)
            messages[row.pk] = message
            new.append(message)
        if new:
            insert_returning_ids(new)
            # The room list's fields, by the one rule every write path uses.
            rooms_record(room_list_rows(new))
        if retried:
            Message.objects.filter(pk__in=list(retried)).update(
                status=Message.Status.PENDING, status_timestamp=now
            )
        return messages, {m.pk for m in new}

    def _emit_created(self, rows, rooms, messages, created: set, audience: dict) -> None:
        """new_room_complete for a new customer's room, new_message for the others;
        `audience`: each room's (room_audience)."""
        existing = [messages[r.pk] for r in rows if rooms[r.pk].pk not in created]
        emit_messages_created(messages=existing, assigned=audience)
        made = [r for r in rows if rooms[r.pk].pk in created]
        if made:
            fresh = (
                Room.objects.select_related("lead")
                .prefetch_related("labels")
                .in_bulk([rooms[r.pk].pk for r in made])
            )
            emit_rooms_created(firsts=[(fresh[rooms[row.pk].pk], messages[row.pk]) for row in made])

    # Record: what Meta answered -------------------------------------------------------

    def _record(self) -> None:
        results, self.answered = self.answered, []
        for job, _, _ in results:
            del self.in_flight[job.recipient_id]
        ok = [(job, result) for job, result, error in results if error is None]
        failed = [(job, error) for job, result, error in results if error is not None]
        now = timezone.now()
        if ok:
            self._record_sent(ok, now)
        for job, error in failed:
            self._record_failure(job, error, now)

    def _record_sent(self, ok, now) -> None:
        """Meta took them: each message gets its wamid and `sent`, then whatever statuses
        Meta reported before its answer reached us (kept in pending_statuses), in order,
        one event per step, as message_apply_pending_statuses does, in bulk."""
        from boztell.bulk import server_cursor
        from messaging.events import status_payload
        from messaging.services.receive import (
            STATUS_RANK,
            status_advance_in_memory,
            status_listeners_notify,
        )

        self.sent += len(ok)
        wamids = [result.wa_message_id for _, result in ok]
        with transaction.atomic():
            CampaignRecipient.objects.filter(
                pk__in=[job.recipient_id for job, _ in ok], status=R.SENDING
            ).update(status=R.SENT, sent_at=now, updated_at=now)
            early: dict[str, list] = {}
            for row in PendingStatus.objects.select_for_update().filter(wa_message_id__in=wamids):
                early.setdefault(row.wa_message_id, []).append(row)
            payloads, messages = [], []
            for job, result in ok:
                message = Message(
                    id=job.message_id,
                    room_id=job.room_id,
                    wa_message_id=result.wa_message_id,
                    status=Message.Status.PENDING,
                    metadata={"campaign": {"id": str(self.campaign.pk)}},
                )
                status_advance_in_memory(message, Message.Status.SENT, now, {})
                payloads.append(status_payload(message))
                rows = early.get(result.wa_message_id, [])
                for row in sorted(rows, key=lambda r: STATUS_RANK.get(r.status, 0)):
                    if status_advance_in_memory(
                        message, row.status, row.status_timestamp, row.payload
                    ):
                        payloads.append(status_payload(message))
                messages.append(message)
            details = [{k: v for k, v in m.metadata.items() if k != "campaign"} for m in messages]
            if connection.vendor == "postgresql":
                from psycopg.types.json import Jsonb

                with server_cursor() as cursor:
                    # The rooms' audiences come back with the update: one trip, not three.
                    cursor.execute(
                        _UPDATE_SENT.format(audience=assigned_user_ids_sql("m.room_id")),
                        [
                            [m.pk for m in messages],
                            [m.wa_message_id for m in messages],
                            [m.status for m in messages],
                            [m.status_timestamp for m in messages],
                            [Jsonb(d) for d in details],
                            [now] * len(messages),
                        ],
                    )
                    assigned = {
                        room_id: assigned_user_ids_from_sql(users)
                        for room_id, users in cursor.fetchall()
                    }
            else:
                assigned = {}
                for m, extra in zip(messages, details, strict=True):
                    stored = Message.objects.get(pk=m.pk)
                    Message.objects.filter(pk=m.pk, status="pending").update(
                        wa_message_id=m.wa_message_id,
                        status=m.status,
                        status_timestamp=m.status_timestamp,
                        metadata={**(stored.metadata or {}), **extra},
                    )
            if early:
                PendingStatus.objects.filter(
                    pk__in=[row.pk for rows in early.values() for row in rows]
                ).delete()
                status_listeners_notify([m for m in messages if m.status != "sent"])
            missing = {m.room_id for m in messages} - set(assigned)
            if missing:  # SQLite, or a message no longer pending
                assigned.update(rooms_audience(room_ids=missing))
            emit_message_statuses(payloads=payloads, assigned=assigned)

    def _record_failure(self, job: Job, error: Exception, now) -> None:
        from messaging.errors import map_graph_error
        from messaging.services.send import _record_failure

        meta = getattr(error, "meta_error", None) or {}
        code = meta.get("code")
        http = getattr(error, "http_status", None)
        detail = {
            "code": code,
            "title": meta.get("error_user_title") or meta.get("type"),
            "message": meta.get("message") or str(error),
            "details": (meta.get("error_data") or {}).get("details"),
            "http_status": http,
        }
        recipient = CampaignRecipient.objects.filter(pk=job.recipient_id)
        message = Message.objects.select_related("room").get(pk=job.message_id)
        if code in pacing.THROTTLED:
            if job.attempts < pacing.MAX_THROTTLE_ATTEMPTS:
                delay = pacing.backoff_seconds(job.attempts)
                if code == 130429:
                    self.bucket.hold(delay)  # the whole number is over its throughput
                recipient.filter(status=R.SENDING).update(
                    status=R.QUEUED,
                    next_attempt_at=now + timedelta(seconds=delay),
                    error=detail,
                    updated_at=now,
                )
                logger.info(
                    "campaign %s: meta %s, recipient %s again in %.0fs",
                    self.campaign.pk,
                    code,
                    job.recipient_id,
                    delay,
                )
                return
        elif code in pacing.TOKEN_EXPIRED or http == 401:
            # Meta took nothing: the recipient waits, queued, for the campaign's resume.
            recipient.filter(status=R.SENDING).update(status=R.QUEUED, error=detail, updated_at=now)
            self.halted = True
            if self._status() == Campaign.Status.RUNNING:
                campaign_pause(
                    campaign=self.campaign,
                    by=None,
                    reason="access_token_expired: renew WHATSAPP_ACCESS_TOKEN, then resume",
                )
            return
        elif (
            code is None
            and http is None
            and getattr(error, "code", "") != "whatsapp_timeout"
            and isinstance(error, whatsapp.GraphError)
            and error.retryable
        ):
            # Meta was never reached (connection refused after retries): safe again.
            recipient.filter(status=R.SENDING).update(
                status=R.QUEUED,
                next_attempt_at=now + timedelta(seconds=pacing.backoff_seconds(job.attempts)),
                error=detail,
                updated_at=now,
            )
            return
        outcome_unknown = getattr(error, "code", "") == "whatsapp_timeout" or (
            http is not None and http >= 500
        )
        if not isinstance(error, whatsapp.GraphError):
            outcome_unknown = True
        if isinstance(error, whatsapp.GraphError):
            boz_code, _status, text = map_graph_error(error)
            _record_failure(message, code=boz_code, text=text, meta=meta or None)
        if outcome_unknown:
            recipient.filter(status=R.SENDING).update(
                status=R.UNKNOWN,
                reason="timeout" if http is None else f"http_{http}",
                error=detail,
                updated_at=now,
            )
            return
        retry_at = None
        if (
            code == pacing.FREQUENCY_CAPPED
            and self.campaign.retry_frequency_capped_hours
            and not recipient.filter(reason=RETRIED_131049).exists()  # retried once already
        ):
            retry_at = now + timedelta(hours=self.campaign.retry_frequency_capped_hours)
        recipient.filter(status=R.SENDING).update(
            status=R.FAILED,
            reason=f"meta_{code}" if code else "failed",
            error=detail,
            failed_at=now,
            next_attempt_at=retry_at,
            updated_at=now,
        )


def _meta_template(body: dict) -> dict:
    out = {"name": body["name"], "language": {"code": body["language"]}}
    if body.get("components"):
        out["components"] = body["components"]
    return out


# --- the worker: which campaign to run ---------------------------------------------------


def _connection_pool(size: int) -> None:
    """Keep-alive connections to Meta for every send in flight at once."""
    whatsapp.paced_pool_size(size)


class Worker:
    def __init__(self, *, concurrency: int | None = None, rate: float | None = None):
        self.concurrency = concurrency or settings.CAMPAIGN_CONCURRENCY
        self.rate = rate
        self.stopping = threading.Event()
        self.locks = Locks()
        self.senders = Senders(self.concurrency)
        _connection_pool(self.concurrency)
        self.reports_progress = False
        self.progress_since = timezone.now()

    def close(self) -> None:
        self.senders.close()
        self.locks.close()

    def start_due(self) -> None:
        """Scheduled campaigns whose start time has come begin running; done campaigns run
        again for recipients whose 131049 retry is due (campaigns_reopen_for_retries)."""
        now = timezone.now()
        campaigns_reopen_for_retries(now=now)
        for campaign in Campaign.objects.light().filter(
            status=Campaign.Status.SCHEDULED, start_at__lte=now
        ):
            with transaction.atomic():
                moved = Campaign.objects.filter(
                    pk=campaign.pk, status=Campaign.Status.SCHEDULED
                ).update(status=Campaign.Status.RUNNING, started_at=now)
                if moved:
                    campaign.refresh_from_db()
                    emit_campaign_progress(campaign=campaign)

    def claim(self) -> Campaign | None:
        """A running campaign no other worker holds (and, if it asks, inside hours)."""
        now = timezone.now()
        for campaign in (
            Campaign.objects.light()
            .filter(status=Campaign.Status.RUNNING)
            .order_by("started_at", "created_at")
        ):
            if campaign.only_business_hours and not pacing.inside_business_hours(now):
                continue
            if not self.locks.try_lock(str(campaign.pk)):
                continue
            campaign.refresh_from_db()
            if campaign.status == Campaign.Status.RUNNING:
                return campaign
            self.locks.unlock(str(campaign.pk))
        return None

    def run_once(self) -> str | None:
        """Start what is due, run one campaign until it stops; None when nothing to do."""
        self.start_due()
        campaign = self.claim()
        if campaign is None:
            return None
        logger.info("campaign worker %s: running %s", os.getpid(), campaign.pk)
        try:
            run = CampaignRun(
                campaign,
                senders=self.senders,
                concurrency=self.concurrency,
                stopping=self.stopping,
                rate=self.rate,
            )
            return run.run()
        finally:
            self.locks.unlock(str(campaign.pk))

    def report_progress(self) -> None:
        """Statuses and replies keep arriving after a campaign is done: one worker (the
        holder of PROGRESS_KEY) sends campaign_progress for campaigns whose recipients
        changed, at most once a second."""
        if not self.reports_progress:
            self.reports_progress = self.locks.try_lock("progress")
            if not self.reports_progress:
                return
        pending_statuses_sweep()
        now = timezone.now()
        changed = (
            CampaignRecipient.objects.filter(updated_at__gt=self.progress_since)
            .values_list("campaign_id", flat=True)
            .distinct()
        )
        self.progress_since = now
        for campaign in (
            Campaign.objects.light()
            .filter(pk__in=list(changed))
            .exclude(status=Campaign.Status.RUNNING)
        ):
            emit_campaign_progress(campaign=campaign)

    def loop(self, *, once: bool = False, poll_seconds: float = 1.0) -> None:
        delay = 1.0
        while not self.stopping.is_set():
            try:
                outcome = self.run_once()
                delay = 1.0
                if outcome is not None:
                    continue
                if once:
                    return
                self.report_progress()
            except Exception:
                # The database or a bug: log, wait, go on. Rows this worker left `sending`
                # are marked unknown by whoever takes the campaign next (this worker too).
                logger.exception("campaign worker: round failed; retry in %.0fs", delay)
                if once:
                    raise
                from django.db import connections

                connections.close_all()
                with contextlib.suppress(Exception):
                    self.locks.close()
                self.reports_progress = False
                self.stopping.wait(delay)
                with contextlib.suppress(Exception):  # still down: the next round says so
                    self.locks = Locks()
                delay = min(delay * 2, 30.0)
                continue
            self.stopping.wait(poll_seconds)
