from django.core.management.base import BaseCommand

from crm.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        key, raw = api_key_create(name=name)
        self.stdout.write(f"Created API key {key.name!r} (account ID {key.account_id}).")
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(raw)
