"""A campaign message's life after the send: its statuses and the customer's reply reach
the recipient row, and an opt-out keyword or button marks the customer do-not-contact.

Both listeners run inside the webhook's own transaction, once per run of updates, so
they stay cheap: statuses cost nothing for a message that is not a campaign's (its
metadata says so) and one UPDATE by message id for those that are; a run of customer
messages costs one UPDATE over the rooms' latest campaign sends.
"""

import logging
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.utils import timezone

from messaging.services.sql import Column, execute, rows_table

logger = logging.getLogger("boztell.campaigns")

_STATUS_COLUMNS = (
    Column("id", "uuid"),
    Column("status", "text"),
    Column("at", "timestamptz"),
    Column("reason", "text"),
    Column("error", "jsonb"),
)
_STATUSES = """
    UPDATE campaign_recipients AS r SET
        status = CASE
            WHEN v.status = 'failed' THEN
                CASE WHEN r.status IN ('sending','sent','delivered') THEN 'failed' ELSE r.status END
            WHEN array_position(ARRAY['sending','sent','delivered','read','replied'], v.status)
               > array_position(ARRAY['sending','sent','delivered','read','replied'], r.status)
                THEN v.status
            ELSE r.status END,
        sent_at = COALESCE(r.sent_at, CASE WHEN v.status <> 'failed' THEN v.at END),
        delivered_at = CASE WHEN v.status IN ('delivered', 'read')
                            THEN COALESCE(r.delivered_at, v.at) ELSE r.delivered_at END,
        read_at = CASE WHEN v.status = 'read' THEN COALESCE(r.read_at, v.at) ELSE r.read_at END,
        failed_at = CASE WHEN v.status = 'failed' AND r.status IN ('sending','sent','delivered')
                         THEN v.at ELSE r.failed_at END,
        reason = CASE WHEN v.status = 'failed' AND r.status IN ('sending','sent','delivered')
                      THEN v.reason ELSE r.reason END,
        error = CASE WHEN v.status = 'failed' AND r.status IN ('sending','sent','delivered')
                     THEN v.error ELSE r.error END,
        next_attempt_at = CASE WHEN v.status = 'failed' AND v.reason = 'meta_131049'
                                AND r.status IN ('sending', 'sent') AND r.delivered_at IS NULL
                                AND c.retry_frequency_capped_hours IS NOT NULL
                                AND r.reason <> 'retried_after_131049'
                           THEN v.at + make_interval(hours => c.retry_frequency_capped_hours)
                           ELSE r.next_attempt_at END,
        updated_at = %b
    FROM {rows}, campaigns AS c
    WHERE r.message_id = v.id AND c.id = r.campaign_id
      AND r.status IN ('sending', 'sent', 'delivered', 'read', 'replied')
"""
# A send still waiting for its reply: reached Meta, no reply yet (both statements below
# and _track_replies_orm).
AWAITING_REPLY = ("sent", "delivered", "read")
_AWAITING_SQL = "(" + ", ".join(f"'{status}'" for status in AWAITING_REPLY) + ")"
# The latest campaign send to each room, within the reply window before the message.
_REPLY_COLUMNS = (Column("room_id", "uuid"), Column("at", "timestamptz"))
_REPLIES = """
    UPDATE campaign_recipients AS r SET status = 'replied', replied_at = v.at, updated_at = %b
    FROM {rows}
    WHERE r.id = (
        SELECT c.id FROM campaign_recipients c
        WHERE c.room_id = v.room_id AND c.sent_at <= v.at AND c.sent_at > v.at - %b::interval
        ORDER BY c.sent_at DESC LIMIT 1)
      AND r.replied_at IS NULL AND r.status IN {awaiting}
"""


