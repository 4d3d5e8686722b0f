"""``manage.py run_worker``: the background worker (webhook deliveries, reminder emails, the
housekeeping). On the database queue it takes every option of django-tasks-db's ``db_worker``
(``--interval``, ``--queue-name``, ``--no-reload``, ...); with ``REDIS_URL`` it runs RQ's
worker (``crm.worker``) and those options do not apply. Either way, a thread beside it queues
the periodic jobs (``crm.periodic``), which every running worker shares.

At the default verbosity it says in one line that it started and what it does, and then only
warnings and failures; ``-v 2`` shows every task it runs."""

import logging

from django_tasks_db.compat import TASKS_LOGGER
from django_tasks_db.management.commands import db_worker

from crm import periodic, worker


class Command(db_worker.Command):
    help = (
        "Run the background worker: webhook deliveries, appointment reminders and morning "
        "agendas, and the housekeeping; at start and then every WEBHOOKS['SWEEP_SECONDS'] it "
        "re-queues the webhook deliveries and lead changes a stopped or killed worker (or a "
        "stopped Redis) left behind. On the database queue, as db_worker does; with REDIS_URL, "
        "on RQ."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        if worker.uses_rq():  # db_worker's --backend accepts database backends only
            for action in parser._actions:
                if action.dest == "backend_name":
                    action.type = str

    def configure_logging(self, verbosity: int) -> None:
        super().configure_logging(verbosity)
        if verbosity == 1:  # the library's "Task ... RUNNING/SUCCEEDED" for every sweep is noise
            logging.getLogger(TASKS_LOGGER).setLevel(logging.WARNING)
            logging.getLogger("django_tasks").setLevel(logging.WARNING)
            db_worker.logger.setLevel(logging.WARNING)

    def handle(self, *args, **options) -> None:
        periodic.run_all_now()  # what waited while no worker ran goes first
        periodic.tick()
        scheduler = periodic.Scheduler()
        scheduler.start()
        on_rq = worker.uses_rq()
        if options["verbosity"]:
            queue = "RQ on Redis" if on_rq else "the database queue"
            self.stdout.write(
                "Background worker started: it sends webhooks, appointment reminders and "
                "morning agendas, and deletes imports left unreviewed for 7 days, expired "
                f"sessions and old deliveries ({queue}). It stops with the server (Ctrl-C)."
            )
        try:
            if on_rq:
                self.configure_logging(options["verbosity"])
                worker.run(
                    burst=options["batch"],
                    logging_level="INFO" if options["verbosity"] > 1 else "WARNING",
                )
            else:
                super().handle(*args, **options)
        finally:
            scheduler.stop()
