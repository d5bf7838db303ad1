"""The /messages/... API: the seed's send endpoints and what sits beside them.

Views validate with a serializer, call one service, and answer with the stored message
in the seed's `new_message` shape.
"""

import hashlib
import json
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from boztell.errors import BoztellError
from boztell.models import User
from boztell.realtime import to_wire
from boztell.schema import ErrorSerializer
from messaging import whatsapp
from messaging.media import guess_mime
from messaging.models import IdempotencyKey, Message, MessageTemplate
from messaging.selectors import message_search, messages_visible_to
from messaging.serializers import (
    MarkReadResultSerializer,
    MessageSerializer,
    TemplateSerializer,
    TestResultSerializer,
)
from messaging.services import send as sending
from rooms.selectors import rooms_visible_to

REMOVED_FIELDS = ("sender", "sender_id")


def message_response(message: Message, http_status=status.HTTP_200_OK) -> Response:
    return Response(to_wire(MessageSerializer.render(message)), status=http_status)


def resolve_sender(request, data) -> User:
    """`user_id` defaults to the caller; agents send only as themselves; supervisors may
    name any active user."""
    if not isinstance(data, dict):
        raise BoztellError("The body must be a JSON object.", code="invalid_request")
    for name in REMOVED_FIELDS:
        if name in data:
            raise BoztellError(
                f"'{name}' was removed: send 'user_id' (the sending user's id) instead.",
                code="removed_field",
            )
    raw = data.get("user_id")
    if raw in (None, ""):
        return request.user
    try:
        user_id = uuid.UUID(str(raw))
    except ValueError as exc:
        raise BoztellError("user_id is not a valid id.", code="unknown_user") from exc
    if user_id == request.user.pk:
        return request.user
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise BoztellError("No user has this user_id.", code="unknown_user")
    if not request.user.is_supervisor:
        raise BoztellError("Agents may only send as themselves.", code="forbidden_user", status=403)
    if not target.is_active:
        raise BoztellError("That user is inactive.", code="inactive_user")
    return target


def sender_and_data(request, serializer_class) -> tuple[User, dict]:
    """Who sends (see resolve_sender) and the validated body."""
    sender = resolve_sender(request, request.data)
    form = serializer_class(data=request.data)
    form.is_valid(raise_exception=True)
    return sender, form.validated_data


class IdempotentSendMixin:
    """`Idempotency-Key`: a repeated request (same caller, same key) gets the first answer
    and sends nothing again."""

    def idempotent(self, request, handler):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self._run(handler)
        if len(key) > 255:
            raise BoztellError(
                "Idempotency-Key is limited to 255 characters.", code="invalid_request"
            )
        fingerprint = hashlib.sha256(
            (
                request.path + json.dumps(_fingerprint_data(request), sort_keys=True, default=str)
            ).encode()
        ).hexdigest()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=request.user, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            row = IdempotencyKey.objects.get(user=request.user, key=key)
            if row.request_hash != fingerprint:
                raise BoztellError(
                    "This Idempotency-Key was used for a different request.",
                    code="idempotency_key_reused",
                    status=422,
                ) from None
            if row.response_status is None:
                raise BoztellError(
                    "The first request with this key is still running.",
                    code="request_in_progress",
                    status=409,
                ) from None
            response = Response(row.response_body, status=row.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        try:
            response = self._run(handler)
        except BoztellError as exc:
            IdempotencyKey.objects.filter(pk=row.pk).update(
                response_status=exc.status, response_body=exc.as_dict()
            )
            raise
        except Exception:
            row.delete()
            raise
        IdempotencyKey.objects.filter(pk=row.pk).update(
            response_status=response.status_code, response_body=response.data
        )
        return response

    def _run(self, handler):
        return message_response(handler(), status.HTTP_201_CREATED)


def _fingerprint_data(request):
    data = {k: v for k, v in request.data.items() if not hasattr(v, "read")}
    for name, upload in request.FILES.items():
        data[name] = f"{upload.name}:{upload.size}"
    return data


# Whom a send (or its test) is for: the request fields every send shares. (A comment, not
# a docstring: drf-spectacular would put a docstring into every send's schema.)
class RecipientSerializer(serializers.Serializer):
    to = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The customer: a phone number in any spelling, or a BSUID (ID.20819...).",
    )
    room_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Or the customer's room (instead of `to`)."
    )


class SendTextSerializer(RecipientSerializer):
    text = serializers.CharField(max_length=4096, trim_whitespace=False)
    user_id = serializers.UUIDField(required=False, allow_null=True)
    reply_to = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="wa_message_id of the message replied to.",
    )


# Beyond the errors every operation documents (boztell.schema): a reused Idempotency-Key
# (422), one still running (409), Meta refusing the send (502).
ERROR_RESPONSES = {409: ErrorSerializer, 422: ErrorSerializer, 502: ErrorSerializer}


