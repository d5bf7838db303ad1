"""Core API: who the caller is (lets a client check its token)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.errors import BoztellError
from boztell.models import User
from boztell.output import OutputSerializer
from boztell.schema import ErrorSerializer
from boztell.selectors import events_pruned_through, events_visible_to


class UserSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "display_name", "name", "role", "is_active")
        read_only_fields = fields


class EventSerializer(OutputSerializer):
    """One logged event: its cursor, name and payload (the payload the socket carried)."""

    cursor = serializers.IntegerField(source="id")
    event = serializers.CharField(help_text="The socket event's name (docs/socket-events.md).")
    data = serializers.DictField(help_text="The event's payload (docs/events/<event>.schema.json).")


class MeApi(APIView):
    @extend_schema(responses=UserSerializer, summary="The authenticated caller")
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class EventsApi(APIView):
    """What happened after a cursor: a reconnecting client's catch-up."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after",
                int,
                required=True,
                description=(
                    "The last cursor the client saw (0: from the start). A cursor before "
                    "the pruned part of the log gets 410 cursor_expired: reload, then follow "
                    "from error.details.oldest_cursor."
                ),
            ),
            OpenApiParameter("limit", int),
        ],
        responses={
            200: inline_serializer(
                "EventPage",
                {
                    "results": EventSerializer(many=True),
                    "next_cursor": serializers.IntegerField(),
                    "has_more": serializers.BooleanField(),
                },
            ),
            410: ErrorSerializer,
        },
        summary="Events after a cursor, for a client catching up after a reconnect",
    )
    def get(self, request):
        try:
            after = int(request.query_params.get("after", ""))
            limit = max(1, min(int(request.query_params.get("limit", 500)), 1000))
        except ValueError:
            raise BoztellError(
                "after and limit must be whole numbers.", code="invalid_request"
            ) from None
        through = events_pruned_through()
        if after < through:
            raise BoztellError(
                f"Events up to cursor {through} are no longer kept: reload rooms and messages, "
                f"then catch up from cursor {through}.",
                code="cursor_expired",
                status=410,
                details={"oldest_cursor": through},
            )
        rows = list(events_visible_to(user=request.user, after=after)[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
        return Response(
            {
                "results": EventSerializer.render_many(rows),
                "next_cursor": rows[-1].id if rows else after,
                "has_more": has_more,
            }
        )
