"""The rooms API (/rooms/...): the caller's room list, one room, its messages, and the
room's doors (assignment, lead, status, labels, activity, notes)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.cursors import decode_cursor, encode_cursor
from boztell.errors import BoztellError
from boztell.models import User
from boztell.realtime import to_wire
from boztell.schema import ErrorSerializer
from inbox.selectors import room_detail, room_list
from messaging.selectors import room_messages
from messaging.serializers import MessageSerializer
from rooms.events import activity_payload
from rooms.payloads import room_row
from rooms.selectors import (
    ROOM_FILTERS,
    ROOM_STATUSES,
    labels_all,
    room_activity,
    room_notes,
    room_status_counts,
    rooms_visible_to,
)
from rooms.serializers import LabelSerializer, NoteSerializer, RoomSerializer
from rooms.services import (
    NOTE_LIMIT,
    room_assign,
    room_labels_set,
    room_lead_set,
    room_note_create,
    room_unassign,
)
from rooms.status import room_status_set

ERROR = ErrorSerializer


def _limit(request, default=50, most=100) -> int:
    try:
        return max(1, min(int(request.query_params.get("limit", default)), most))
    except ValueError:
        raise BoztellError("limit must be a number.", code="invalid_request") from None


def _view(request) -> str:
    view = request.query_params.get("filter", "all")
    if view not in ROOM_FILTERS:
        raise BoztellError(
            f"filter must be one of {', '.join(ROOM_FILTERS)}.", code="invalid_request"
        )
    return view


def _status(request) -> str | None:
    status = request.query_params.get("status") or None
    if status not in (None, "all", *ROOM_STATUSES):
        raise BoztellError(
            f"status must be one of all, {', '.join(ROOM_STATUSES)}.", code="invalid_status"
        )
    return None if status == "all" else status


class RoomListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("filter", str, enum=list(ROOM_FILTERS)),
            OpenApiParameter(
                "status",
                str,
                enum=["all", *ROOM_STATUSES],
                description="Only rooms in this status (the inbox's default view: open).",
            ),
            OpenApiParameter("q", str, description="Name, phone or message text"),
            OpenApiParameter(
                "label", str, description="Only rooms with this label (its name, e.g. janji-bayar)"
            ),
            OpenApiParameter("cursor", str),
            OpenApiParameter("limit", int),
        ],
        responses={
            200: inline_serializer(
                "RoomPage",
                {
                    "results": RoomSerializer(many=True),
                    "next_cursor": serializers.CharField(allow_null=True),
                },
            )
        },
        summary="The caller's rooms, latest first (assigned to them, and unassigned)",
        operation_id="rooms_list",
    )
    def get(self, request):
        view = _view(request)
        status = _status(request)
        limit = _limit(request)
        rooms = room_list(
            user=request.user,
            view=view,
            status=status,
            query=(request.query_params.get("q") or "").strip(),
            label=(request.query_params.get("label") or "").strip(),
            after=decode_cursor(request.query_params.get("cursor")),
            limit=limit,
        )
        next_cursor = (
            encode_cursor(rooms[-1].last_message_at, rooms[-1].pk) if len(rooms) == limit else None
        )
        return Response(
            {
                "results": [to_wire(room_row(r, user=request.user)) for r in rooms],
                "next_cursor": next_cursor,
            }
        )


class RoomDetailApi(APIView):
    @extend_schema(responses={200: RoomSerializer}, summary="One room")
    def get(self, request, room_id):
        room = room_detail(user=request.user, room_id=room_id)
        if room is None:
            raise BoztellError("No such room, or you may not see it.", code="not_found", status=404)
        return Response(to_wire(room_row(room, user=request.user)))


class RoomMessagesApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", str),
            OpenApiParameter("after", str),
            OpenApiParameter("limit", int),
        ],
        responses={
            200: inline_serializer(
                "MessagePage",
                {
                    "results": MessageSerializer(many=True),
                    "older_cursor": serializers.CharField(allow_null=True),
                    "newer_cursor": serializers.CharField(allow_null=True),
                },
            )
        },
        summary="A room's messages, oldest to newest, 50 at a time",
    )
    def get(self, request, room_id):
        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        before = decode_cursor(request.query_params.get("before"))
        after = decode_cursor(request.query_params.get("after"))
        if before and after:
            raise BoztellError("Give before or after, not both.", code="invalid_request")
        limit = _limit(request)
        page = room_messages(room=room, before=before, after=after, limit=limit)
        older = encode_cursor(page[0].created_at, page[0].pk) if page else None
        newer = encode_cursor(page[-1].created_at, page[-1].pk) if page else None
        has_older = bool(page) and (len(page) == limit or after is not None)
        return Response(
            {
                "results": to_wire(MessageSerializer.render_many(page)),
                "older_cursor": older if has_older else None,
                "newer_cursor": newer or (request.query_params.get("after") or None),
            }
        )


class AssignSerializer(serializers.Serializer):
    user_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Who gets the room; the caller when absent."
    )


class RoomAssignApi(APIView):
    @extend_schema(
        request=AssignSerializer,
        responses={200: RoomSerializer},
        summary="Claim a room, or (supervisors) assign it to an agent",
    )
    def post(self, request, room_id):
        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        form = AssignSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        target_id = form.validated_data.get("user_id") or request.user.pk
        if target_id != request.user.pk and not request.user.is_supervisor:
            raise BoztellError(
                "Only supervisors assign rooms to others.", code="forbidden_user", status=403
            )
        agent = User.objects.filter(pk=target_id).first()
        if agent is None:
            raise BoztellError("No user has this user_id.", code="unknown_user")
        room_assign(room=room, agent=agent, by=request.user)
        return Response(
            to_wire(
                room_row(
                    room_detail(user=request.user, room_id=room.pk)
                    or room_detail(user=agent, room_id=room.pk),
                    user=request.user,
                )
            )
        )


class RoomUnassignApi(APIView):
    @extend_schema(
        request=None,
        responses={200: RoomSerializer},
        summary="Release a room to the unassigned queue (its agent, or a supervisor)",
    )
    def post(self, request, room_id):
        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        room_unassign(room=room, by=request.user)
        return Response(
            to_wire(room_row(room_detail(user=request.user, room_id=room.pk), user=request.user))
        )


class RoomLeadSerializer(serializers.Serializer):
    lead_id = serializers.UUIDField(required=False, help_text="The lead this room's customer is.")
    phone = serializers.CharField(
        required=False,
        max_length=40,
        help_text="Or the lead's phone number in any spelling (the number a username "
        "customer told the agent): the lead with that number.",
    )

    def validate(self, attrs):
        if bool(attrs.get("lead_id")) == bool(attrs.get("phone")):
            raise serializers.ValidationError("Send lead_id or phone (one of them).")
        return attrs


class RoomLeadApi(APIView):
    @extend_schema(
        request=RoomLeadSerializer,
        responses={200: RoomSerializer},
        summary="Link a room to a lead by hand (a username customer has no phone to match)",
    )
    def post(self, request, room_id):
        from rooms.selectors import leads_linkable_by

        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        form = RoomLeadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        leads = leads_linkable_by(user=request.user)
        if phone := form.validated_data.get("phone"):
            from boztell.phones import normalize_phone

            lead = leads.filter(phone=normalize_phone(phone)).first()
        else:
            lead = leads.filter(pk=form.validated_data["lead_id"]).first()
        if lead is None:
            raise BoztellError("No lead has this id or number.", code="unknown_lead", status=404)
        room_lead_set(room=room, lead=lead, by=request.user)
        return Response(
            to_wire(room_row(room_detail(user=request.user, room_id=room.pk), user=request.user))
        )

    patch = post


class LabelListApi(APIView):
    @extend_schema(
        responses={200: inline_serializer("LabelList", {"results": LabelSerializer(many=True)})},
        summary="Every label a room may carry (supervisors define them in admin), by name",
        operation_id="rooms_labels_list",
    )
    def get(self, request):
        return Response({"results": LabelSerializer.render_many(labels_all())})


class RoomCountsApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("filter", str, enum=list(ROOM_FILTERS[:3]))],
        responses={
            200: inline_serializer(
                "RoomStatusCounts",
                {name: serializers.IntegerField() for name in ROOM_STATUSES},
            ),
            400: ERROR,
        },
        summary="How many of the caller's rooms are in each status",
        operation_id="rooms_counts",
    )
    def get(self, request):
        view = _view(request)
        if view == "unread":
            raise BoztellError("filter must be all, mine or unassigned.", code="invalid_request")
        return Response(room_status_counts(user=request.user, view=view))


class RoomStatusSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="open, pending, snoozed or resolved")
    until = serializers.DateTimeField(
        required=False, allow_null=True, help_text="With snoozed: when it opens again (ISO)."
    )


class RoomStatusApi(APIView):
    @extend_schema(
        request=RoomStatusSerializer,
        responses={200: RoomSerializer, 400: ERROR, 404: ERROR},
        summary="Set a room's status: open, pending, snoozed until a time, or resolved",
    )
    def post(self, request, room_id):
        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        form = RoomStatusSerializer(data=request.data)
        if not form.is_valid():
            if "until" in form.errors:
                raise BoztellError("until must be an ISO 8601 time.", code="invalid_until")
            raise BoztellError(
                f"status must be one of {', '.join(ROOM_STATUSES)}.", code="invalid_status"
            )
        room_status_set(
            room=room,
            status=form.validated_data["status"],
            until=form.validated_data.get("until"),
            by=request.user,
        )
        return Response(
            to_wire(room_row(room_detail(user=request.user, room_id=room.pk), user=request.user))
        )


class RoomActivityApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("before", int, description="An activity id: the page before it."),
            OpenApiParameter("limit", int),
        ],
        responses={
            200: inline_serializer(
                "RoomActivityPage",
                {
                    "results": inline_serializer(
                        "RoomActivity",
                        {
                            "id": serializers.IntegerField(),
                            "room_id": serializers.UUIDField(),
                            "kind": serializers.CharField(),
                            "text": serializers.CharField(),
                            "actor_id": serializers.UUIDField(allow_null=True),
                            "actor_name": serializers.CharField(allow_null=True),
                            "data": serializers.DictField(),
                            "created_at": serializers.DateTimeField(),
                        },
                        many=True,
                    ),
                    "older_cursor": serializers.IntegerField(allow_null=True),
                },
            ),
            400: ERROR,
            404: ERROR,
        },
        summary="A room's timeline: who changed its status, assignment, team, lead or labels",
    )
    def get(self, request, room_id):
        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        raw = request.query_params.get("before")
        try:
            before = int(raw) if raw else None
        except ValueError:
            raise BoztellError("before must be an activity id.", code="invalid_request") from None
        limit = _limit(request)
        page = room_activity(room=room, before=before, limit=limit)
        return Response(
            {
                "results": [to_wire(activity_payload(a)) for a in page],
                "older_cursor": page[0].id if len(page) == limit else None,
            }
        )


class RoomLabelsSerializer(serializers.Serializer):
    labels = serializers.ListField(
        child=serializers.CharField(max_length=50),
        max_length=50,
        allow_empty=True,
        help_text="Every label the room should have, by name ([] removes them all).",
    )


class RoomLabelsApi(APIView):
    @extend_schema(
        request=RoomLabelsSerializer,
        responses={200: RoomSerializer, 400: ERROR, 404: ERROR},
        summary="Set a room's labels (unknown names: 400 unknown_label)",
    )
    def put(self, request, room_id):
        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        form = RoomLabelsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        room_labels_set(room=room, names=form.validated_data["labels"], by=request.user)
        row = room_row(room_detail(user=request.user, room_id=room.pk), user=request.user)
        return Response(to_wire(row))


class NoteCreatedSerializer(NoteSerializer):
    """The note just left, and who it did not reach (documents the POST answer)."""

    not_notified = serializers.ListField(
        child=serializers.CharField(),
        help_text="@names in the text that notified nobody: no such active user, or a user "
        "who may not see this room.",
    )


class NoteCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=NOTE_LIMIT)


class RoomNotesApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("before", str), OpenApiParameter("limit", int)],
        responses={
            200: inline_serializer(
                "NotePage",
                {
                    "results": NoteSerializer(many=True),
                    "older_cursor": serializers.CharField(allow_null=True),
                },
            ),
            404: ERROR,
        },
        summary="A room's private notes, oldest to newest, 50 at a time",
        operation_id="rooms_notes_list",
    )
    def get(self, request, room_id):
        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        limit = _limit(request)
        page = room_notes(
            room=room, before=decode_cursor(request.query_params.get("before")), limit=limit
        )
        older = encode_cursor(page[0].created_at, page[0].pk) if len(page) == limit else None
        return Response(
            {"results": to_wire(NoteSerializer.render_many(page)), "older_cursor": older}
        )

    @extend_schema(
        request=NoteCreateSerializer,
        responses={
            201: NoteCreatedSerializer,
            400: ERROR,
            404: ERROR,
        },
        summary="Leave a private note in a room (never sent to WhatsApp); @username notifies",
        operation_id="rooms_notes_create",
    )
    def post(self, request, room_id):
        room = get_object_or_404(rooms_visible_to(user=request.user), pk=room_id)
        form = NoteCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        created = room_note_create(room=room, author=request.user, text=form.validated_data["text"])
        return Response(
            to_wire({**NoteSerializer.render(created.note), "not_notified": created.not_notified}),
            status=201,
        )
