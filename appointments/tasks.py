"""Background tasks of the appointments (run by ``manage.py run_worker``).

- ``reminders.send_reminders`` (defined there): the reminders due now; queued for each
  reminder's time when it is planned.
- ``sweep``: queued every ``CRM["REMINDER_SWEEP_SECONDS"]`` by the worker's scheduler
  (``crm.periodic``): send what is due (reminders whose task was lost with a stopped worker or
  queue) and the morning agendas.
"""

from __future__ import annotations

from django.tasks import task

from appointments import reminders


@task
def sweep() -> int:
    return reminders.send_due() + reminders.send_agendas()
