"""Reads for campaigns: counts by status (and failures by reason), the progress payload,
the per-recipient results as CSV."""

import csv

from django.db.models import Count

from campaigns.models import Campaign, CampaignRecipient

STATUSES = [s.value for s in CampaignRecipient.Status]


# A recipient's reason while its one 131049 retry is under way (queued, sending, sent):
# Meta's 131049 again then fails it for good ("retried once").
RETRIED_131049 = "retried_after_131049"


def recipients_retry_waiting(*, campaign):
    """Recipients Meta held back (131049) whose retry is scheduled (the campaign allows)."""
    return CampaignRecipient.objects.filter(
        campaign=campaign,
        status=CampaignRecipient.Status.FAILED,
        reason="meta_131049",
        next_attempt_at__isnull=False,
    )


def campaign_cancellable(*, campaign) -> bool:
    """Not finished, or done with 131049 retries still waiting (cancelling drops them)."""
    if campaign.status == Campaign.Status.DONE:
        return recipients_retry_waiting(campaign=campaign).exists()
    return campaign.status != Campaign.Status.CANCELLED


def campaign_counts(*, campaign_id) -> dict:
    """Recipients by status, and failed / excluded / unknown by reason: two GROUP BYs."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in (
        CampaignRecipient.objects.filter(campaign_id=campaign_id)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["status"]] = row["n"]
    reasons: dict[str, dict[str, int]] = {"failed": {}, "excluded": {}, "unknown": {}}
    for row in (
        CampaignRecipient.objects.filter(
            campaign_id=campaign_id, status__in=("failed", "excluded", "unknown")
        )
        .values("status", "reason")
        .annotate(n=Count("id"))
        .order_by()
    ):
        reasons[row["status"]][row["reason"] or "unknown"] = row["n"]
    return {"counts": counts, "reasons": reasons}


def campaign_progress(*, campaign: Campaign) -> dict:
    """The `campaign_progress` payload (docs/events/campaign_progress.schema.json)."""
    data = campaign_counts(campaign_id=campaign.pk)
    counts = data["counts"]
    total = sum(v for k, v in counts.items() if k != "excluded")
    done = total - counts["queued"] - counts["sending"]
    return {
        "campaign_id": campaign.pk,
        "name": campaign.name,
        "status": campaign.status,
        "status_reason": campaign.status_reason,
        "version": campaign.version,
        "total": total,
        "processed": done,
        "percent": round(100 * done / total, 1) if total else 0.0,
        "counts": counts,
        "failed_by_reason": data["reasons"]["failed"],
        "excluded_by_reason": data["reasons"]["excluded"],
        "unknown_by_reason": data["reasons"]["unknown"],
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
    }


class _Echo:
    def write(self, value):
        return value


CSV_HEADER = [
    "line",
    "recipient",
    "phone",
    "bsuid",
    "lead_id",
    "status",
    "reason",
    "meta_error_code",
    "meta_error",
    "wa_message_id",
    "sent_at",
    "delivered_at",
    "read_at",
    "replied_at",
    "failed_at",
    "text",
]


def _safe(value) -> str:
    """A cell a spreadsheet will not run as a formula (=, +, -, @ lead it)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def campaign_results_csv(*, campaign: Campaign):
    """Every recipient row (excluded ones too) as CSV, chunk by chunk."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADER)
    rows = (
        CampaignRecipient.objects.filter(campaign=campaign)
        .select_related("message")
        .order_by("line", "id")
    )
    for r in rows.iterator(chunk_size=2000):
        error = r.error or {}
        yield writer.writerow(
            [
                _safe(x)
                for x in (
                    r.line,
                    r.identity,
                    r.phone,
                    r.user_id,
                    r.lead_id,
                    r.status,
                    r.reason,
                    error.get("code"),
                    error.get("title") or error.get("message") or error.get("detail"),
                    r.message.wa_message_id if r.message else "",
                    r.sent_at,
                    r.delivered_at,
                    r.read_at,
                    r.replied_at,
                    r.failed_at,
                    r.rendered_text,
                )
            ]
        )
