"""Create an agent or supervisor from a script; with --token the last line is the API token."""

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from boztell.models import User
from boztell.services import user_create, user_token_issue


class Command(BaseCommand):
    help = "Create a user (agent or supervisor). --token prints its API token as the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=User.Role.values, default=User.Role.AGENT)
        parser.add_argument("--password", help="Without it the user cannot log in to pages.")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--token", action="store_true", help="Issue a DRF API token.")

    def handle(self, *args, username, role, password, display_name, token, **options):
        try:
            user = user_create(
                username=username, role=role, password=password, display_name=display_name
            )
        except IntegrityError as exc:
            raise CommandError(f"A user named '{username}' already exists.") from exc
        self.stdout.write(f"Created {user.role} '{user.username}' (id {user.id}).")
        if token:
            self.stdout.write(user_token_issue(user=user).key)
