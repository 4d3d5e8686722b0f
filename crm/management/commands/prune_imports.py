from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from leads.imports import PENDING_KEEP, imports_prune


class Command(BaseCommand):
    help = (
        f"Delete the CSV imports left waiting for review for more than {PENDING_KEEP.days} days "
        "(the worker does this every hour by itself)."
    )

    def handle(self, *args, **options) -> None:
        deleted = imports_prune()
        if options["verbosity"]:
            text = ngettext(
                "Deleted %(n)d import left unreviewed.",
                "Deleted %(n)d imports left unreviewed.",
                deleted,
            )
            self.stdout.write(text % {"n": deleted})
