"""Messaging services: every write about messages goes through here.

- receive.py: what Meta tells us (customer messages, statuses, fetched media);
- send.py: what agents and clients send (text, templates, media, reactions, forwards),
  read receipts and retries.
"""

from messaging.services.receive import (
    STATUS_RANK,
    Outcome,
    message_apply_pending_statuses,
    message_media_attempt_failed,
    message_media_stored,
    message_receive,
    message_status_apply,
)

__all__ = [
    "STATUS_RANK",
    "Outcome",
    "message_apply_pending_statuses",
    "message_media_attempt_failed",
    "message_media_stored",
    "message_receive",
    "message_status_apply",
]
