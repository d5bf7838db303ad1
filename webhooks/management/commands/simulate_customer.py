"""Post a signed customer webhook to a running Boztell, as Meta would.

manage.py simulate_customer --phone 081234567001 --text "Halo"
manage.py simulate_customer --phone 0812... --image photo.jpg --caption "KTP"
manage.py simulate_customer --phone 0812... --location -6.2,106.8 --name "Kantor"
manage.py simulate_customer --phone 0812... --react <wamid> --emoji 👍
manage.py simulate_customer --user-id ID.2081978709342942 --username rina --text "Halo"
  (a customer with a WhatsApp username: Meta shows their BSUID, not their number)
"""

import json
import mimetypes
import time
import uuid
from pathlib import Path

import requests
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from boztell.phones import InvalidPhone, is_bsuid, normalize_phone
from webhooks.sandbox import envelope, sandbox_media_id
from webhooks.signature import signature_for


class Command(BaseCommand):
    help = "Send a signed customer message webhook (any type) to a running server."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/webhooks/whatsapp",
            help="The running server's webhook (default: scripts/run's port 8000).",
        )
        parser.add_argument("--phone", help="The customer's number (any spelling).")
        parser.add_argument("--user-id", help="The customer's BSUID (ID.2081...).")
        parser.add_argument("--username", default="", help="The customer's WhatsApp username.")
        parser.add_argument("--name", default="", help="Profile name (or place name).")
        parser.add_argument("--text")
        parser.add_argument("--image", help="A file to send as an image.")
        parser.add_argument("--document", help="A file to send as a document.")
        parser.add_argument("--caption", default="")
        parser.add_argument("--location", help="latitude,longitude")
        parser.add_argument("--address", default="")
        parser.add_argument("--react", help="wa_message_id to react to")
        parser.add_argument("--emoji", default="👍")
        parser.add_argument("--reply-to", help="wa_message_id this message replies to")

    def handle(self, *args, **options):
        wa_id, user_id = None, options["user_id"]
        if not options["phone"] and not user_id:
            raise CommandError("Give --phone, --user-id (a BSUID), or both.")
        if options["phone"]:
            try:
                wa_id = normalize_phone(options["phone"])
            except InvalidPhone as exc:
                raise CommandError(exc.message) from exc
        if user_id and not is_bsuid(user_id):
            raise CommandError(f"'{user_id}' is not a BSUID (like ID.2081978709342942).")
        message = {
            "id": f"wamid.SIM{uuid.uuid4().hex.upper()}",
            "timestamp": str(int(time.time())),
        }
        if wa_id:
            message["from"] = wa_id
        if user_id:
            message["from_user_id"] = user_id
        if options["react"]:
            message.update(
                type="reaction",
                reaction={"message_id": options["react"], "emoji": options["emoji"]},
            )
        elif options["location"]:
            lat, _, lng = options["location"].partition(",")
            message.update(
                type="location",
                location={
                    "latitude": float(lat),
                    "longitude": float(lng),
                    "name": options["name"],
                    "address": options["address"],
                },
            )
        elif options["image"] or options["document"]:
            kind = "image" if options["image"] else "document"
            path = Path(options[kind])
            if not path.is_file():
                raise CommandError(f"No file at {path}.")
            media_id = sandbox_media_id()
            # The sandbox serves media it finds under sandbox-media/<media_id>.
            default_storage.save(f"sandbox-media/{media_id}", path.open("rb"))
            body = {
                "id": media_id,
                "mime_type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            }
            if options["caption"]:
                body["caption"] = options["caption"]
            if kind == "document":
                body["filename"] = path.name
            message.update(type=kind, **{kind: body})
        else:
            message.update(type="text", text={"body": options["text"] or "Halo dari simulator"})
        if options["reply_to"]:
            message["context"] = {"from": "sandbox", "id": options["reply_to"]}
        contact: dict = {
            "profile": {"name": options["name"] or f"Customer {(wa_id or user_id)[-4:]}"}
        }
        if options["username"]:
            contact["profile"]["username"] = options["username"].lstrip("@")
        if wa_id:
            contact["wa_id"] = wa_id
        if user_id:
            contact["user_id"] = user_id
        body = envelope({"contacts": [contact], "messages": [message]})
        raw = json.dumps(body).encode()
        try:
            response = requests.post(
                options["url"],
                data=raw,
                timeout=15,
                headers={
                    "Content-Type": "application/json",
                    "X-Hub-Signature-256": signature_for(raw, settings.WHATSAPP_APP_SECRET),
                },
            )
        except requests.RequestException as exc:
            raise CommandError(f"Could not reach {options['url']}: {exc}") from exc
        if response.status_code != 200:
            raise CommandError(f"The server answered {response.status_code}: {response.text}")
        sender = " / ".join(x for x in (wa_id, user_id) if x)
        self.stdout.write(f"{message['type']} {message['id']} from {sender}: {response.text}")
