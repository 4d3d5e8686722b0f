from pathlib import Path

from django.core.management.base import BaseCommand

from crm import sqlite_backup


class Command(BaseCommand):
    help = (
        "Replace the content of the app's SQLite database with FILE, a copy backup_sqlite "
        "made. Stop the web server and the worker first."
    )

    # No system checks: they open the database, which the restore may be about to create.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="The backup to restore.")

    def handle(self, *args, **options) -> None:
        target = sqlite_backup.restore(options["file"])
        if options["verbosity"]:
            self.stdout.write(f"Restored {target} from {options['file']}.")
