"""Message media downloads, for whoever may see the room.

A customer's file is hostile until proven otherwise: only the inert types of
messaging.media.INLINE_MIME_TYPES are shown inline; everything else is an attachment of
type application/octet-stream. Every answer carries nosniff and a sandboxing CSP.
"""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from messaging.media import media_serving
from messaging.models import Message
from rooms.selectors import rooms_visible_to


class MessageMediaApi(APIView):
    """GET /messages/{id}/media: the stored file, to users who may see its room."""

    @extend_schema(
        responses={(200, "*/*"): OpenApiTypes.BINARY},
        summary="Download a message's media",
        description=(
            "The stored file, to users who may see its room (404 otherwise). Images, "
            "stickers, audio and video of a type WhatsApp takes are served inline with "
            "their type; anything else (documents, and whatever type a customer claims) "
            "as an attachment of type application/octet-stream. Every answer carries "
            "`X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy "
            "(`default-src 'none'; sandbox` on attachments)."
        ),
        operation_id="message_media",
    )
    def get(self, request, message_id):
        message = (
            Message.objects.filter(pk=message_id, room__in=rooms_visible_to(user=request.user))
            .only("gcs_filename", "mime_type", "original_filename")
            .first()
        )
        if message is None or not message.gcs_filename:
            raise Http404
        serving = media_serving(message.mime_type)
        handle = default_storage.open(message.gcs_filename, "rb")
        response = FileResponse(
            handle,
            content_type=serving.content_type,
            filename=message.original_filename or message.gcs_filename.rsplit("/", 1)[-1],
            as_attachment=serving.as_attachment,
        )
        for header, value in serving.headers.items():
            response[header] = value
        return response
