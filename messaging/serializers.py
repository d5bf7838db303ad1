"""Output shapes of messaging: the stored message (the seed's `new_message` payload, the
REST API's message) and message templates."""

from rest_framework import serializers

from boztell.output import OutputSerializer
from messaging.media import media_inline
from messaging.models import Message, MessageTemplate


class MessageSerializer(OutputSerializer):
    """The stored message: every column of the seed's `messages` table, and `media_inline`.
    One shape for the REST API and the `new_message`, `room:new_message` and
    `message_updated` events."""

    id = serializers.UUIDField()
    room_id = serializers.UUIDField()
    user_id = serializers.UUIDField(allow_null=True, help_text="null: the customer wrote it.")
    content_type = serializers.CharField()
    content_text = serializers.CharField(allow_null=True)
    wa_message_id = serializers.CharField(allow_null=True)
    reply_to_wa_message_id = serializers.CharField(allow_null=True)
    reaction_emoji = serializers.CharField(allow_null=True)
    reaction_to_wa_message_id = serializers.CharField(allow_null=True)
    media_type = serializers.CharField(allow_null=True)
    media_id = serializers.CharField(allow_null=True)
    gcs_filename = serializers.CharField(allow_null=True)
    gcs_url = serializers.CharField(allow_null=True)
    file_size = serializers.IntegerField(allow_null=True)
    mime_type = serializers.CharField(allow_null=True)
    original_filename = serializers.CharField(allow_null=True)
    metadata = serializers.SerializerMethodField()
    status = serializers.CharField(allow_null=True)
    status_timestamp = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    media_inline = serializers.SerializerMethodField(
        help_text="Whether the file may be shown inline (image, sticker, audio, video of a "
        "type WhatsApp takes); otherwise the inbox offers it only as a download, and "
        "GET /messages/{id}/media answers with an attachment."
    )

    def get_metadata(self, message: Message) -> dict:
        return message.metadata or {}

    def get_media_inline(self, message: Message) -> bool:
        return bool(message.media_type) and media_inline(message.mime_type)


class TemplateSerializer(serializers.ModelSerializer):
    """A WhatsApp message template as synced from Meta."""

    class Meta:
        model = MessageTemplate
        fields = ("name", "language", "status", "category", "components", "synced_at")
        read_only_fields = fields


class MarkReadResultSerializer(OutputSerializer):
    """The answer of POST /messages/mark-read (from messaging.services.send.room_mark_read)."""

    from_mapping = True

    room_id = serializers.UUIDField()
    last_read_at = serializers.DateTimeField()
    unread_count = serializers.IntegerField()
    read_receipt = serializers.ChoiceField(
        choices=["sent", "failed", "none"], help_text="WhatsApp's read receipt to the customer."
    )
    read_wa_message_id = serializers.CharField(
        allow_null=True, help_text="The customer's message the receipt was for."
    )


class WhatsAppSetupSerializer(OutputSerializer):
    """The WhatsApp set-up a send would use (never the secrets, only whether they are set)."""

    from_mapping = True

    mode = serializers.ChoiceField(choices=["sandbox", "live"])
    api_base_url = serializers.CharField()
    api_version = serializers.CharField()
    phone_number_id = serializers.CharField()
    business_account_id = serializers.CharField(allow_null=True)
    access_token_set = serializers.BooleanField()
    app_secret_set = serializers.BooleanField()


class TestResultSerializer(OutputSerializer):
    """The answer of POST /messages/test: what a send would do, messaging nobody."""

    from_mapping = True

    ok = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())
    to = serializers.CharField(help_text="The customer's phone, else their BSUID.")
    recipient = serializers.DictField(help_text="How Meta would be told the customer.")
    user_id = serializers.UUIDField(help_text="Who would send.")
    room_id = serializers.UUIDField(allow_null=True)
    window_open = serializers.BooleanField()
    template_approved = serializers.BooleanField(allow_null=True)
    whatsapp = WhatsAppSetupSerializer()
