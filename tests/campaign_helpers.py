"""Shared set-up for the campaign tests: approved templates as Meta's sync stores them."""

from collections import Counter

from django.utils import timezone

REMINDER = {
    "name": "cicilan_reminder",
    "language": "id",
    "status": "APPROVED",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Pengingat cicilan"},
        {
            "type": "BODY",
            "text": "Halo {{1}}, cicilan Anda sebesar {{2}} jatuh tempo pada {{3}}.",
        },
        {"type": "FOOTER", "text": "Balas STOP untuk berhenti"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Sudah bayar"}]},
    ],
}
OFFER = {
    "name": "promo_named",
    "language": "id",
    "status": "APPROVED",
    "category": "MARKETING",
    "components": [
        {"type": "HEADER", "format": "IMAGE"},
        {"type": "BODY", "text": "Hai {{customer_name}}, limit Anda naik ke {{limit}}!"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "URL", "text": "Lihat", "url": "https://example.com/o/{{1}}"},
                {"type": "QUICK_REPLY", "text": "Berhenti promo"},
            ],
        },
    ],
}
REMINDER_PARAMS = {
    "body": {
        "1": {"column": "name"},
        "2": {"column": "amount", "format": "idr"},
        "3": {"column": "due", "format": "date_id"},
    }
}


def make_template(spec: dict):
    from messaging.models import MessageTemplate

    return MessageTemplate.objects.create(
        name=spec["name"],
        language=spec["language"],
        status=spec["status"],
        category=spec["category"],
        components=spec["components"],
        synced_at=timezone.now(),
    )


def rows(n: int, start: int = 0) -> list[dict]:
    """n recipients with distinct Indonesian mobiles and every reminder column."""
    return [
        {
            "to": f"0812{start + i:08d}",
            "name": f"Nasabah {start + i}",
            "amount": 1_500_000 + i,
            "due": "2026-12-05",
        }
        for i in range(n)
    ]


def started_campaign(supervisor, recipients, *, template=REMINDER, parameters=None, **extra):
    """A reminder campaign created, previewed and started through the services."""
    from campaigns import services

    make_template(template) if not _exists(template) else None
    data = [
        {"to": r["to"], "lead_id": None, "columns": {k: v for k, v in r.items()}}
        for r in recipients
    ]
    campaign = services.campaign_create(
        created_by=supervisor,
        name=extra.pop("name", "Reminder"),
        template_name=template["name"],
        language=template["language"],
        parameters=parameters or REMINDER_PARAMS,
        rows=data,
        columns=list(recipients[0]),
        **extra,
    )
    services.campaign_preview(campaign=campaign, by=supervisor)
    return services.campaign_start(campaign=campaign, by=supervisor)


def _exists(spec) -> bool:
    from messaging.models import MessageTemplate

    return MessageTemplate.objects.filter(name=spec["name"], language=spec["language"]).exists()


def campaign_worker(**kwargs):
    """A campaign worker in this process (tests drive its loop by hand)."""
    from campaigns.worker import Worker

    return Worker(concurrency=kwargs.pop("concurrency", 8), rate=kwargs.pop("rate", 500))


def run_worker_once(**kwargs) -> str | None:
    worker = campaign_worker(**kwargs)
    try:
        return worker.run_once()
    finally:
        worker.close()


def addresses_sent(fake_graph) -> Counter:
    """How many sends each address got at the fake Graph."""
    return Counter(p.get("to") or p.get("recipient") for p in fake_graph.messages_sent())
