"""Demo users and leads for the embedded default, so a newcomer sees a working inbox."""

from django.core.management.base import BaseCommand

from boztell.models import User
from boztell.services import user_create, user_token_issue
from leads.models import Lead
from rooms.services import lead_create

DEMO_USERS = [
    ("supervisor", User.Role.SUPERVISOR, "Sari Supervisor", "boztell-supervisor"),
    ("agent", User.Role.AGENT, "Andi Agent", "boztell-agent"),
    ("agent2", User.Role.AGENT, "Budi Agent", "boztell-agent2"),
]

DEMO_LEADS = [
    ("Dewi Lestari", "0812-3456-7001", 12_500_000, "KTA", "hot", "contacted"),
    ("Rudi Hartono", "+62 813 4567 7002", 48_000_000, "Kredit Motor", "warm", "uncontacted"),
    ("Siti Nurhaliza", "6281556787003", 3_250_000, "Paylater", "collection", "promise_to_pay"),
    ("Agus Salim", "081977777004", 0, "KPR", "cold", "uncontacted"),
]


class Command(BaseCommand):
    help = "Create the demo supervisor, agents and leads (idempotent)."

    def handle(self, *args, **options):
        for username, role, name, password in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    username=username, role=role, password=password, display_name=name
                )
                user_token_issue(user=user)
            self.stdout.write(
                f"  {role:<10} username={username:<11} password={password:<20} "
                f"token={user.auth_token.key if hasattr(user, 'auth_token') else '-'}"
            )
        created = 0
        for name, phone, outstanding, loan_type, leads_status, contact_status in DEMO_LEADS:
            from boztell.phones import normalize_phone

            if not Lead.objects.filter(phone=normalize_phone(phone)).exists():
                lead_create(
                    name=name,
                    phone=phone,
                    outstanding=outstanding,
                    loan_type=loan_type,
                    leads_status=leads_status,
                    contact_status=contact_status,
                )
                created += 1
        self.stdout.write(f"  {Lead.objects.count()} demo leads ({created} new).")
