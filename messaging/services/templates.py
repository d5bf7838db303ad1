"""Writes for WhatsApp message templates: sync them from Meta, and refresh them (at most
once per TEMPLATE_REFRESH_SECONDS) when a send names one not known here."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from messaging import whatsapp
from messaging.models import MessageTemplate, TemplateSyncState

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
        TemplateSyncState.objects.update_or_create(
            pk=1, defaults={"attempted_at": now, "succeeded_at": timezone.now(), "error": ""}
        )
    logger.info("templates synced created=%s updated=%s removed=%s", created, updated, len(stale))
    return {"created": created, "updated": updated, "removed": len(stale), "total": len(seen)}


def template_refresh() -> bool:
    """Fetch the templates from Meta unless that was done (or tried) in the last
    TEMPLATE_REFRESH_SECONDS, by any process. True when the local table reflects Meta
    (fetched now, or recently with success); False when Meta could not be asked (no
    business account id, a Graph error or timeout, or another process is fetching), and
    the caller should let Meta decide."""
    if not whatsapp.is_sandbox() and not settings.WHATSAPP_BUSINESS_ACCOUNT_ID:
        return False
    now = timezone.now()
    due = now - timedelta(seconds=settings.TEMPLATE_REFRESH_SECONDS)
    TemplateSyncState.objects.get_or_create(
        pk=1, defaults={"attempted_at": due - timedelta(seconds=1)}
    )
    # One conditional UPDATE claims the refresh: of processes racing here, one wins.
    claimed = TemplateSyncState.objects.filter(pk=1, attempted_at__lte=due).update(
        attempted_at=now, error=""
    )
    if not claimed:
        state = TemplateSyncState.objects.get(pk=1)
        return state.succeeded_at is not None and state.succeeded_at >= state.attempted_at
    try:
        template_sync()
    except whatsapp.GraphError as exc:
        TemplateSyncState.objects.filter(pk=1).update(error=str(exc.message)[:500])
        logger.warning("template refresh failed: %s", exc.message)
        return False
    return True


# Other apps hear of a template's new status here (campaigns pause the ones sending it).
TEMPLATE_STATUS_LISTENERS: list = []


def template_status_apply(*, name: str, language: str, event: str, reason: str = "") -> int:
    """Meta's `message_template_status_update`: the template's status as Meta now has it
    (APPROVED, PAUSED, REJECTED, DISABLED, ...); listeners hear it after. Idempotent."""
    with transaction.atomic():
        templates = list(
            MessageTemplate.objects.select_for_update().filter(name=name, language=language)
        )
        for template in templates:
            if template.status != event:
                template.status = event
                template.save(update_fields=["status"])
            for listener in TEMPLATE_STATUS_LISTENERS:
                listener(template=template, event=event, reason=reason)
    logger.info("template %s/%s is %s (%s)", name, language, event, reason or "-")
    return len(templates)
