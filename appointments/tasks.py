"""Background tasks of the appointments (run by ``manage.py run_worker``).

- ``reminders.send_reminders`` (defined there): the reminders due now; queued for each
  reminder's time when it is planned.
- ``sweep``: every ``REMINDERS["SWEEP_SECONDS"]``, send what is due (reminders whose task was
  lost with a stopped worker) and the morning agendas, then queue itself again.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from appointments import reminders
from crm import queue


@task
def sweep() -> int:
    try:
        return reminders.send_due() + reminders.send_agendas()
    finally:
        schedule_sweep()


def schedule_sweep() -> None:
    """Queue the next sweep unless one waits already (each worker start and each sweep ask)."""
    seconds = settings.CRM["REMINDER_SWEEP_SECONDS"]
    queue.enqueue_once(sweep, run_after=timezone.now() + timedelta(seconds=seconds))
