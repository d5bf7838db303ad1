"""What the webhook hands to messaging: one customer message or one status, already
parsed out of Meta's envelope."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class InboundMessage:
    wa_message_id: str
    wa_id: str
    timestamp: datetime
    content_type: str
    content_text: str | None = None
    profile_name: str | None = None
    reply_to_wa_message_id: str | None = None
    reaction_emoji: str | None = None
    reaction_to_wa_message_id: str | None = None
    media_type: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    original_filename: str | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def is_reaction(self) -> bool:
        return self.content_type == "reaction"


@dataclass(frozen=True)
class InboundStatus:
    wa_message_id: str
    status: str
    timestamp: datetime
    recipient_id: str | None = None
    errors: list = field(default_factory=list)
    conversation: dict | None = None
    pricing: dict | None = None