class SendTextApi(IdempotentSendMixin, APIView):
    @extend_schema(
        request=SendTextSerializer,
        responses={201: MessageSerializer, **ERROR_RESPONSES},
        summary="Send a text (optionally a reply)",
        parameters=[OpenApiParameter("Idempotency-Key", str, "header")],
    )
    def post(self, request):
        sender, data = sender_and_data(request, SendTextSerializer)
        return self.idempotent(
            request,
            lambda: sending.message_send_text(
                sender=sender,
                to=data.get("to"),
                room_id=data.get("room_id"),
                text=data["text"],
                reply_to=data.get("reply_to") or None,
            ),
        )


class SendTemplateSerializer(RecipientSerializer):
    templateName = serializers.CharField()
    languageCode = serializers.CharField(default="en_US")
    user_id = serializers.UUIDField(required=False, allow_null=True)
    bodyParameters = serializers.ListField(
        child=serializers.CharField(max_length=1024), required=False, default=list
    )
    headerParameters = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, default=list
    )
    buttonParameters = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(max_length=2000)),
        required=False,
        default=list,
        help_text="Per button index, its parameters (URL suffix or quick-reply payload).",
    )
    parameters = serializers.ListField(
        child=serializers.CharField(max_length=1024),
        required=False,
        help_text="Shorthand for bodyParameters.",
    )


class SendTemplateApi(IdempotentSendMixin, APIView):
    @extend_schema(
        request=SendTemplateSerializer,
        responses={201: MessageSerializer, **ERROR_RESPONSES},
        summary="Send an approved template (allowed outside the 24-hour window)",
        parameters=[OpenApiParameter("Idempotency-Key", str, "header")],
    )
    def post(self, request):
        sender, data = sender_and_data(request, SendTemplateSerializer)
        return self.idempotent(
            request,
            lambda: sending.message_send_template(
                sender=sender,
                to=data.get("to"),
                room_id=data.get("room_id"),
                name=data["templateName"],
                language=data["languageCode"],
                body_parameters=data.get("bodyParameters") or data.get("parameters") or [],
                header_parameters=data["headerParameters"],
                button_parameters=data["buttonParameters"],
            ),
        )


class SendMediaSerializer(RecipientSerializer):
    media = serializers.FileField()
    caption = serializers.CharField(required=False, allow_blank=True, max_length=1024)
    user_id = serializers.UUIDField(required=False, allow_null=True)
    type = serializers.ChoiceField(
        choices=["image", "video", "audio", "document", "sticker"], required=False
    )
    reply_to = serializers.CharField(required=False, allow_blank=True)


class SendMediaApi(IdempotentSendMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": SendMediaSerializer},
        responses={201: MessageSerializer, 413: ErrorSerializer, **ERROR_RESPONSES},
        summary="Send an image, video, audio, document or sticker",
        parameters=[OpenApiParameter("Idempotency-Key", str, "header")],
    )
    def post(self, request):
        sender, data = sender_and_data(request, SendMediaSerializer)
        upload = data["media"]
        mime = guess_mime(upload.name, upload.content_type)
        return self.idempotent(
            request,
            lambda: sending.message_send_media(
                sender=sender,
                to=data.get("to"),
                room_id=data.get("room_id"),
                data=upload.read(),
                filename=upload.name,
                mime_type=mime,
                caption=data.get("caption"),
                kind=data.get("type"),
                reply_to=data.get("reply_to") or None,
            ),
        )


class TestSerializer(RecipientSerializer):
    text = serializers.CharField(required=False, allow_blank=True)
    templateName = serializers.CharField(required=False)
    languageCode = serializers.CharField(required=False, default="en_US")
    user_id = serializers.UUIDField(required=False, allow_null=True)


class TestApi(APIView):
    @extend_schema(
        request=TestSerializer,
        summary="Check a payload and the WhatsApp set-up, messaging nobody",
        responses={200: TestResultSerializer},
    )
    def post(self, request):
        sender, data = sender_and_data(request, TestSerializer)
        target = sending.send_target(sender=sender, to=data.get("to"), room_id=data.get("room_id"))
        room = target.room
        problems = []
        if not whatsapp.is_sandbox() and not settings.WHATSAPP_PHONE_NUMBER_ID:
            problems.append("WHATSAPP_PHONE_NUMBER_ID is not set.")
        template_ok = None
        if data.get("templateName"):
            template = MessageTemplate.objects.filter(
                name=data["templateName"], language=data["languageCode"]
            ).first()
            template_ok = bool(template and template.status == "APPROVED")
            if not template_ok:
                problems.append("The template is unknown or not approved.")
        window = sending.window_is_open(room)
        if data.get("text") and not window:
            problems.append("The 24-hour window is closed: only a template can be sent.")
        return Response(
            TestResultSerializer.render(
                {
                    "ok": not problems,
                    "problems": problems,
                    "to": target.phone or target.user_id,
                    "recipient": sending.address_of(phone=target.phone, user_id=target.user_id),
                    "user_id": sender.pk,
                    "room_id": room.pk if room else None,
                    "window_open": window,
                    "template_approved": template_ok,
                    "whatsapp": {
                        "mode": "sandbox" if whatsapp.is_sandbox() else "live",
                        "api_base_url": settings.WHATSAPP_API_BASE_URL,
                        "api_version": settings.WHATSAPP_API_VERSION,
                        "phone_number_id": settings.WHATSAPP_PHONE_NUMBER_ID,
                        "business_account_id": settings.WHATSAPP_BUSINESS_ACCOUNT_ID or None,
                        "access_token_set": bool(settings.WHATSAPP_ACCESS_TOKEN),
                        "app_secret_set": bool(settings.WHATSAPP_APP_SECRET),
                    },
                }
            )
        )


