"""Writes for WhatsApp message templates: sync them from Meta."""

import logging

from django.db import transaction
from django.utils import timezone

from messaging import whatsapp
from messaging.models import MessageTemplate

logger = logging.getLogger("boztell.templates")


def template_sync() -> dict:
    """Fetch every template of the business account and mirror it here (one row per name
    and language); templates gone from Meta are removed."""
    remote = whatsapp.list_templates()
    now = timezone.now()
    seen = set()
    created = updated = 0
    with transaction.atomic():
        for item in remote:
            key = (item["name"], item["language"])
            seen.add(key)
            _, was_created = MessageTemplate.objects.update_or_create(
                name=item["name"],
                language=item["language"],
                defaults={
                    "meta_id": str(item.get("id", "")),
                    "status": item.get("status", ""),
                    "category": item.get("category", ""),
                    "components": item.get("components", []),
                    "synced_at": now,
                },
            )
            created += was_created
            updated += not was_created
        stale = [t.pk for t in MessageTemplate.objects.all() if (t.name, t.language) not in seen]
        MessageTemplate.objects.filter(pk__in=stale).delete()
    logger.info("templates synced created=%s updated=%s removed=%s", created, updated, len(stale))
    return {"created": created, "updated": updated, "removed": len(stale), "total": len(seen)}
