"""Background housekeeping of the leads app (run by ``manage.py run_worker``).

- ``housekeeping``: every ``CRM["HOUSEKEEPING_SECONDS"]`` (an hour), delete the CSV imports
  left waiting for review for more than 7 days (``leads.imports.imports_prune``), then queue
  itself again.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from crm import queue
from leads import imports


@task
def housekeeping() -> int:
    try:
        return imports.imports_prune()
    finally:
        schedule_housekeeping()


def schedule_housekeeping(*, now: bool = False) -> None:
    """Queue the next housekeeping run (at once when ``now``) unless one waits already: each
    worker start and each run ask, so there is only ever one in the queue."""
    seconds = 0 if now else settings.CRM.get("HOUSEKEEPING_SECONDS", 3600)
    queue.enqueue_once(housekeeping, run_after=timezone.now() + timedelta(seconds=seconds))
