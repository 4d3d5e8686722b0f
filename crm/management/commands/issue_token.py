from django.core.management.base import BaseCommand, CommandError

from crm.selectors import active_user
from crm.tokens import issue_access_token


class Command(BaseCommand):
    help = "Print a new access token for a user, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = active_user(username=username)
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        self.stdout.write(issue_access_token(user))
