"""Writes for campaigns: create and edit (each edit bumps the version), preview (a dry
run of the current version), start (freeze the audience), pause, resume, cancel.

Nothing starts without a preview of the version being started. The audience is frozen at
start into one CampaignRecipient per customer identity (phone, else BSUID); excluded rows
are kept beside them with their reason, so the supervisor sees every row of the file.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from boztell.bulk import insert_returning_ids
from boztell.errors import BoztellError
from boztell.models import User
from boztell.phones import InvalidPhone, is_bsuid, normalize_phone
from campaigns import audience as audiences
from campaigns.events import emit_campaign_progress
from campaigns.models import Campaign, CampaignRecipient, OptOut
from campaigns.rendering import MissingParameter, mapping_check, recipient_parameters
from campaigns.selectors import recipients_retry_waiting
from messaging.models import MessageTemplate
from messaging.services.templates import template_refresh

logger = logging.getLogger("boztell.campaigns")

JAKARTA = ZoneInfo("Asia/Jakarta")
PREVIEW_ROWS = 5
EDITABLE = (Campaign.Status.DRAFT,)


class CampaignError(BoztellError):
    code = "campaign_error"
    status = 409


class PreviewRequired(CampaignError):
    code = "preview_required"


# --- create and edit -------------------------------------------------------------------


def _template(name: str, language: str) -> MessageTemplate:
    """The approved template, from the local table; fetched from Meta first when it is not
    there, as a template send does (messaging.services.templates.template_refresh)."""
    template = MessageTemplate.objects.filter(name=name, language=language).first()
    if template is None and template_refresh():
        template = MessageTemplate.objects.filter(name=name, language=language).first()
    if template is None:
        raise BoztellError(
            f"No synced template '{name}' in '{language}' (sync templates from Meta first).",
            code="unknown_template",
        )
    if template.status != MessageTemplate.Status.APPROVED:
        raise BoztellError(
            f"Template '{name}' is {template.status.lower()}; only approved ones can be sent.",
            code="template_not_approved",
        )
    return template


def _start_at(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=JAKARTA)  # a time without zone is Jakarta's
    return value


def campaign_create(
    *,
    created_by: User,
    name: str,
    template_name: str,
    language: str,
    parameters: dict | None = None,
    rows: list[dict] | None = None,
    columns: list[str] | None = None,
    audience_source: str = "",
    segment_id=None,
    start_at=None,
    only_business_hours: bool = False,
    frequency_cap: bool = False,
    retry_frequency_capped_hours: int | None = None,
) -> Campaign:
    if not created_by.is_supervisor:
        raise BoztellError("Only supervisors create campaigns.", code="forbidden", status=403)
    name = (name or "").strip()
    if not name:
        raise BoztellError("A campaign needs a name.", code="invalid_request")
    template = _template(template_name, language)
    if segment_id and rows:
        raise BoztellError("Give rows or a segment, not both.", code="invalid_audience")
    if segment_id:
        audiences.segment_leads(segment_id)  # refused now if segments do not exist
    parameters = parameters or {}
    mapping_check(template, parameters, columns if rows is not None else None)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name,
            template=template,
            audience_kind=Campaign.Audience.SEGMENT if segment_id else Campaign.Audience.ROWS,
            audience_rows=rows or [],
            audience_columns=columns or [],
            audience_size=len(rows or []),
            audience_source=audience_source,
            segment_id=segment_id,
            parameters=parameters,
            start_at=_start_at(start_at),
            only_business_hours=only_business_hours,
            frequency_cap=frequency_cap,
            retry_frequency_capped_hours=retry_frequency_capped_hours,
            phone_number_id=settings.WHATSAPP_PHONE_NUMBER_ID,
            created_by=created_by,
        )
    logger.info("campaign created id=%s template=%s", campaign.pk, template.name)
    return campaign


def campaign_update(*, campaign: Campaign, by: User, **changes) -> Campaign:
    """Edit a draft: any field given changes, the version goes up, the preview is void."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in EDITABLE:
            raise CampaignError(
                f"A {campaign.status} campaign cannot be edited.", code="not_editable"
            )
        if "template_name" in changes or "language" in changes:
            campaign.template = _template(
                changes.pop("template_name", campaign.template.name),
                changes.pop("language", campaign.template.language),
            )
        if "start_at" in changes:
            changes["start_at"] = _start_at(changes["start_at"])
        if "rows" in changes:
            campaign.audience_rows = changes.pop("rows") or []
            campaign.audience_columns = changes.pop("columns", None) or []
            campaign.audience_size = len(campaign.audience_rows)
            campaign.audience_kind = Campaign.Audience.ROWS
            campaign.segment_id = None
        if changes.get("segment_id"):
            audiences.segment_leads(changes["segment_id"])
            campaign.audience_kind = Campaign.Audience.SEGMENT
            campaign.audience_rows, campaign.audience_columns = [], []
            campaign.audience_size = 0
        for key, value in changes.items():
            setattr(campaign, key, value)
        known = campaign.audience_columns if campaign.audience_kind == "rows" else None
        mapping_check(campaign.template, campaign.parameters, known)
        campaign.version = F("version") + 1
        campaign.preview = {}
        campaign.save()
        campaign.refresh_from_db()
    return campaign


