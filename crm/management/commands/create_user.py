from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.roles import Role
from crm.services import user_create


class Command(BaseCommand):
    help = "Create a user with a role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, password, email, **options):
        try:
            user = user_create(
                username=username, role=role, password=password, email=email, validate=False
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
        self.stdout.write(f"Created user {user.username} ({user.get_role_display()}).")
