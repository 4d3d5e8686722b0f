from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.models import KeyScope
from crm.selectors import user_named
from crm.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            choices=KeyScope.values,
            default=KeyScope.FULL,
            help="full (the whole account, the default), read_only, or user (with --acts-as)",
        )
        parser.add_argument("--acts-as", metavar="USERNAME", help="the user a user key acts as")

    def handle(self, *args, name, scope, acts_as, **options):
        user = None
        if acts_as:
            user = user_named(acts_as)
            if user is None:
                raise CommandError(f"No user is named {acts_as!r}.")
        try:
            key, raw = api_key_create(name=name, scope=scope, acts_as=user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        scope_label = KeyScope(key.scope).label
        if user is not None:
            scope_label += f" {user.username}"
        self.stdout.write(
            f"Created API key {key.name!r} (account ID {key.account_id}, {scope_label})."
        )
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(raw)