def campaign_set_audience_file(*, campaign: Campaign, by: User, data: bytes, filename: str):
    rows, columns = audiences.audience_from_file(data=data, filename=filename)
    return campaign_update(
        campaign=campaign, by=by, rows=rows, columns=columns, audience_source=filename
    )


def campaign_set_audience_leads(*, campaign: Campaign, by: User, leads) -> Campaign:
    rows, columns = audiences.campaign_audience_from_leads(leads)
    return campaign_update(
        campaign=campaign, by=by, rows=rows, columns=columns, audience_source="leads"
    )


# --- evaluation: the preview and the freeze share it ------------------------------------


@dataclass
class Draft:
    line: int
    to: str
    identity: str = ""
    phone: str | None = None
    user_id: str | None = None
    lead_id: str | None = None
    columns: dict = field(default_factory=dict)
    components: list = field(default_factory=list)
    rendered_text: str = ""
    reason: str = ""
    detail: str = ""


def _identity(to: str) -> tuple[str, str | None, str | None]:
    """(identity, phone, BSUID); InvalidPhone when `to` is neither."""
    text = (to or "").strip()
    if is_bsuid(text):
        return text, None, text
    phone = normalize_phone(text)
    return phone, phone, None


def _day_start(now) -> datetime:
    local = timezone.localtime(now, JAKARTA)
    return datetime.combine(local.date(), time.min, tzinfo=JAKARTA)


def _evaluate(campaign: Campaign, now=None) -> tuple[list[Draft], list[str]]:
    """Every audience row, with its identity and parameters, or why it is excluded:
    no_phone_or_bsuid, invalid_phone, duplicate, do_not_contact, missing_parameter,
    frequency_cap."""
    now = now or timezone.now()
    rows, columns = audiences.campaign_rows(campaign)
    template = campaign.template
    # Do-not-contact is about marketing; utility reminders follow the supervisor's setting.
    honour_opt_out = campaign.is_marketing or settings.CAMPAIGN_OPT_OUT_APPLIES_TO_UTILITY
    mapping_check(template, campaign.parameters, columns)
    drafts: list[Draft] = []
    for line, row in enumerate(rows, start=1):
        draft = Draft(
            line=line,
            to=str(row.get("to") or ""),
            lead_id=row.get("lead_id"),
            columns=row.get("columns") or {},
        )
        drafts.append(draft)
        if not draft.to.strip():
            draft.reason = "no_phone_or_bsuid"
            continue
        try:
            draft.identity, draft.phone, draft.user_id = _identity(draft.to)
        except InvalidPhone as exc:
            draft.reason, draft.detail = "invalid_phone", exc.message
            continue
        if row.get("do_not_contact") and honour_opt_out:
            draft.reason = "do_not_contact"
    seen: set[str] = set()
    for draft in drafts:
        if (draft.identity and not draft.reason) or draft.reason == "do_not_contact":
            if draft.identity in seen:
                draft.reason, draft.detail = "duplicate", "the same customer is on an earlier row"
            seen.add(draft.identity)
    identities = sorted({d.identity for d in drafts if d.identity and not d.reason})
    if honour_opt_out:
        blocked = set(
            OptOut.objects.filter(identity__in=identities).values_list("identity", flat=True)
        )
        blocked |= _leads_do_not_contact(identities)
        for draft in drafts:
            if not draft.reason and draft.identity in blocked:
                draft.reason = "do_not_contact"
    if campaign.frequency_cap:
        capped = set(
            CampaignRecipient.objects.filter(identity__in=identities, sent_at__gte=_day_start(now))
            .exclude(campaign=campaign)
            .values_list("identity", flat=True)
        )
        for draft in drafts:
            if not draft.reason and draft.identity in capped:
                draft.reason = "frequency_cap"
                draft.detail = "already sent a campaign message today"
    for draft in drafts:
        if draft.reason:
            continue
        try:
            draft.components, draft.rendered_text = recipient_parameters(
                template, campaign.parameters, draft.columns
            )
        except MissingParameter as exc:
            draft.reason, draft.detail = "missing_parameter", str(exc)
    return drafts, columns


