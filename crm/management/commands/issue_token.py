from django.core.management.base import BaseCommand, CommandError

from crm.models import User
from crm.tokens import issue_access_token


class Command(BaseCommand):
    help = "Print a new access token for a user, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        self.stdout.write(issue_access_token(user))