def register() -> None:
    from messaging.services import receive, templates

    if campaigns_follow_template not in templates.TEMPLATE_STATUS_LISTENERS:
        templates.TEMPLATE_STATUS_LISTENERS.append(campaigns_follow_template)
    if recipients_track_statuses not in receive.STATUS_LISTENERS:
        receive.STATUS_LISTENERS.append(recipients_track_statuses)
    if recipients_track_replies not in receive.INBOUND_LISTENERS:
        receive.INBOUND_LISTENERS.append(recipients_track_replies)
    receive.ROOM_FACTS[REPLY_AWAITED] = _reply_awaited_sql


# Asked of each room of a run with its lock (messaging's ROOM_FACTS): might a campaign send
# there be waiting for this reply? A room no campaign wrote to lately costs no query. Wider
# than _REPLIES by an hour, in case the database's clock and ours differ.
REPLY_AWAITED = "campaign_reply_awaited"


def _reply_awaited_sql() -> str:
    seconds = int(settings.CAMPAIGN_REPLY_WINDOW_HOURS * 3600) + 3600
    # An int is the only value in the text.
    return (
        "EXISTS (SELECT 1 FROM campaign_recipients c WHERE c.room_id = r.id"  # noqa: S608
        f" AND c.replied_at IS NULL AND c.status IN {_AWAITING_SQL}"
        f" AND c.sent_at > now() - interval '{seconds} seconds')"
    )


# Meta's template events after which a template cannot (or must not) be sent.
STOPPING_EVENTS = frozenset({"PAUSED", "REJECTED", "DISABLED", "FLAGGED", "PENDING_DELETION"})


def campaigns_follow_template(*, template, event: str, reason: str) -> None:
    """Template listener: Meta paused or rejected a template: its campaigns pause (in the
    same transaction; the worker stops within a second), with Meta's reason."""
    if event not in STOPPING_EVENTS:
        return
    from campaigns.services import campaigns_pause_for_template

    campaigns_pause_for_template(
        template=template, reason=f"template {event.lower()} by Meta: {reason or 'no reason'}"
    )


def _is_campaign_message(message) -> bool:
    return bool((message.metadata or {}).get("campaign"))


def _failure(message) -> tuple[str, dict | None]:
    error = (message.metadata or {}).get("error")
    if not error:
        return "", None
    return f"meta_{error.get('code')}" if error.get("code") else "failed", error


def recipients_track_statuses(messages) -> None:
    """Status listener: campaign messages' statuses onto their recipient rows."""
    ours = [m for m in messages if _is_campaign_message(m)]
    if not ours:
        return
    now = timezone.now()
    if connection.vendor != "postgresql":
        return _track_statuses_orm(ours, now)
    failures = [_failure(m) if m.status == "failed" else ("", None) for m in ours]
    from_rows, params = rows_table(
        _STATUS_COLUMNS,
        [
            (m.pk, m.status, m.status_timestamp or now, reason, error)
            for m, (reason, error) in zip(ours, failures, strict=True)
        ],
    )
    execute(_STATUSES.format(rows=from_rows), [now, *params])


def _track_statuses_orm(messages, now) -> None:
    """The same rule one row at a time (SQLite, the embedded default)."""
    from campaigns.models import CampaignRecipient

    order = ["sending", "sent", "delivered", "read", "replied"]
    for message in messages:
        for r in CampaignRecipient.objects.filter(
            message_id=message.pk, status__in=order
        ).select_related("campaign"):
            at = message.status_timestamp or now
            if message.status == "failed":
                if r.status in ("sending", "sent", "delivered"):
                    retry = frequency_capped_retry_at(r, _failure(message)[0], at)
                    r.status, r.failed_at = "failed", at
                    r.reason, r.error = _failure(message)
                    r.next_attempt_at = retry or r.next_attempt_at
            else:
                if order.index(message.status) > order.index(r.status):
                    r.status = message.status
                r.sent_at = r.sent_at or at
                if message.status in ("delivered", "read"):
                    r.delivered_at = r.delivered_at or at
                if message.status == "read":
                    r.read_at = r.read_at or at
            r.save()


