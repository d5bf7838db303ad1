"""The embedded default's sandbox: sends answered as Meta would, statuses played back
through the real webhook path; simulate_customer posts signed webhooks to a server."""

import io
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from messaging.models import Message
from tests.factories import RoomFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _wait_for(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sandbox_send_plays_back_sent_delivered_read(agent_api, settings):
    settings.WHATSAPP_ACCESS_TOKEN = ""
    settings.WHATSAPP_BACKEND = "webhooks.sandbox.SandboxClient"
    settings.WHATSAPP_SANDBOX_STATUS_DELAYS = ["0.05", "0.05", "0.05"]
    now = timezone.now()
    RoomFactory(phone="6281234567001", last_customer_message_at=now, last_message_at=now)
    response = agent_api.post(
        "/messages/send", {"to": "081234567001", "text": "sandbox"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["wa_message_id"].startswith("wamid.SANDBOX")
    message_id = response.json()["id"]
    assert _wait_for(lambda: Message.objects.get(pk=message_id).status == "read")


def test_simulate_customer_posts_a_signed_message_to_a_running_server(live_server):
    out = io.StringIO()
    call_command(
        "simulate_customer",
        "--url",
        f"{live_server.url}/webhooks/whatsapp",
        "--phone",
        "0812-5555-0001",
        "--name",
        "Sim Customer",
        "--text",
        "Halo!",
        stdout=out,
    )
    message = Message.objects.get()
    assert message.content_text == "Halo!"
    assert message.room.phone == "6281255550001"
    assert message.room.title == "Sim Customer"
    assert "messages_created" in out.getvalue()


def test_simulate_customer_as_a_username_customer(live_server):
    out = io.StringIO()
    call_command(
        "simulate_customer",
        "--url",
        f"{live_server.url}/webhooks/whatsapp",
        "--user-id",
        "ID.2081978709342942",
        "--username",
        "@rina",
        "--text",
        "Halo!",
        stdout=out,
    )
    room = Message.objects.get().room
    assert (room.phone, room.user_id, room.username) == (None, "ID.2081978709342942", "rina")
    assert "messages_created" in out.getvalue()


def test_simulate_customer_location_and_reaction(live_server):
    url = f"{live_server.url}/webhooks/whatsapp"
    call_command(
        "simulate_customer",
        "--url",
        url,
        "--phone",
        "081255550002",
        "--location=-6.2,106.8",
        "--name",
        "Kantor",
        "--address",
        "Jakarta",
        stdout=io.StringIO(),
    )
    located = Message.objects.get(content_type="location")
    assert located.content_text == "Kantor, Jakarta"
    call_command(
        "simulate_customer",
        "--url",
        url,
        "--phone",
        "081255550002",
        "--react",
        located.wa_message_id,
        "--emoji",
        "❤️",
        stdout=io.StringIO(),
    )
    assert Message.objects.get(content_type="reaction").reaction_emoji == "❤️"


def test_simulate_customer_image_is_fetched_through_the_sandbox(live_server, settings, tmp_path):
    settings.WHATSAPP_ACCESS_TOKEN = ""
    settings.WHATSAPP_BACKEND = "webhooks.sandbox.SandboxClient"
    photo = tmp_path / "ktp.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"j" * 500)
    call_command(
        "simulate_customer",
        "--url",
        f"{live_server.url}/webhooks/whatsapp",
        "--phone",
        "081255550003",
        "--image",
        str(photo),
        "--caption",
        "KTP",
        stdout=io.StringIO(),
    )
    message = Message.objects.get()
    assert message.content_text == "KTP"
    assert _wait_for(lambda: Message.objects.get().metadata.get("media_status") == "ready")
    message.refresh_from_db()
    assert message.file_size == 503
