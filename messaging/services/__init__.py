"""Messaging services: every write about messages goes through here.

- receive.py: what Meta tells us (customer messages, statuses, fetched media);
- send.py: what agents and clients send (text, templates, media, reactions, forwards),
  read receipts and retries;
- updates.py: a webhook body's updates in order, customer messages in bulk;
- customers.py: a customer's one room (found or created by phone or BSUID, identity
  moves, two rooms of one person merged with their messages, the phone re-normalisation);
- rules.py: the inbound rules every path calls (status order, media to fetch, the room
  list's fields and title), on PostgreSQL and SQLite alike (sql.py: what they spell
  differently).
"""

from messaging.services.receive import (
    Outcome,
    message_apply_pending_statuses,
    message_media_attempt_failed,
    message_media_stored,
    message_receive,
    message_status_apply,
)
from messaging.services.rules import STATUS_RANK
from messaging.services.updates import updates_process

__all__ = [
    "STATUS_RANK",
    "Outcome",
    "message_apply_pending_statuses",
    "message_media_attempt_failed",
    "message_media_stored",
    "message_receive",
    "message_status_apply",
    "updates_process",
]