def _visible_message(request, message_id) -> Message:
    return get_object_or_404(
        messages_visible_to(user=request.user).select_related("room"), pk=message_id
    )


class ReactSerializer(serializers.Serializer):
    message_id = serializers.UUIDField(help_text="Our id of the message reacted to.")
    emoji = serializers.CharField(
        allow_blank=True, max_length=16, help_text="An empty emoji removes the reaction."
    )
    user_id = serializers.UUIDField(required=False, allow_null=True)


class ReactApi(IdempotentSendMixin, APIView):
    @extend_schema(
        request=ReactSerializer,
        responses={201: MessageSerializer, **ERROR_RESPONSES},
        summary="React to a message, or remove the reaction",
    )
    def post(self, request):
        sender, data = sender_and_data(request, ReactSerializer)
        target = _visible_message(request, data["message_id"])
        return self.idempotent(
            request,
            lambda: sending.message_send_reaction(
                sender=sender, target=target, emoji=data["emoji"]
            ),
        )


class ForwardSerializer(serializers.Serializer):
    to = serializers.CharField()
    user_id = serializers.UUIDField(required=False, allow_null=True)


class ForwardApi(IdempotentSendMixin, APIView):
    @extend_schema(
        request=ForwardSerializer,
        responses={201: MessageSerializer, **ERROR_RESPONSES},
        summary="Forward a stored text or media message to another customer",
    )
    def post(self, request, message_id):
        sender, data = sender_and_data(request, ForwardSerializer)
        message = _visible_message(request, message_id)
        return self.idempotent(
            request,
            lambda: sending.message_forward(sender=sender, message=message, to=data["to"]),
        )


class RetryApi(IdempotentSendMixin, APIView):
    @extend_schema(
        request=None,
        responses={201: MessageSerializer, **ERROR_RESPONSES},
        summary="Send a failed message again",
    )
    def post(self, request, message_id):
        message = _visible_message(request, message_id)
        if message.user_id != request.user.pk and not request.user.is_supervisor:
            raise BoztellError(
                "Only its sender or a supervisor may retry a message.",
                code="forbidden_user",
                status=403,
            )
        return self.idempotent(
            request, lambda: sending.message_retry(sender=request.user, message=message)
        )


class MarkReadSerializer(serializers.Serializer):
    room_id = serializers.UUIDField()


class MarkReadApi(APIView):
    @extend_schema(
        request=MarkReadSerializer,
        summary="Mark a room read: the caller's "
        "unread count resets and the customer gets a read receipt",
        responses={200: MarkReadResultSerializer},
    )
    def post(self, request):
        form = MarkReadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        room = get_object_or_404(
            rooms_visible_to(user=request.user), pk=form.validated_data["room_id"]
        )
        return Response(
            to_wire(
                MarkReadResultSerializer.render(
                    sending.room_mark_read(user=request.user, room=room)
                )
            )
        )


class MessageSearchApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True), OpenApiParameter("limit", int)],
        responses={
            200: inline_serializer(
                "MessageSearchResults", {"results": MessageSerializer(many=True)}
            )
        },
        summary="Full-text search over message text (Indonesian and English)",
        operation_id="messages_search_list",
    )
    def get(self, request):
        query = (request.query_params.get("q") or "").strip()
        if not query:
            raise BoztellError("q is required.", code="invalid_request")
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), 100))
        except ValueError:
            raise BoztellError("limit must be a number.", code="invalid_request") from None
        results = message_search(user=request.user, query=query, limit=limit)
        return Response({"results": to_wire(MessageSerializer.render_many(results))})


class TemplateListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, description="APPROVED, PENDING, ...")],
        responses={
            200: inline_serializer("TemplateList", {"results": TemplateSerializer(many=True)})
        },
        summary="WhatsApp message templates (synced from Meta)",
        operation_id="messages_templates_list",
    )
    def get(self, request):
        templates = MessageTemplate.objects.all()
        if request.query_params.get("status"):
            templates = templates.filter(status=request.query_params["status"].upper())
        return Response({"results": TemplateSerializer(templates, many=True).data})
