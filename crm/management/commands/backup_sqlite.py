from pathlib import Path

from django.core.management.base import BaseCommand

from crm import sqlite_backup


class Command(BaseCommand):
    help = (
        "Copy the app's SQLite database to FILE, consistent while the app runs (SQLite's "
        "online backup). PostgreSQL is backed up with pg_dump (README, 'Backup and restore')."
    )

    # The system checks open the database, which would create a missing one.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="Where the copy goes (replaced if it exists).")

    def handle(self, *args, **options) -> None:
        source = sqlite_backup.backup(options["file"])
        if options["verbosity"]:
            self.stdout.write(f"Backed up {source} to {options['file']}.")
