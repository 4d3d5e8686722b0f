"""``manage.py run_worker``: the background worker (webhook deliveries, reminder emails).
Takes every option of django-tasks-db's ``db_worker`` (``--interval``, ``--queue-name``,
``--no-reload``, ...)."""

from django_tasks_db.management.commands import db_worker

from appointments import reminders
from appointments import tasks as appointment_tasks
from webhooks.tasks import recover, schedule_sweep


class Command(db_worker.Command):
    help = (
        "Run the background worker: first re-queue the webhook deliveries and lead changes a "
        "stopped or killed worker left behind, and make sure a sweep repeats that every "
        "WEBHOOKS['SWEEP_SECONDS'], and that reminders and morning agendas are swept too; "
        "then process the queue as db_worker does."
    )

    def handle(self, *args, **options) -> None:
        requeued = recover()
        schedule_sweep()
        appointment_tasks.schedule_sweep()
        reminders.send_reminders.enqueue()  # what came due while no worker ran
        if options["verbosity"]:
            self.stdout.write(f"Re-queued {requeued} webhook deliveries; sweeps scheduled.")
        super().handle(*args, **options)
