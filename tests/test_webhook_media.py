"""Inbound media: stored and visible at once, bytes fetched from the Graph API after the
webhook has answered, saved in GCS (gcp-storage-emulator), retried with backoff."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from messaging.models import Message
from rooms.models import Room
from tests.factories import RoomParticipantFactory
from tests.helpers import load_fixture, signed_post

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"customer-photo" * 100
PDF = b"%PDF-1.4 slip gaji" + b"0" * 2048
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def _post(body):
        with django_capture_on_commit_callbacks(execute=True):
            return signed_post(client, body)

    return _post


@pytest.fixture
def committed_post(client):
    """Commits for real: the worker runs in its own transactions, as in production."""

    def _post(body):
        return signed_post(client, body)

    return _post


def _run_worker():
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.01")


def test_image_is_fetched_and_saved_to_gcs_with_the_seed_columns(post, fake_graph):
    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    assert post(load_fixture("image")).status_code == 200
    message = Message.objects.get()
    assert message.metadata["media_status"] == "ready"
    assert message.gcs_filename.startswith(f"whatsapp/{message.room_id}/")
    assert message.gcs_filename.endswith(".jpg")
    assert message.gcs_url == f"/messages/{message.id}/media"
    assert message.file_size == len(JPEG)
    assert message.mime_type == "image/jpeg"
    assert message.content_text == "Foto KTP saya"
    with default_storage.open(message.gcs_filename, "rb") as stored:
        assert stored.read() == JPEG
    info, download = fake_graph.requests
    assert info.path == "/v21.0/1479537139650973"
    assert download.path == "/download/1479537139650973"
    assert download.headers["Authorization"] == "Bearer EAAG-fake-graph-token"


def test_document_keeps_its_original_filename(post, fake_graph):
    fake_graph.media["1479537139650976"] = (PDF, "application/pdf")
    post(load_fixture("document"))
    message = Message.objects.get()
    assert message.original_filename == "slip-gaji-oktober.pdf"
    assert message.gcs_filename.endswith(".pdf")
    assert message.file_size == len(PDF)


def test_media_download_is_only_for_who_may_see_the_room(
    post, fake_graph, client, agent, other_agent, supervisor
):
    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    post(load_fixture("image"))
    message = Message.objects.get()
    RoomParticipantFactory(room=message.room, user=agent)

    assert client.get(message.gcs_url).status_code in (401, 403)
    for user, status in ((agent, 200), (supervisor, 200), (other_agent, 404)):
        client.force_login(user)
        response = client.get(message.gcs_url)
        assert response.status_code == status, user
        if status == 200:
            assert b"".join(response.streaming_content) == JPEG
            assert response["Content-Type"] == "image/jpeg"


@pytest.mark.django_db(transaction=True)
def test_bytes_are_fetched_after_the_webhook_answered(committed_post, fake_graph, settings):
    settings.TASKS = DB_TASKS
    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    response = committed_post(load_fixture("image"))
    assert response.status_code == 200
    message = Message.objects.get()
    assert message.metadata["media_status"] == "pending"
    assert message.media_id == "1479537139650973" and message.mime_type == "image/jpeg"
    assert message.gcs_filename is None
    assert fake_graph.requests == [], "nothing fetched before the answer"
    _run_worker()
    message.refresh_from_db()
    assert message.metadata["media_status"] == "ready"
    assert message.file_size == len(JPEG)


@pytest.mark.django_db(transaction=True)
def test_a_failed_download_is_retried_with_backoff_then_succeeds(
    committed_post, fake_graph, settings
):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DB_TASKS
    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    fake_graph.fail_next["/download/"] = [503]
    committed_post(load_fixture("image"))
    _run_worker()
    message = Message.objects.get()
    assert message.metadata["media_status"] == "pending"
    assert message.metadata["media_attempts"] == 1
    retry = DBTaskResult.objects.get(status="READY")
    delay = retry.run_after - timezone.now()
    assert timedelta(seconds=5) < delay <= timedelta(seconds=16), "backs off before retrying"
    assert retry.args_kwargs["args"][1] == 2

    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())  # time passes
    _run_worker()
    message.refresh_from_db()
    assert message.metadata["media_status"] == "ready"
    assert "media_error" not in message.metadata


@pytest.mark.django_db(transaction=True)
def test_a_download_that_keeps_failing_ends_failed_and_nothing_else_fails(
    committed_post, fake_graph, settings
):
    from messaging import tasks

    settings.TASKS = DB_TASKS
    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    fake_graph.fail_next["/download/"] = [503] * tasks.MAX_ATTEMPTS
    committed_post(load_fixture("image"))
    from django_tasks_db.models import DBTaskResult

    for _ in range(tasks.MAX_ATTEMPTS):
        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
        _run_worker()
    message = Message.objects.get()
    assert message.metadata["media_status"] == "failed"
    assert message.metadata["media_attempts"] == tasks.MAX_ATTEMPTS
    assert "unavailable" in message.metadata["media_error"].lower()
    # the room and later messages are unaffected
    assert committed_post(load_fixture("text")).status_code == 200
    assert Room.objects.get().message_count == 2


def test_an_unknown_media_id_fails_at_once_without_retrying(post, fake_graph):
    post(load_fixture("image"))  # the fake Graph API has no such media
    message = Message.objects.get()
    assert message.metadata["media_status"] == "failed"
    assert message.metadata["media_attempts"] == 1
    assert "does not exist" in message.metadata["media_error"]


def test_whatsapp_size_limits_are_enforced(post, fake_graph):
    fake_graph.media["1479537139650973"] = (JPEG, "image/jpeg")
    fake_graph.declared_sizes["1479537139650973"] = 6 * 1024 * 1024  # images: 5 MB
    post(load_fixture("image"))
    message = Message.objects.get()
    assert message.metadata["media_status"] == "failed"
    assert message.metadata["media_error"].startswith("media_too_large")
    assert fake_graph.calls("/download/") == [], "an oversize file is never downloaded"


def test_a_file_larger_than_declared_is_cut_off_mid_stream(post, fake_graph):
    big = b"RIFF" + b"x" * (600 * 1024)  # stickers: 500 KB
    fake_graph.media["1479537139650977"] = (big, "image/webp")
    fake_graph.declared_sizes["1479537139650977"] = 1000
    post(load_fixture("sticker"))
    message = Message.objects.get()
    assert message.metadata["media_status"] == "failed"
    assert message.gcs_filename is None
