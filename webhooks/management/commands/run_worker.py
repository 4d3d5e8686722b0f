"""``manage.py run_worker``: the background worker (webhook deliveries, reminder emails, the
clean-up of old imports). Takes every option of django-tasks-db's ``db_worker``
(``--interval``, ``--queue-name``, ``--no-reload``, ...).

At the default verbosity it says in one line that it started and what it does, and then only
warnings and failures; ``-v 2`` shows every task it runs."""

import logging

from django_tasks_db.compat import TASKS_LOGGER
from django_tasks_db.management.commands import db_worker

from appointments import reminders
from appointments import tasks as appointment_tasks
from leads import tasks as lead_tasks
from webhooks.tasks import recover, schedule_sweep


class Command(db_worker.Command):
    help = (
        "Run the background worker: first re-queue the webhook deliveries and lead changes a "
        "stopped or killed worker left behind, and make sure a sweep repeats that every "
        "WEBHOOKS['SWEEP_SECONDS'], that reminders and morning agendas are swept too, and that "
        "imports left unreviewed for 7 days are deleted; then process the queue as db_worker "
        "does."
    )

    def configure_logging(self, verbosity: int) -> None:
        super().configure_logging(verbosity)
        if verbosity == 1:  # the library's "Task ... RUNNING/SUCCEEDED" for every sweep is noise
            logging.getLogger(TASKS_LOGGER).setLevel(logging.WARNING)
            db_worker.logger.setLevel(logging.WARNING)

    def handle(self, *args, **options) -> None:
        requeued = recover()
        schedule_sweep()
        appointment_tasks.schedule_sweep()
        lead_tasks.schedule_housekeeping(now=True)
        reminders.send_reminders.enqueue()  # what came due while no worker ran
        if options["verbosity"]:
            again = f" ({requeued} unsent webhook deliveries queued again)" if requeued else ""
            self.stdout.write(
                "Background worker started: it sends webhooks, appointment reminders and "
                f"morning agendas, and deletes imports left unreviewed for 7 days{again}. "
                "It stops with the server (Ctrl-C)."
            )
        super().handle(*args, **options)
