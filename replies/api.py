"""The /quick-replies/ API: search canned responses, render one for a room."""

import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.errors import BoztellError
from boztell.realtime import to_wire
from replies.models import QuickReply
from replies.placeholders import placeholder_names
from replies.selectors import quick_reply_render, quick_reply_search
from rooms.selectors import rooms_visible_to

ERROR = inline_serializer("QuickReplyError", {"error": serializers.DictField()})


class QuickReplySerializer(serializers.ModelSerializer):
    placeholders = serializers.SerializerMethodField(
        help_text="The placeholder names in the text, in order."
    )

    class Meta:
        model = QuickReply
        fields = ("id", "shortcut", "title", "text", "placeholders", "updated_at")

    def get_placeholders(self, obj) -> list[str]:
        return placeholder_names(obj.text)


class QuickReplyListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="Part of the shortcut, title or text ('/janji' works)"
            ),
            OpenApiParameter("limit", int),
        ],
        responses={
            200: inline_serializer("QuickReplyPage", {"results": QuickReplySerializer(many=True)})
        },
        summary="Quick replies (canned responses), shortcuts starting with q first",
    )
    def get(self, request):
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), 100))
        except ValueError:
            raise BoztellError("limit must be a number.", code="invalid_request") from None
        replies = quick_reply_search(query=request.query_params.get("q") or "", limit=limit)
        return Response({"results": QuickReplySerializer(replies, many=True).data})


class QuickReplyRenderApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "room_id",
                str,
                description="The room whose lead fills the placeholders (optional: without "
                "it only {{agent}} is filled)",
            )
        ],
        responses={
            200: inline_serializer(
                "QuickReplyRendered",
                {
                    "id": serializers.IntegerField(),
                    "shortcut": serializers.CharField(),
                    "text": serializers.CharField(),
                    "missing": serializers.ListField(
                        child=serializers.CharField(),
                        help_text="Placeholders with no value, left in `text` as {{name}} for "
                        "the agent to fill; a send still holding one is refused "
                        "(unfilled_placeholder).",
                    ),
                },
            ),
            400: ERROR,
            404: ERROR,
        },
        summary="A quick reply's text with the room's lead and the caller filled in",
    )
    def get(self, request, reply_id):
        reply = get_object_or_404(QuickReply, pk=reply_id)
        room = None
        raw = request.query_params.get("room_id")
        if raw:
            try:
                room_id = uuid.UUID(raw)
            except ValueError:
                raise BoztellError("room_id is not a valid id.", code="invalid_request") from None
            room = get_object_or_404(
                rooms_visible_to(user=request.user).select_related("lead"), pk=room_id
            )
        return Response(to_wire(quick_reply_render(reply=reply, room=room, agent=request.user)))