def recipients_drop_opted_out_retries(*, campaign: Campaign, recipients) -> int:
    """A 131049 retry comes hours after the audience was frozen: a customer who opted out
    (or whose lead was marked do-not-contact) meanwhile is not sent it. Their row stays
    failed with Meta's reason, no longer waiting. How many were dropped."""
    identities = sorted(set(recipients.values_list("identity", flat=True)) - {""})
    if not identities:
        return 0  # the worker asks every second: nothing due costs one indexed query
    if not (campaign.is_marketing or settings.CAMPAIGN_OPT_OUT_APPLIES_TO_UTILITY):
        return 0
    blocked = set(OptOut.objects.filter(identity__in=identities).values_list("identity", flat=True))
    blocked |= _leads_do_not_contact(identities)
    if not blocked:
        return 0
    dropped = recipients.filter(identity__in=blocked).update(
        next_attempt_at=None, updated_at=timezone.now()
    )
    logger.info("campaign %s: %d 131049 retries dropped (opted out)", campaign.pk, dropped)
    return dropped


def _leads_do_not_contact(identities: list[str]) -> set[str]:
    """Phones of leads marked do-not-contact, when the leads app has the field."""
    if not audiences._lead_has("do_not_contact"):
        return set()
    from leads.models import Lead

    return set(
        Lead.objects.filter(phone__in=identities, do_not_contact=True).values_list(
            "phone", flat=True
        )
    )


def _cost(campaign: Campaign, count: int) -> dict:
    category = (campaign.template.category or "").upper() or "MARKETING"
    price = settings.CAMPAIGN_PRICES_IDR.get(category)
    return {
        "category": category,
        "currency": "IDR",
        "price_per_message": price,
        "messages": count,
        "total": round(price * count, 2) if price is not None else None,
        "by_category": {category: round(price * count, 2) if price is not None else None},
    }


def campaign_preview(*, campaign: Campaign, by: User, limit: int = PREVIEW_ROWS) -> dict:
    """A dry run of the current version: how many will get it, who is excluded and why,
    the first recipients' text as WhatsApp will show it, and Meta's cost. Recorded, so
    this version may now start."""
    from campaigns.rendering import rendered_parts

    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        drafts, columns = _evaluate(campaign)
        sendable = [d for d in drafts if not d.reason]
        excluded = [d for d in drafts if d.reason]
        reasons: dict[str, int] = {}
        for draft in excluded:
            reasons[draft.reason] = reasons.get(draft.reason, 0) + 1
        samples = []
        for draft in sendable[:limit]:
            parts = rendered_parts(campaign.template, campaign.parameters, draft.columns)
            samples.append(
                {
                    "line": draft.line,
                    "to": draft.identity,
                    "text": draft.rendered_text,
                    **{k: v for k, v in parts.items() if k != "body"},
                    "components": draft.components,
                }
            )
        preview = {
            "version": campaign.version,
            "previewed_at": timezone.now().isoformat(),
            "rows": len(drafts),
            "recipients": len(sendable),
            "excluded": len(excluded),
            "excluded_by_reason": reasons,
            "exclusions": [
                {"line": d.line, "to": d.to, "reason": d.reason, "detail": d.detail}
                for d in excluded[:200]
            ],
            "samples": samples,
            "cost": _cost(campaign, len(sendable)),
            "columns": columns,
        }
        campaign.preview = preview
        campaign.previewed_version = campaign.version
        campaign.save(update_fields=["preview", "previewed_version", "updated_at"])
    return preview


