"""The seed's send endpoints and their neighbours, through HTTP, against the fake Graph
API on loopback (the real requests-based client)."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from boztell.realtime import SUPERVISORS_GROUP
from messaging.models import Message
from rooms.models import Room, RoomParticipant
from tests.factories import MessageFactory, RoomFactory

pytestmark = pytest.mark.django_db

CUSTOMER = "6281234567001"
SEED_COLUMNS = {
    "id",
    "room_id",
    "user_id",
    "content_type",
    "content_text",
    "wa_message_id",
    "reply_to_wa_message_id",
    "reaction_emoji",
    "reaction_to_wa_message_id",
    "media_type",
    "media_id",
    "gcs_filename",
    "gcs_url",
    "file_size",
    "mime_type",
    "original_filename",
    "metadata",
    "status",
    "status_timestamp",
    "created_at",
    "updated_at",
}


@pytest.fixture
def open_room():
    """A customer who wrote a minute ago: the 24-hour window is open."""
    now = timezone.now()
    room = RoomFactory(
        phone=CUSTOMER,
        last_customer_message_at=now,
        last_message_at=now,
        message_count=1,
        last_message_text="Halo",
    )
    MessageFactory(room=room, wa_message_id="wamid.CUSTOMER-1", content_text="Halo")
    return room


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def _send(api, path, data, **extra):
        from boztell.realtime import flush_events

        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(path, data, format=extra.pop("format", "json"), **extra)
        flush_events()
        return response

    return _send


# --- text -------------------------------------------------------------------------------


def test_send_text_stores_sends_and_answers_with_the_stored_message(
    agent_api, agent, open_room, fake_graph, send, tap
):
    listener = tap(SUPERVISORS_GROUP)
    response = send(
        agent_api, "/messages/send", {"to": "0812-3456-7001", "text": "Selamat siang, Bu Dewi"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == SEED_COLUMNS | {"media_inline"}
    assert body["media_inline"] is False
    assert body["user_id"] == str(agent.id)
    assert body["room_id"] == str(open_room.id)
    assert body["status"] == "sent"
    assert body["wa_message_id"] == "wamid.FAKE000001"
    assert fake_graph.messages_sent() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": "text",
            "text": {"body": "Selamat siang, Bu Dewi", "preview_url": True},
        }
    ]
    message = Message.objects.get(pk=body["id"])
    assert message.status == "sent" and message.content_type == "text"
    events = listener.drain()
    assert [e for e, _ in events] == ["new_message", "message_status"]
    assert events[0][1]["status"] == "pending"
    assert events[1][1]["status"] == "sent"
    open_room.refresh_from_db()
    assert open_room.last_message_text == "Selamat siang, Bu Dewi"


def test_reply_carries_metas_context(agent_api, open_room, fake_graph, send):
    response = send(
        agent_api, "/messages/send", {"to": CUSTOMER, "text": "Ya", "reply_to": "wamid.CUSTOMER-1"}
    )
    assert response.status_code == 201
    assert response.json()["reply_to_wa_message_id"] == "wamid.CUSTOMER-1"
    assert fake_graph.messages_sent()[0]["context"] == {"message_id": "wamid.CUSTOMER-1"}


def test_every_endpoint_needs_authentication(client, fake_graph):
    for path in (
        "/messages/send",
        "/messages/send-template",
        "/messages/send-media-combined",
        "/messages/test",
        "/messages/react",
        "/messages/mark-read",
    ):
        response = client.post(path, {}, content_type="application/json")
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"
    for path in ("/rooms/", "/messages/search?q=x", "/messages/templates"):
        assert client.get(path).status_code == 401
    assert fake_graph.requests == []


def test_session_login_works_like_a_token(client, agent, open_room, fake_graph):
    client.force_login(agent)
    response = client.post(
        "/messages/send", {"to": CUSTOMER, "text": "via session"}, content_type="application/json"
    )
    assert response.status_code == 201


def test_user_id_rules(agent_api, other_agent, supervisor_api, agent, open_room, fake_graph, send):
    as_other = send(
        agent_api, "/messages/send", {"to": CUSTOMER, "text": "x", "user_id": str(other_agent.id)}
    )
    assert as_other.status_code == 403
    assert as_other.json()["error"]["code"] == "forbidden_user"
    unknown = send(
        agent_api,
        "/messages/send",
        {"to": CUSTOMER, "text": "x", "user_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_user"
    for removed in ("sender", "sender_id"):
        old = send(agent_api, "/messages/send", {"to": CUSTOMER, "text": "x", removed: "a1"})
        assert old.status_code == 400
        assert old.json()["error"]["code"] == "removed_field"
        assert "user_id" in old.json()["error"]["message"]
    assert fake_graph.messages_sent() == []
    on_behalf = send(
        supervisor_api,
        "/messages/send",
        {"to": CUSTOMER, "text": "for the agent", "user_id": str(agent.id)},
    )
    assert on_behalf.status_code == 201
    assert on_behalf.json()["user_id"] == str(agent.id)


def test_bad_input_is_a_clear_4xx_and_stores_nothing(agent_api, open_room, fake_graph, send):
    before = Message.objects.count()
    cases = [
        ({"to": "not a phone", "text": "x"}, 400, "invalid_phone"),
        ({"to": CUSTOMER}, 400, "invalid_request"),
        ({"to": CUSTOMER, "text": "   "}, 400, "invalid_request"),
        ({"to": CUSTOMER, "text": "x" * 4097}, 400, "invalid_request"),
    ]
    for data, status, code in cases:
        response = send(agent_api, "/messages/send", data)
        assert response.status_code == status, data
        assert response.json()["error"]["code"] == code
    malformed = agent_api.post("/messages/send", "{oops", content_type="application/json")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_request"
    assert Message.objects.count() == before
    assert fake_graph.messages_sent() == []


# --- the 24-hour window -------------------------------------------------------------------


def test_free_form_to_a_customer_who_never_wrote_is_refused_before_meta(
    agent_api, fake_graph, send
):
    response = send(agent_api, "/messages/send", {"to": "081299990000", "text": "Halo"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "window_closed"
    assert Room.objects.count() == 0 and Message.objects.count() == 0
    assert fake_graph.requests == []


def test_free_form_after_24_hours_is_refused(agent_api, open_room, fake_graph, send):
    Room.objects.filter(pk=open_room.pk).update(
        last_customer_message_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    response = send(agent_api, "/messages/send", {"to": CUSTOMER, "text": "late"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "window_closed"
    assert fake_graph.requests == []


# --- Meta's errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "http, meta, status, code",
    [
        (400, 131047, 422, "window_closed"),
        (400, 131026, 422, "undeliverable"),
        (400, 131056, 429, "pair_rate_limited"),
        (400, 132000, 400, "template_params_mismatch"),
        (404, 132001, 400, "unknown_template"),
        (400, 100, 400, "invalid_parameter"),
        (401, 190, 502, "whatsapp_auth_failed"),
        (400, 131009, 422, "whatsapp_rejected"),
        (500, 1, 502, "whatsapp_unavailable"),
    ],
)
def test_meta_errors_map_to_stable_codes_and_leave_the_message_failed(
    agent_api, open_room, fake_graph, send, http, meta, status, code
):
    fake_graph.send_errors = [(http, meta, f"Meta error {meta}", "Some details from Meta")]
    response = send(agent_api, "/messages/send", {"to": CUSTOMER, "text": "will fail"})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    message = Message.objects.get(pk=error["details"]["message_id"])
    assert message.status == "failed"
    assert message.metadata["error"]["code"] == meta
    assert message.metadata["error"]["boztell_code"] == code
    assert message.metadata["error"]["details"] == "Some details from Meta"
    assert len(fake_graph.messages_sent()) == 1


def test_metas_rate_limit_is_retried_with_backoff_and_sends_once(
    agent_api, open_room, fake_graph, send
):
    fake_graph.send_errors = [(400, 130429, "Rate limit hit")]
    response = send(agent_api, "/messages/send", {"to": CUSTOMER, "text": "after a pause"})
    assert response.status_code == 201
    assert response.json()["status"] == "sent"
    assert len(fake_graph.calls("/messages")) == 2


def test_a_timeout_is_not_retried_since_it_may_have_sent(
    agent_api, open_room, fake_graph, send, monkeypatch
):
    from messaging import whatsapp

    monkeypatch.setattr(whatsapp, "READ_TIMEOUT", 0.2)
    fake_graph.delay_seconds = 0.6
    response = send(agent_api, "/messages/send", {"to": CUSTOMER, "text": "slow"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "whatsapp_timeout"
    assert len(fake_graph.calls("/messages")) == 1


def test_idempotency_key_sends_once_and_replays_the_first_answer(
    agent_api, open_room, fake_graph, send
):
    data = {"to": CUSTOMER, "text": "only once please"}
    first = send(agent_api, "/messages/send", data, HTTP_IDEMPOTENCY_KEY="key-123")
    second = send(agent_api, "/messages/send", data, HTTP_IDEMPOTENCY_KEY="key-123")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert len(fake_graph.messages_sent()) == 1
    assert Message.objects.filter(content_text="only once please").count() == 1
    reused = send(
        agent_api,
        "/messages/send",
        {"to": CUSTOMER, "text": "other"},
        HTTP_IDEMPOTENCY_KEY="key-123",
    )
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


def test_idempotency_replays_a_failure_too(agent_api, open_room, fake_graph, send):
    fake_graph.send_errors = [(400, 131026, "Undeliverable")]
    data = {"to": CUSTOMER, "text": "x"}
    first = send(agent_api, "/messages/send", data, HTTP_IDEMPOTENCY_KEY="k-fail")
    second = send(agent_api, "/messages/send", data, HTTP_IDEMPOTENCY_KEY="k-fail")
    assert first.status_code == second.status_code == 422
    assert first.json() == second.json()
    assert len(fake_graph.messages_sent()) == 1


# --- templates ----------------------------------------------------------------------------

TEMPLATES = [
    {
        "name": "hello_world",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "1",
        "components": [{"type": "BODY", "text": "Hello World"}],
    },
    {
        "name": "payment_reminder",
        "language": "id",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "2",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Tagihan {{1}}"},
            {"type": "BODY", "text": "Halo {{1}}, tagihan {{2}} jatuh tempo {{3}}."},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "URL", "text": "Bayar", "url": "https://pay.example.co.id/{{1}}"}
                ],
            },
        ],
    },
    {
        "name": "promo_old",
        "language": "id",
        "status": "REJECTED",
        "category": "MARKETING",
        "id": "3",
        "components": [{"type": "BODY", "text": "Promo"}],
    },
    {
        "name": "collection_notice",
        "language": "id",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "4",
        "components": [{"type": "BODY", "text": "Notice"}],
    },
]


@pytest.fixture
def synced(fake_graph, settings):
    settings.WHATSAPP_BUSINESS_ACCOUNT_ID = "200000000000002"
    fake_graph.templates = TEMPLATES
    call_command("sync_templates")
    return fake_graph


def test_sync_templates_follows_metas_paging(synced, agent_api):
    listing = agent_api.get("/messages/templates").json()["results"]
    assert {(t["name"], t["language"], t["status"]) for t in listing} == {
        (t["name"], t["language"], t["status"]) for t in TEMPLATES
    }
    assert len(synced.calls("message_templates")) == 2


def test_template_to_a_new_number_outside_the_window_creates_the_room(
    agent_api, agent, synced, send, tap
):
    listener = tap(SUPERVISORS_GROUP)
    response = send(
        agent_api,
        "/messages/send-template",
        {
            "to": "+62 813-0000-1111",
            "templateName": "payment_reminder",
            "languageCode": "id",
            "headerParameters": ["Oktober"],
            "bodyParameters": ["Dewi", "Rp 1.250.000", "1 Nov"],
            "buttonParameters": [["INV-77"]],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "template"
    assert body["content_text"] == "Halo Dewi, tagihan Rp 1.250.000 jatuh tempo 1 Nov."
    assert synced.messages_sent() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "6281300001111",
            "type": "template",
            "template": {
                "name": "payment_reminder",
                "language": {"code": "id"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "Oktober"}]},
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Dewi"},
                            {"type": "text", "text": "Rp 1.250.000"},
                            {"type": "text", "text": "1 Nov"},
                        ],
                    },
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "0",
                        "parameters": [{"type": "text", "text": "INV-77"}],
                    },
                ],
            },
        }
    ]
    room = Room.objects.get(phone="6281300001111")
    assert RoomParticipant.objects.get(room=room).user == agent, "the sender owns the new room"
    events = [e for e, _ in listener.drain()]
    assert events == ["new_room_complete", "message_status"]


@pytest.mark.parametrize(
    "data, code",
    [
        ({"templateName": "nope", "languageCode": "id"}, "unknown_template"),
        ({"templateName": "hello_world", "languageCode": "id"}, "unknown_template"),
        ({"templateName": "promo_old", "languageCode": "id"}, "template_not_approved"),
        (
            {
                "templateName": "payment_reminder",
                "languageCode": "id",
                "bodyParameters": ["only one"],
                "headerParameters": ["x"],
            },
            "template_params_mismatch",
        ),
        (
            {"templateName": "hello_world", "languageCode": "en_US", "bodyParameters": ["extra"]},
            "template_params_mismatch",
        ),
    ],
)
def test_template_problems_are_refused_before_meta(agent_api, synced, send, data, code):
    response = send(agent_api, "/messages/send-template", {"to": CUSTOMER, **data})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert synced.messages_sent() == []
    assert Message.objects.count() == 0


def test_templates_admin_button_syncs(client, supervisor, fake_graph, settings):
    settings.WHATSAPP_BUSINESS_ACCOUNT_ID = "200000000000002"
    fake_graph.templates = TEMPLATES
    client.force_login(supervisor)
    page = client.get("/admin/messaging/messagetemplate/")
    assert b"Sync from WhatsApp" in page.content
    response = client.post("/admin/messaging/messagetemplate/sync/", follow=True)
    assert b"Synced 4 templates" in response.content
    from messaging.models import MessageTemplate

    assert MessageTemplate.objects.count() == 4


# --- media --------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000


def _upload(name, data, mime):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=mime)


def test_send_media_uploads_to_meta_and_fills_the_seed_columns(
    agent_api, open_room, fake_graph, send
):
    response = send(
        agent_api,
        "/messages/send-media-combined",
        {
            "media": _upload("ktp.png", PNG, "image/png"),
            "to": CUSTOMER,
            "caption": "Check this out!",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "image" and body["media_type"] == "image"
    assert body["mime_type"] == "image/png" and body["file_size"] == len(PNG)
    assert body["original_filename"] == "ktp.png"
    assert body["content_text"] == "Check this out!"
    assert body["gcs_url"] == f"/messages/{body['id']}/media"
    with default_storage.open(body["gcs_filename"], "rb") as stored:
        assert stored.read() == PNG
    [(media_id, (data, mime, filename))] = fake_graph.uploads.items()
    assert data == PNG and mime == "image/png" and filename == "ktp.png"
    assert body["media_id"] == media_id
    assert fake_graph.messages_sent()[0] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": "image",
        "image": {"id": media_id, "caption": "Check this out!"},
    }


def test_send_document_keeps_its_filename(agent_api, open_room, fake_graph, send):
    pdf = b"%PDF-1.4\n" + b"0" * 100
    response = send(
        agent_api,
        "/messages/send-media-combined",
        {"media": _upload("kontrak.pdf", pdf, "application/pdf"), "to": CUSTOMER},
        format="multipart",
    )
    assert response.status_code == 201
    sent = fake_graph.messages_sent()[0]
    assert sent["type"] == "document"
    assert sent["document"]["filename"] == "kontrak.pdf"


@pytest.mark.parametrize(
    "name, data, mime, extra, status, code",
    [
        (
            "big.png",
            b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 1),
            "image/png",
            {},
            413,
            "media_too_large",
        ),
        ("s.webp", b"RIFF" + b"0" * (500 * 1024 + 1), "image/webp", {}, 413, "media_too_large"),
        ("a.zip", b"PK\x03\x04", "application/zip", {}, 400, "invalid_media"),
        ("x.png", PNG, "image/png", {"type": "video"}, 400, "invalid_media"),
        (
            "v.ogg",
            b"OggS",
            "audio/ogg",
            {"caption": "no captions on audio"},
            400,
            "invalid_request",
        ),
    ],
)
def test_media_is_checked_against_whatsapps_limits(
    agent_api, open_room, fake_graph, send, name, data, mime, extra, status, code
):
    response = send(
        agent_api,
        "/messages/send-media-combined",
        {"media": _upload(name, data, mime), "to": CUSTOMER, **extra},
        format="multipart",
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert fake_graph.requests == []
    assert Message.objects.filter(user__isnull=False).count() == 0


# --- reactions, read, forward, retry ------------------------------------------------------


def test_react_and_remove_a_reaction(agent_api, open_room, fake_graph, send):
    target = Message.objects.get(wa_message_id="wamid.CUSTOMER-1")
    added = send(agent_api, "/messages/react", {"message_id": str(target.id), "emoji": "👍"})
    assert added.status_code == 201
    removed = send(agent_api, "/messages/react", {"message_id": str(target.id), "emoji": ""})
    assert removed.status_code == 201
    assert [m["reaction"] for m in fake_graph.messages_sent()] == [
        {"message_id": "wamid.CUSTOMER-1", "emoji": "👍"},
        {"message_id": "wamid.CUSTOMER-1", "emoji": ""},
    ]
    assert not Message.objects.filter(
        content_type="reaction", reaction_emoji__isnull=False
    ).exists()


def test_mark_read_sends_a_receipt_and_resets_the_callers_unread(
    agent_api, agent, open_room, fake_graph, send, tap
):
    from boztell.realtime import user_group

    assert agent_api.get("/rooms/").json()["results"][0]["unread_count"] == 1
    mine = tap(user_group(agent.id))
    response = send(agent_api, "/messages/mark-read", {"room_id": str(open_room.id)})
    assert response.status_code == 200
    assert response.json()["read_receipt"] == "sent"
    receipt = fake_graph.calls("/messages")[0].json()
    assert receipt == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.CUSTOMER-1",
    }
    assert agent_api.get("/rooms/").json()["results"][0]["unread_count"] == 0
    assert [e for e, _ in mine.drain()] == ["room_read"]


def test_forward_a_text_to_another_customer(agent_api, open_room, fake_graph, send):
    RoomFactory(phone="6281234567002", last_customer_message_at=timezone.now())
    source = Message.objects.get(wa_message_id="wamid.CUSTOMER-1")
    response = send(agent_api, f"/messages/{source.id}/forward", {"to": "081234567002"})
    assert response.status_code == 201
    assert fake_graph.messages_sent()[0]["to"] == "6281234567002"
    assert fake_graph.messages_sent()[0]["text"]["body"] == "Halo"


def test_retry_a_failed_message(agent_api, open_room, fake_graph, send):
    fake_graph.send_errors = [(500, 1, "Temporary")]
    failed = send(agent_api, "/messages/send", {"to": CUSTOMER, "text": "try again"})
    message_id = failed.json()["error"]["details"]["message_id"]
    retried = send(agent_api, f"/messages/{message_id}/retry", {})
    assert retried.status_code == 201
    assert retried.json()["id"] == message_id
    assert retried.json()["status"] == "sent"
    again = send(agent_api, f"/messages/{message_id}/retry", {})
    assert again.status_code == 409


def test_test_endpoint_checks_without_messaging_anyone(agent_api, open_room, fake_graph):
    response = agent_api.post(
        "/messages/test", {"to": "0812-3456-7001", "text": "x"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["to"] == CUSTOMER and body["window_open"] is True
    assert body["whatsapp"]["mode"] == "live"
    assert body["whatsapp"]["access_token_set"] is True
    assert "EAAG-fake-graph-token" not in response.content.decode(), "no secret in the answer"
    closed = agent_api.post(
        "/messages/test", {"to": "081299990000", "text": "x"}, format="json"
    ).json()
    assert closed["ok"] is False and "24-hour" in closed["problems"][0]
    assert fake_graph.requests == []


@pytest.mark.parametrize(
    "name, data, mime, kind",
    [
        ("clip.mp4", b"\x00\x00\x00\x18ftypmp42" + b"0" * 500, "video/mp4", "video"),
        ("voice.ogg", b"OggS" + b"0" * 500, "audio/ogg", "audio"),
        ("hello.webp", b"RIFF" + b"0" * 500 + b"WEBP", "image/webp", "sticker"),
    ],
)
def test_video_audio_and_sticker_reach_meta_in_its_exact_format(
    agent_api, open_room, fake_graph, send, name, data, mime, kind
):
    response = send(
        agent_api,
        "/messages/send-media-combined",
        {"media": _upload(name, data, mime), "to": CUSTOMER},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    [media_id] = fake_graph.uploads
    assert fake_graph.uploads[media_id][1] == mime
    assert fake_graph.messages_sent() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": CUSTOMER,
            "type": kind,
            kind: {"id": media_id},
        }
    ]
    assert response.json()["media_type"] == kind


def test_factories_make_every_model(db):
    from tests import factories

    for name in (
        "UserFactory",
        "SupervisorFactory",
        "LeadFactory",
        "RoomFactory",
        "RoomParticipantFactory",
        "MessageFactory",
        "MessageTemplateFactory",
        "PendingStatusFactory",
        "IdempotencyKeyFactory",
        "EventFactory",
    ):
        instance = getattr(factories, name)()
        assert instance.pk is not None, name


def test_test_endpoint_applies_the_sends_visibility_rule(
    agent_api, other_agent_api, agent, open_room, fake_graph, send, supervisor_api
):
    from rooms.services import room_assign

    room_assign(room=open_room, agent=agent, by=agent)
    payload = {"to": "0812-3456-7001", "text": "x"}
    real = send(other_agent_api, "/messages/send", payload)
    assert real.status_code == 403 and real.json()["error"]["code"] == "room_not_visible"
    preview = other_agent_api.post("/messages/test", payload, format="json")
    assert preview.status_code == 403
    assert preview.json()["error"]["code"] == "room_not_visible"
    assert str(open_room.id) not in preview.content.decode()
    assert "window_open" not in preview.content.decode()
    for allowed in (agent_api, supervisor_api):
        ok = allowed.post("/messages/test", payload, format="json")
        assert ok.status_code == 200 and ok.json()["room_id"] == str(open_room.id)
    assert fake_graph.messages_sent() == []


# --- whoever the room is: phone, BSUID, room_id -------------------------------------------

BSUID = "ID.2081978709342942"


@pytest.fixture
def username_room():
    """A username customer Meta shows no number of, who wrote a minute ago."""
    now = timezone.now()
    room = RoomFactory(
        phone=None,
        user_id=BSUID,
        username="rina.kredit",
        title="Rina",
        last_customer_message_at=now,
        last_message_at=now,
        message_count=1,
    )
    MessageFactory(room=room, wa_message_id="wamid.BSUID-CUSTOMER-1", content_text="Halo")
    return room


def test_text_to_a_bsuid_goes_out_as_recipient_not_to(agent_api, username_room, fake_graph, send):
    response = send(agent_api, "/messages/send", {"to": BSUID, "text": "Halo Rina"})
    assert response.status_code == 201, response.content
    assert response.json()["room_id"] == str(username_room.pk)
    assert fake_graph.messages_sent() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "recipient": BSUID,
            "type": "text",
            "text": {"body": "Halo Rina", "preview_url": True},
        }
    ]
    assert Message.objects.get(pk=response.json()["id"]).status == "sent"


def test_room_id_addresses_a_bsuid_room_by_recipient_and_a_phone_room_by_to(
    agent_api, username_room, open_room, fake_graph, send
):
    first = send(agent_api, "/messages/send", {"room_id": str(username_room.pk), "text": "A"})
    second = send(agent_api, "/messages/send", {"room_id": str(open_room.pk), "text": "B"})
    assert first.status_code == 201 and second.status_code == 201
    sent = fake_graph.messages_sent()
    assert sent[0]["recipient"] == BSUID and "to" not in sent[0]
    assert sent[1]["to"] == CUSTOMER and "recipient" not in sent[1]


def test_a_room_known_by_phone_and_bsuid_is_sent_to_by_phone(
    agent_api, open_room, fake_graph, send
):
    Room.objects.filter(pk=open_room.pk).update(user_id=BSUID)
    response = send(agent_api, "/messages/send", {"to": BSUID, "text": "Halo"})
    assert response.status_code == 201
    [sent] = fake_graph.messages_sent()
    assert sent["to"] == CUSTOMER and "recipient" not in sent


@pytest.mark.parametrize("spelling", ["+62 0812 3456 7001", "0812-3456-7001", "6281234567001"])
def test_every_spelling_reaches_the_same_room(agent_api, open_room, fake_graph, send, spelling):
    response = send(agent_api, "/messages/send", {"to": spelling, "text": "Halo"})
    assert response.status_code == 201
    assert response.json()["room_id"] == str(open_room.pk)
    assert fake_graph.messages_sent()[0]["to"] == CUSTOMER
    assert Room.objects.count() == 1


def test_an_impossible_number_is_400_invalid_phone(agent_api, fake_graph, send):
    response = send(agent_api, "/messages/send", {"to": "12345678", "text": "Halo"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_phone"
    assert Message.objects.count() == 0 and fake_graph.messages_sent() == []


@pytest.mark.parametrize(
    "data, status, code",
    [
        ({"text": "Halo"}, 400, "invalid_request"),
        ({"room_id": "00000000-0000-0000-0000-000000000000", "text": "x"}, 404, "unknown_room"),
        ({"room_id": "not-a-uuid", "text": "x"}, 400, "invalid_request"),
    ],
)
def test_a_send_without_a_customer_is_a_clear_4xx(agent_api, fake_graph, send, data, status, code):
    response = send(agent_api, "/messages/send", data)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_to_and_room_id_naming_different_customers_is_refused(
    agent_api, username_room, open_room, fake_graph, send
):
    response = send(
        agent_api, "/messages/send", {"room_id": str(username_room.pk), "to": CUSTOMER, "text": "x"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "recipient_mismatch"
    assert fake_graph.messages_sent() == []


def test_template_to_a_new_bsuid_makes_its_room_and_goes_out_as_recipient(agent_api, synced, send):
    response = send(
        agent_api,
        "/messages/send-template",
        {"to": "ID.5551978709340007", "templateName": "hello_world", "languageCode": "en_US"},
    )
    assert response.status_code == 201, response.content
    room = Room.objects.get(user_id="ID.5551978709340007")
    assert room.phone is None and room.display_title == "WhatsApp customer"
    [sent] = synced.messages_sent()
    assert sent["recipient"] == "ID.5551978709340007" and "to" not in sent
    assert sent["template"]["name"] == "hello_world"


def test_metas_bsuid_refusal_maps_to_a_stable_code(agent_api, synced, username_room, send):
    synced.send_errors.append(
        (400, 131062, "Business-scoped User ID recipients are not supported for this message.")
    )
    response = send(
        agent_api,
        "/messages/send-template",
        {"room_id": str(username_room.pk), "templateName": "hello_world"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "recipient_needs_phone"
    message = Message.objects.get(room=username_room, user__isnull=False)
    assert message.status == "failed"
    assert message.metadata["error"]["code"] == 131062


def test_media_to_a_bsuid_room_goes_out_as_recipient(agent_api, username_room, fake_graph, send):
    response = send(
        agent_api,
        "/messages/send-media-combined",
        {"media": _upload("ktp.png", PNG, "image/png"), "room_id": str(username_room.pk)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    [sent] = fake_graph.messages_sent()
    assert sent["recipient"] == BSUID and "to" not in sent and sent["type"] == "image"


def test_retry_and_reaction_in_a_bsuid_room_go_out_as_recipient(
    agent_api, agent, username_room, fake_graph, send
):
    fake_graph.send_errors.append((500, 1, "Service temporarily unavailable"))
    failed = send(agent_api, "/messages/send", {"room_id": str(username_room.pk), "text": "x"})
    assert failed.status_code == 502
    retried = send(
        agent_api, f"/messages/{failed.json()['error']['details']['message_id']}/retry", {}
    )
    assert retried.status_code == 201, retried.content
    target = Message.objects.get(wa_message_id="wamid.BSUID-CUSTOMER-1")
    reacted = send(agent_api, "/messages/react", {"message_id": str(target.pk), "emoji": "👍"})
    assert reacted.status_code == 201, reacted.content
    sent = fake_graph.messages_sent()
    assert [s.get("recipient") for s in sent] == [BSUID, BSUID, BSUID]
    assert not any("to" in s for s in sent)


def test_the_rooms_api_shows_the_bsuid_username_and_an_empty_room_phone(agent_api, username_room):
    row = agent_api.get(f"/rooms/{username_room.pk}").json()
    assert row["room_phone"] == "" and row["room_user_id"] == BSUID
    assert row["room_username"] == "rina.kredit" and row["room_title"] == "Rina"


def test_a_graph_api_that_refuses_connections_is_tried_three_times_then_a_clear_502(
    agent_api, open_room, send, settings
):
    from tests.helpers import free_port

    # Nothing listens there: every try is refused before anything reaches Meta.
    settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{free_port()}"
    settings.WHATSAPP_ACCESS_TOKEN = "EAAG-fake-graph-token"
    settings.WHATSAPP_BACKEND = "messaging.whatsapp.GraphClient"
    from messaging import whatsapp

    tries = []
    session = whatsapp._http()
    original = session.post

    def post(*args, **kwargs):
        tries.append(1)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(session, "post", post)
        response = send(agent_api, "/messages/send", {"to": CUSTOMER, "text": "offline"})
    assert response.status_code == 502, response.content
    assert len(tries) == 3
    message = Message.objects.get(pk=response.json()["error"]["details"]["message_id"])
    assert message.status == "failed"
