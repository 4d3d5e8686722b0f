"""The worker's periodic jobs (crm.periodic): each run queued once however many workers tick,
kept due while the queue refuses; and the housekeeping they run (crm.housekeeping)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from crm import housekeeping, periodic
from crm.models import PeriodicRun
from crm.services import api_key_create
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus
from webhooks.services import subscription_create

pytestmark = pytest.mark.django_db

JOBS = {"webhooks.tasks.sweep", "appointments.tasks.sweep", "crm.housekeeping.housekeeping"}
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def database_queue(settings):
    settings.TASKS = DATABASE_QUEUE
    settings.WEBHOOKS = {**settings.WEBHOOKS, "SWEEP_SECONDS": 60}
    settings.CRM = {**settings.CRM, "REMINDER_SWEEP_SECONDS": 60, "HOUSEKEEPING_SECONDS": 3600}


def waiting() -> list[str]:
    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    return sorted(ready.values_list("task_path", flat=True))


def test_two_workers_ticking_queue_each_run_once(database_queue):
    now = timezone.now()
    assert set(periodic.tick(now)) == JOBS  # the first tick of all plans and queues them
    assert periodic.tick(now) == []  # the other worker, at the same moment: nothing due
    assert periodic.tick(now + timedelta(seconds=59)) == []
    assert periodic.tick(now + timedelta(seconds=61)) == [
        "webhooks.tasks.sweep",
        "appointments.tasks.sweep",
    ]
    assert periodic.tick(now + timedelta(seconds=62)) == []
    assert waiting() == sorted([*JOBS, "webhooks.tasks.sweep", "appointments.tasks.sweep"])
    run = PeriodicRun.objects.get(name="crm.housekeeping.housekeeping")
    assert run.next_run_at == now + timedelta(hours=1)


def test_a_queue_that_refuses_leaves_the_jobs_due_until_it_takes_them(settings, database_queue):
    now = timezone.now()
    settings.TASKS = {  # Redis on a port where nothing listens
        "default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}
    }
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:9/0"}}
    assert periodic.tick(now) == []
    assert periodic.tick(now + timedelta(seconds=1)) == []
    assert set(PeriodicRun.objects.values_list("name", flat=True)) == JOBS
    assert not PeriodicRun.objects.filter(next_run_at__gt=now + timedelta(seconds=1)).exists()

    settings.TASKS = DATABASE_QUEUE  # the queue is back
    assert set(periodic.tick(now + timedelta(seconds=2))) == JOBS
    assert waiting() == sorted(JOBS)


def test_a_worker_starting_makes_every_job_due(database_queue):
    now = timezone.now()
    periodic.tick(now)
    periodic.run_all_now()
    assert set(periodic.tick(timezone.now())) == JOBS


# --- housekeeping -----------------------------------------------------------------------------


def delivery(subscription, *, status: str, delivered_days_ago: float | None) -> Delivery:
    now = timezone.now()
    made = Delivery.objects.create(
        subscription=subscription,
        status=status,
        give_up_at=now + timedelta(days=3),
        delivered_at=None if delivered_days_ago is None else now - timedelta(delivered_days_ago),
    )
    DeliveryAttempt.objects.create(delivery=made, started_at=now, status_code=200)
    return made


def test_the_housekeeping_deletes_what_is_kept_no_longer(settings):
    settings.WEBHOOKS = {**settings.WEBHOOKS, "KEEP_DELIVERED_DAYS": 30}
    key, _raw = api_key_create(name="Partner integration")
    subscription, _secret = subscription_create(api_key=key, url="https://partner.example/hook")
    old = delivery(subscription, status=DeliveryStatus.DELIVERED, delivered_days_ago=31)
    recent = delivery(subscription, status=DeliveryStatus.DELIVERED, delivered_days_ago=29)
    failed = delivery(subscription, status=DeliveryStatus.FAILED, delivered_days_ago=None)
    now = timezone.now()
    Session.objects.create(session_key="a" * 32, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="b" * 32, session_data="", expire_date=now + timedelta(1))
    for days, status in [(8, TaskResultStatus.SUCCESSFUL), (1, TaskResultStatus.SUCCESSFUL)]:
        DBTaskResult.objects.create(
            task_path="webhooks.tasks.sweep",
            status=status,
            args_kwargs={"args": [], "kwargs": {}},
            backend_name="default",
            queue_name="default",
            finished_at=now - timedelta(days),
        )

    done = housekeeping.housekeeping.call()

    assert done["webhook deliveries"] == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, failed.pk}
    assert not DeliveryAttempt.objects.filter(delivery_id=old.pk).exists()
    assert done["sessions"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]
    assert done["task results"] == 1 and DBTaskResult.objects.count() == 1
    assert done["statistics"] == (1 if connection.vendor == "sqlite" else 0)


def test_a_failing_step_leaves_the_others_to_run(monkeypatch, caplog):
    def broken() -> int:
        raise RuntimeError("disk full")

    steps = housekeeping.steps()
    monkeypatch.setattr(housekeeping, "steps", lambda: {**steps, "imports": broken})
    done = housekeeping.housekeeping.call()
    assert "imports" not in done and "sessions" in done
    assert "Housekeeping: imports failed." in caplog.text