# --- start, pause, resume, cancel --------------------------------------------------------


def campaign_start(*, campaign: Campaign, by: User, version: int | None = None) -> Campaign:
    """Freeze the audience (one row per customer; excluded rows with their reason) and
    hand the campaign to the worker: running now, or scheduled for its start time."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != Campaign.Status.DRAFT:
            raise CampaignError(f"This campaign is already {campaign.status}.", code="not_draft")
        if campaign.previewed_version != campaign.version or (
            version is not None and version != campaign.version
        ):
            raise PreviewRequired(
                "Preview the current version of this campaign before starting it.",
                details={"version": campaign.version, "previewed": campaign.previewed_version},
            )
        _require_approved(campaign)
        drafts, _ = _evaluate(campaign)
        if not any(not d.reason for d in drafts):
            raise CampaignError("Nobody in the audience can receive it.", code="empty_audience")
        rows = [
            CampaignRecipient(
                campaign=campaign,
                line=d.line,
                identity=d.identity,
                phone=d.phone,
                user_id=d.user_id,
                lead_id=d.lead_id,
                columns=d.columns,
                components=d.components,
                rendered_text=d.rendered_text,
                status=CampaignRecipient.Status.EXCLUDED if d.reason else "queued",
                reason=d.reason,
                error={"detail": d.detail} if d.detail else None,
            )
            for d in drafts
        ]
        now = timezone.now()
        for row in rows:
            row.updated_at = now
        for start in range(0, len(rows), 5000):
            insert_returning_ids(rows[start : start + 5000])
        due = campaign.start_at is None or campaign.start_at <= now
        campaign.status = Campaign.Status.RUNNING if due else Campaign.Status.SCHEDULED
        campaign.started_at = now if due else None
        campaign.status_reason = ""
        campaign.save(update_fields=["status", "started_at", "status_reason", "updated_at"])
        emit_campaign_progress(campaign=campaign)
    logger.info("campaign started id=%s recipients=%d", campaign.pk, len(rows))
    return campaign


def _transition(campaign: Campaign, allowed: tuple, to: str, reason: str = "") -> Campaign:
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in allowed:
            raise CampaignError(
                f"A {campaign.status} campaign cannot become {to}.", code="invalid_transition"
            )
        campaign.status = to
        campaign.status_reason = reason
        fields = ["status", "status_reason", "updated_at"]
        if to in (Campaign.Status.CANCELLED, Campaign.Status.DONE):
            campaign.finished_at = timezone.now()
            fields.append("finished_at")
        if to == Campaign.Status.RUNNING and campaign.started_at is None:
            campaign.started_at = timezone.now()
            fields.append("started_at")
        campaign.save(update_fields=fields)
        emit_campaign_progress(campaign=campaign)
    logger.info("campaign %s id=%s %s", to, campaign.pk, reason)
    return campaign


def campaign_pause(*, campaign: Campaign, by: User | None, reason: str = "") -> Campaign:
    """Stop sending within a second (the worker reads the status before every batch)."""
    return _transition(
        campaign,
        (Campaign.Status.RUNNING, Campaign.Status.SCHEDULED),
        Campaign.Status.PAUSED,
        reason or "paused by a supervisor",
    )


def campaign_resume(*, campaign: Campaign, by: User) -> Campaign:
    _require_approved(campaign)
    return _transition(campaign, (Campaign.Status.PAUSED,), Campaign.Status.RUNNING)


def _require_approved(campaign: Campaign) -> None:
    template = MessageTemplate.objects.get(pk=campaign.template_id)
    if template.status != MessageTemplate.Status.APPROVED:
        raise CampaignError(
            f"Template '{template.name}' is {template.status.lower()} at Meta; "
            "it cannot be sent until Meta approves it again.",
            code="template_not_approved",
        )


def campaign_cancel(*, campaign: Campaign, by: User) -> Campaign:
    """No more sends; recipients still queued stay queued (never sent) and are shown. A
    done campaign whose 131049 retries are still waiting can be cancelled too: they are
    never sent."""
    allowed = (
        Campaign.Status.DRAFT,
        Campaign.Status.SCHEDULED,
        Campaign.Status.RUNNING,
        Campaign.Status.PAUSED,
    )
    if recipients_retry_waiting(campaign=campaign).exists():
        allowed += (Campaign.Status.DONE,)
    return _transition(campaign, allowed, Campaign.Status.CANCELLED, "cancelled by a supervisor")


def retries_waiting_reason(*, campaign: Campaign) -> str:
    """What a done campaign still waits for, in its status reason: recipients Meta held
    back (131049) to send again, and when the first is due (Jakarta time)."""
    waiting = recipients_retry_waiting(campaign=campaign).order_by("next_attempt_at")
    first = waiting.values_list("next_attempt_at", flat=True).first()
    if first is None:
        return ""
    at = timezone.localtime(first, ZoneInfo(settings.BUSINESS_TIME_ZONE))
    return (
        f"{waiting.count()} held back by Meta (131049) to send again from "
        f"{at:%Y-%m-%d %H:%M} (cancel to drop them)"
    )[:200]


def campaigns_pause_for_template(*, template: MessageTemplate, reason: str) -> int:
    """Meta paused or rejected a template: the campaigns sending it pause (the hook for the
    message_template_status_update webhook)."""
    paused = 0
    for campaign in Campaign.objects.light().filter(
        template=template, status__in=(Campaign.Status.RUNNING, Campaign.Status.SCHEDULED)
    ):
        campaign_pause(campaign=campaign, by=None, reason=reason)
        paused += 1
    return paused


def recipients_mark_unknown(*, campaign: Campaign) -> int:
    """Rows left `sending` by a worker that stopped: their send may or may not have
    reached Meta, so they are shown as unknown and never sent again by themselves."""
    return CampaignRecipient.objects.filter(
        campaign=campaign, status=CampaignRecipient.Status.SENDING
    ).update(
        status=CampaignRecipient.Status.UNKNOWN,
        reason="worker_stopped_in_flight",
        updated_at=timezone.now(),
    )


def campaigns_reopen_for_retries(*, now=None) -> list:
    """A campaign that was done when Meta's 131049 (marketing frequency cap) came in by a
    failed status runs again when that recipient's retry time comes (tracking.py set it,
    only where the campaign allows retries and nothing was delivered); the worker sends
    the recipient once more and the campaign is done again. A cancelled campaign never
    sends again. The ids of the campaigns reopened."""
    now = now or timezone.now()
    due = (
        CampaignRecipient.objects.filter(
            campaign__status=Campaign.Status.DONE,
            campaign__retry_frequency_capped_hours__isnull=False,
            # A template Meta paused or rejected since: nothing to send it with.
            campaign__template__status=MessageTemplate.Status.APPROVED,
            status=CampaignRecipient.Status.FAILED,
            reason="meta_131049",
            next_attempt_at__lte=now,
        )
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    reopened = []
    for campaign_id in list(due):
        with transaction.atomic():
            moved = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.DONE).update(
                status=Campaign.Status.RUNNING,
                status_reason="retrying recipients Meta held back (131049)",
                finished_at=None,
                updated_at=now,
            )
            if moved:
                campaign = Campaign.objects.light().get(pk=campaign_id)
                emit_campaign_progress(campaign=campaign)
                reopened.append(campaign_id)
                logger.info("campaign running again id=%s: 131049 retries due", campaign_id)
    return reopened