def frequency_capped_retry_at(recipient, reason: str, at):
    """Meta's 131049 told later by a failed status: nothing reached the customer, so the
    recipient is sent again at `at` plus the campaign's delay, as when the send itself was
    refused (campaigns/worker.py), if the campaign allows it. Never for a row that was
    delivered: someone who got the first message gets no second, and only once: the retry
    failing with 131049 again fails for good. (The PostgreSQL spelling of this rule is in
    _STATUSES.)"""
    from campaigns.selectors import RETRIED_131049

    hours = recipient.campaign.retry_frequency_capped_hours
    if (
        reason != "meta_131049"
        or hours is None
        or recipient.status not in ("sending", "sent")
        or recipient.delivered_at is not None
        or recipient.reason == RETRIED_131049  # retried once already
    ):
        return None
    return at + timedelta(hours=hours)


def recipients_track_replies(messages, facts: dict | None = None) -> None:
    """Inbound listener: a customer message within CAMPAIGN_REPLY_WINDOW_HOURS of the
    room's latest campaign send is that send's reply; an opt-out is recorded. `facts`:
    the rooms' answers to REPLY_AWAITED, when read with their lock."""
    messages = [m for m in messages if m.content_type not in ("system", "reaction", "unsupported")]
    if not messages:
        return
    window = timedelta(hours=settings.CAMPAIGN_REPLY_WINDOW_HOURS)
    now = timezone.now()
    latest: dict = {}
    for m in messages:
        room_id = m.room_id
        if facts is not None and not facts[room_id].get(REPLY_AWAITED, True):
            continue  # no campaign send awaits it (asked with the room's lock)
        at = m.created_at or now
        if room_id not in latest or at < latest[room_id]:
            latest[room_id] = at  # the first reply counts
    if latest and connection.vendor == "postgresql":
        from_rows, params = rows_table(_REPLY_COLUMNS, list(latest.items()))
        execute(_REPLIES.format(rows=from_rows, awaiting=_AWAITING_SQL), [now, *params, window])
    elif latest:
        _track_replies_orm(latest, window, now)
    payload = settings.CAMPAIGN_OPT_OUT_PAYLOAD
    keywords = _opt_out_keywords(tuple(settings.CAMPAIGN_OPT_OUT_KEYWORDS))
    for m in messages:
        source = opt_out_source(m, payload, keywords)
        if source:
            from campaigns.optout import opt_out_record

            opt_out_record(room_id=m.room_id, source=source)


def _track_replies_orm(latest: dict, window, now) -> None:
    from campaigns.models import CampaignRecipient

    for room_id, at in latest.items():
        r = (
            CampaignRecipient.objects.filter(
                room_id=room_id, sent_at__lte=at, sent_at__gt=at - window
            )
            .order_by("-sent_at")
            .first()
        )
        if r and r.replied_at is None and r.status in AWAITING_REPLY:
            r.status, r.replied_at = "replied", at
            r.save(update_fields=["status", "replied_at", "updated_at"])


@lru_cache(maxsize=4)
def _opt_out_keywords(keywords: tuple) -> frozenset:
    """The opt-out keywords as a customer's text is compared: spaces collapsed, upper
    case (worked out once per setting, not once per customer message)."""
    return frozenset(" ".join(k.split()).upper() for k in keywords)


def opt_out_source(message, payload: str, keywords: frozenset) -> str | None:
    """The keyword or button payload that makes this customer message an opt-out
    (CAMPAIGN_OPT_OUT_PAYLOAD; CAMPAIGN_OPT_OUT_KEYWORDS through _opt_out_keywords)."""
    button = (message.metadata or {}).get("button") or {}
    if isinstance(button, dict) and button.get("payload") == payload:
        return f"button:{button['payload']}"
    text = " ".join(str(message.content_text or "").split()).strip(" .!").upper()
    if text and text in keywords:
        return f"keyword:{text}"
    return None
