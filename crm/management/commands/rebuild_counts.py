from django.core.management.base import BaseCommand

from leads import rollup


class Command(BaseCommand):
    help = (
        "Recompute the lead count rollup (counts by status, source, owner, assignee and "
        "campaign) from the leads, and the weekly ones of the dashboard's pictures (new leads "
        "by source, appointments by status). The database's triggers keep them in step with "
        "every write; run this after restoring a backup of one table alone, or to repair it."
    )

    def handle(self, *args, **options) -> None:
        rows = rollup.rebuild()
        if options["verbosity"]:
            self.stdout.write(f"Lead counts rebuilt: {rows} rollup rows.")
        for weekly in rollup.WEEKLY:
            rows = weekly.rebuild()
            if options["verbosity"]:
                self.stdout.write(f"Weekly counts rebuilt: {rows} rows of {weekly.table}.")
