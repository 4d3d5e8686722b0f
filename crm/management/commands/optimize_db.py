from django.core.management.base import BaseCommand
from django.db import connection


class Command(BaseCommand):
    help = (
        "Refresh the database's planner statistics (ANALYZE). PostgreSQL's autovacuum does this "
        "by itself; on SQLite run it after large imports, or daily, so lists walk their indexes."
    )

    def handle(self, *args, **options) -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        if options["verbosity"]:
            self.stdout.write(f"Statistics refreshed ({connection.vendor}).")
