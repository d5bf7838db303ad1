"""Message media downloads, for whoever may see the room."""

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from messaging.models import Message
from rooms.selectors import rooms_visible_to


class MessageMediaApi(APIView):
    """GET /messages/{id}/media: the stored file, to users who may see its room."""

    @extend_schema(
        responses={(200, "*/*"): OpenApiTypes.BINARY},
        summary="Download a message's media",
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
        handle = default_storage.open(message.gcs_filename, "rb")
        return FileResponse(
            handle,
            content_type=message.mime_type or "application/octet-stream",
            filename=message.original_filename or message.gcs_filename.rsplit("/", 1)[-1],
            as_attachment=False,
        )
