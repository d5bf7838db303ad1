"""What the webhook hands to messaging: one customer message or one status, already
parsed out of Meta's envelope."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class InboundMessage:
    """`wa_id` (phone) only when Meta shows it; `user_id` (BSUID) always since 2026: at
    least one of them is set. `new_wa_id` / `new_user_id`: a `system` user-change message
    says the customer's number or BSUID is now this."""

    wa_message_id: str
    wa_id: str | None
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
    user_id: str | None = None
    username: str | None = None
    new_wa_id: str | None = None
    new_user_id: str | None = None

    @property
    def changes_identity(self) -> bool:
        return bool(self.new_wa_id or self.new_user_id)

    @property
    def is_reaction(self) -> bool:
        return self.content_type == "reaction"


@dataclass(frozen=True)
class InboundStatus:
    wa_message_id: str
    status: str
    timestamp: datetime
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    errors: list = field(default_factory=list)
    conversation: dict | None = None
    pricing: dict | None = None
