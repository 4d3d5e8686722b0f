"""Webhooks (SPEC §7, seed 001 ``subscribeToLeadUpdates``): every committed change to leads is
POSTed, signed, to the subscribed URLs by a background worker, retried with backoff, at least
once, with a delivery log in the admin.

The first part drives the pieces in the test process (the task queue is Django's dummy
backend: tasks are recorded, and the tests run them by hand) against a real HTTP receiver on
127.0.0.1. The second part is the acceptance: the real worker, ``manage.py run_worker``, in a
subprocess on the test database, delivering to a receiver that checks every signature, also
when the receiver is down for a while and when the worker is killed in the middle of a POST.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.tasks import TaskResultStatus, default_task_backend
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from crm.domain import Actor
from crm.services import api_key_create, api_key_revoke
from leads.models import Lead
from leads.services import lead_delete, lead_update
from tests.factories import LeadFactory
from tests.processes import free_port
from webhooks.delivery import backoff_delay
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, LeadChange, Subscription
from webhooks.services import subscription_create
from webhooks.tasks import deliver, dispatch_changes, recover

BASE_DIR = Path(django_settings.BASE_DIR)
DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WEBHOOKS = {
    "BACKOFF_SECONDS": 30.0,
    "BACKOFF_MAX_SECONDS": 3600.0,
    "MAX_AGE_SECONDS": 3 * 24 * 3600.0,
    "TIMEOUT_SECONDS": 5.0,
    "SWEEP_SECONDS": 60.0,
    "ALLOW_HTTP": True,  # the receivers listen on http://127.0.0.1
    "ALLOW_PRIVATE": True,
}


# --- a receiver -----------------------------------------------------------------------------


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a partner computes: HMAC-SHA256 over "<timestamp>." + the raw body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that went away mid-answer (a killed worker) is expected here


class Receiver:
    """A partner's endpoint on 127.0.0.1: records every POST and whether its signature,
    computed with ``secret``, is valid. ``status`` is the answer; with ``hold_first`` the first
    POST waits (up to a minute) for ``release`` before it is answered."""

    def __init__(self, port: int = 0, *, hold_first: bool = False) -> None:
        self.secret = ""
        self.status = 200
        self.posts: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self.release = threading.Event()
        self._hold = hold_first
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hold = receiver.record(self.path, self.headers, body)
                if hold:
                    receiver.arrived.set()
                    receiver.release.wait(60)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/crm?source=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def record(self, path: str, headers, body: bytes) -> bool:
        timestamp = headers.get("X-CRM-Timestamp", "")
        post = {
            "path": path,
            "body": body,
            "json": json.loads(body),
            "delivery": headers.get("X-CRM-Delivery"),
            "content_type": headers.get("Content-Type"),
            "timestamp": timestamp,
            "signature": headers.get("X-CRM-Signature", ""),
            "valid": hmac.compare_digest(
                headers.get("X-CRM-Signature", ""),
                expected_signature(self.secret, timestamp, body),
            ),
        }
        with self._lock:
            self.posts.append(post)
            return self._hold and len(self.posts) == 1

    def lead_ids(self) -> set[int]:
        with self._lock:
            return {int(lead["id"]) for post in self.posts for lead in post["json"]["leads"]}

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(port: int = 0, **options: Any) -> Receiver:
        receiver = Receiver(port, **options)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 40, log=None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    details = "\n".join(log()) if log else ""
    pytest.fail(f"Timed out after {timeout}s waiting for {what}.\n{details}")


# --- fixtures for the in-process tests ------------------------------------------------------


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.WEBHOOKS = dict(WEBHOOKS)
    return settings.WEBHOOKS


@pytest.fixture(autouse=True)
def queue():
    """The dummy task backend, emptied for each test: what was queued, by task."""
    default_task_backend.clear()

    def queued(task) -> list:
        return [r for r in default_task_backend.results if r.task.func == task.func]

    yield queued
    default_task_backend.clear()


@pytest.fixture
def key(db):
    api_key, _raw = api_key_create(name="Partner integration")
    return api_key


@pytest.fixture
def subscription(key) -> Subscription:
    subscription, _secret = subscription_create(api_key=key, url="https://partner.example/hook")
    return subscription


def deliveries_of(lead: Lead) -> list[Delivery]:
    return [d for d in Delivery.objects.all() if lead.pk in d.lead_ids]


def make_delivery(subscription: Subscription, receiver_url: str | None = None) -> Delivery:
    """A lead changed while ``subscription`` (pointed at ``receiver_url``) is active, and the
    dispatcher has made its delivery."""
    if receiver_url is not None:
        Subscription.objects.filter(pk=subscription.pk).update(url=receiver_url)
    LeadFactory(email="ada@example.com", first_name="Ada")
    dispatch_changes.call()
    return Delivery.objects.get(subscription=subscription)


# --- capture -----------------------------------------------------------------------------------


def test_a_change_over_the_rest_api_is_noted_only_while_a_subscription_is_active(
    api, key, queue, django_capture_on_commit_callbacks
):
    data = {"first_name": "Ada", "last_name": "Lovelace", "phone": "5551234567"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("create/lead/", {**data, "email": "ada@example.com"})
    assert response.status_code == 201
    assert not LeadChange.objects.exists()
    assert queue(dispatch_changes) == []

    subscription_create(api_key=key, url="https://partner.example/hook")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("create/lead/", {**data, "email": "grace@example.com"})
    assert response.status_code == 201
    lead_id = response.json()["data"]["id"]
    assert list(LeadChange.objects.values_list("lead_id", flat=True)) == [lead_id]
    assert len(queue(dispatch_changes)) == 1


def test_a_domain_change_is_noted_once_per_event_and_queues_one_dispatch(
    key, manager, queue, django_capture_on_commit_callbacks
):
    lead = LeadFactory()
    subscription_create(api_key=key, url="https://partner.example/hook")
    with django_capture_on_commit_callbacks(execute=True):
        # "updated" and "status_changed": two events, one transaction, one dispatch
        lead_update(actor=Actor(user=manager), lead=lead, data={"status": "closed"})
    assert list(LeadChange.objects.values_list("lead_id", flat=True)) == [lead.pk, lead.pk]
    assert len(queue(dispatch_changes)) == 1


def test_an_inactive_subscription_or_a_revoked_key_notes_nothing(key):
    subscription, _secret = subscription_create(api_key=key, url="https://partner.example/a")
    Subscription.objects.filter(pk=subscription.pk).update(active=False)
    LeadFactory()
    other, _raw = api_key_create(name="Old integration")
    subscription_create(api_key=other, url="https://partner.example/b")
    api_key_revoke(api_key=other)
    LeadFactory()
    assert not LeadChange.objects.exists()


def test_a_rolled_back_change_leaves_nothing_behind(
    subscription, manager, queue, django_capture_on_commit_callbacks
):
    lead = LeadFactory()
    LeadChange.objects.all().delete()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        lead_update(actor=Actor(user=manager), lead=lead, data={"company": "Analytical"})
        assert LeadChange.objects.count() == 1
        raise RuntimeError("the request failed after the change")
    assert not LeadChange.objects.exists()
    assert callbacks == [] and queue(dispatch_changes) == []


# --- dispatch -----------------------------------------------------------------------------------


def test_dispatch_makes_one_delivery_per_active_subscription_and_queues_it(key, manager, queue):
    first, _ = subscription_create(api_key=key, url="https://one.example/hook")
    second, _ = subscription_create(api_key=key, url="https://two.example/hook")
    paused, _ = subscription_create(api_key=key, url="https://three.example/hook")
    a, b = LeadFactory(), LeadFactory()
    lead_update(actor=Actor(user=manager), lead=a, data={"company": "Analytical Engines"})
    Subscription.objects.filter(pk=paused.pk).update(active=False)

    assert dispatch_changes.call() == 2
    deliveries = Delivery.objects.order_by("subscription_id")
    assert [(d.subscription_id, d.lead_ids) for d in deliveries] == [
        (first.pk, sorted([a.pk, b.pk])),
        (second.pk, sorted([a.pk, b.pk])),
    ]
    assert all(d.status == DeliveryStatus.PENDING and d.attempts == 0 for d in deliveries)
    assert not LeadChange.objects.exists()
    queued = queue(deliver)
    assert sorted(r.args[0] for r in queued) == sorted(d.pk for d in deliveries)
    assert {d.task_id for d in deliveries} == {r.id for r in queued}
    assert dispatch_changes.call() == 0  # nothing left: safe to run any time


def test_dispatch_splits_many_leads_into_deliveries_of_500(subscription, queue):
    LeadChange.objects.bulk_create([LeadChange(lead_id=n) for n in range(1, 1201)] * 2)
    dispatch_changes.call()
    sizes = sorted(len(d.lead_ids) for d in Delivery.objects.all())
    assert sizes == [200, 500, 500]
    assert sorted(n for d in Delivery.objects.all() for n in d.lead_ids) == list(range(1, 1201))


# --- one attempt, over HTTP -----------------------------------------------------------------


def test_a_delivery_is_signed_and_carries_the_changed_leads(subscription, receivers, queue):
    receiver = receivers()
    receiver.secret = subscription.secret
    delivery = make_delivery(subscription, receiver.url)
    lead = Lead.objects.get(email="ada@example.com")

    assert deliver.call(delivery.pk) == "delivered"
    (post,) = receiver.posts
    assert post["path"] == "/hooks/crm?source=test"
    assert post["content_type"] == "application/json"
    assert post["delivery"] == str(delivery.delivery_id)
    assert abs(int(post["timestamp"]) - time.time()) < 60
    assert post["signature"] == expected_signature(
        subscription.secret, post["timestamp"], post["body"]
    )
    assert post["valid"]
    payload = post["json"]
    assert payload["event"] == "leads.updated"
    assert payload["delivery_id"] == str(delivery.delivery_id)
    (sent,) = payload["leads"]
    assert (sent["id"], sent["emailAddress"], sent["firstName"]) == (
        str(lead.pk),
        "ada@example.com",
        "Ada",
    )
    assert sent["accountID"] == subscription.api_key.account_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.locked_until) == ("delivered", 1, None)
    assert delivery.delivered_at is not None
    (attempt,) = delivery.attempt_log.all()
    assert (attempt.status_code, attempt.error) == (200, "")
    assert queue(deliver)[1:] == []  # no retry queued


def test_a_wrong_secret_does_not_verify(subscription, receivers):
    receiver = receivers()
    receiver.secret = "not-the-subscription-secret"
    delivery = make_delivery(subscription, receiver.url)
    deliver.call(delivery.pk)
    assert [p["valid"] for p in receiver.posts] == [False]


def test_deleted_leads_are_sent_too(subscription, receivers, manager):
    receiver = receivers()
    receiver.secret = subscription.secret
    lead = LeadFactory()
    lead_delete(actor=Actor(user=manager), lead=lead)
    Subscription.objects.filter(pk=subscription.pk).update(url=receiver.url)
    dispatch_changes.call()
    deliver.call(Delivery.objects.get().pk)
    (sent,) = receiver.posts[0]["json"]["leads"]
    assert (sent["id"], sent["leadStatus"]) == (str(lead.pk), "deleted")


def test_a_failed_post_is_retried_later_with_the_same_body(subscription, receivers, queue):
    receiver = receivers()
    receiver.secret = subscription.secret
    receiver.status = 503
    delivery = make_delivery(subscription, receiver.url)
    before = timezone.now()

    assert deliver.call(delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.locked_until) == ("pending", 1, None)
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 30 * 0.8 - 1 <= wait <= 30 * 1.2 + 1
    assert delivery.last_error.startswith("HTTP 503")
    retry = queue(deliver)[-1]
    assert (retry.args, retry.task.run_after) == ([delivery.pk], delivery.next_attempt_at)
    assert delivery.task_id == retry.id

    assert deliver.call(delivery.pk) == "skipped"  # not due yet: no POST
    assert len(receiver.posts) == 1

    receiver.status = 204
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert deliver.call(delivery.pk) == "delivered"
    first, second = receiver.posts
    assert first["body"] == second["body"] and first["delivery"] == second["delivery"]
    assert second["valid"]
    codes = list(delivery.attempt_log.values_list("status_code", flat=True))
    assert codes == [503, 204]


def test_an_unreachable_receiver_is_a_failed_attempt_not_an_error(subscription, queue):
    delivery = make_delivery(subscription, f"http://127.0.0.1:{free_port()}/hook")
    assert deliver.call(delivery.pk) == "retry"
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code is None and "ConnectionRefused" in attempt.error


def test_a_redirect_is_not_followed(subscription, receivers):
    receiver = receivers()
    receiver.status = 302
    delivery = make_delivery(subscription, receiver.url)
    assert deliver.call(delivery.pk) == "retry"
    assert Delivery.objects.get(pk=delivery.pk).last_error.startswith("HTTP 302")


def test_backoff_doubles_up_to_the_cap_with_jitter(webhook_settings):
    webhook_settings.update(BACKOFF_SECONDS=30, BACKOFF_MAX_SECONDS=3600)
    for attempts, nominal in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (500, 3600)]:
        delays = [backoff_delay(attempts) for _ in range(200)]
        assert all(nominal * 0.8 <= d <= nominal * 1.2 for d in delays), attempts
        assert max(delays) - min(delays) > nominal * 0.1  # spread, not one fixed value


def test_a_delivery_fails_for_good_after_the_maximum_age(subscription, queue):
    delivery = make_delivery(subscription, f"http://127.0.0.1:{free_port()}/hook")
    # three days of failures are behind it: the next try would come after the limit
    Delivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - timedelta(days=3),
        give_up_at=timezone.now() + timedelta(seconds=5),
    )
    queued_before = len(queue(deliver))
    assert deliver.call(delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.locked_until) == ("failed", None)
    assert "ConnectionRefused" in delivery.last_error
    assert len(queue(deliver)) == queued_before  # no retry
    assert deliver.call(delivery.pk) == "skipped"


def test_the_maximum_age_is_counted_from_the_delivery(subscription, webhook_settings):
    webhook_settings["MAX_AGE_SECONDS"] = 3600
    delivery = make_delivery(subscription)
    assert (delivery.give_up_at - delivery.created_at) == timedelta(hours=1)


def test_a_deactivated_subscription_gets_no_more_posts(subscription, receivers):
    receiver = receivers()
    delivery = make_delivery(subscription, receiver.url)
    Subscription.objects.filter(pk=subscription.pk).update(active=False)
    assert deliver.call(delivery.pk) == "failed"
    assert receiver.posts == []


# --- subscriptions ------------------------------------------------------------------------------


def test_subscribing_again_keeps_one_subscription_active(key):
    first, secret = subscription_create(api_key=key, url="https://partner.example/hook")
    assert len(secret) >= 32 and first.secret == secret
    Subscription.objects.filter(pk=first.pk).update(active=False)
    again, same = subscription_create(api_key=key, url="https://partner.example/hook")
    assert (again.pk, again.active, same) == (first.pk, True, secret)
    _sub, chosen = subscription_create(
        api_key=key, url="https://partner.example/hook", secret="a-secret-of-my-own"
    )
    assert chosen == "a-secret-of-my-own"
    assert Subscription.objects.get().secret == "a-secret-of-my-own"


@pytest.mark.parametrize(
    ("url", "secret", "field"),
    [
        ("", None, "url"),
        ("ftp://partner.example/hook", None, "url"),
        ("not a url", None, "url"),
        ("https://partner.example/" + "x" * 2000, None, "url"),
        ("https://partner.example/hook", "short", "secret"),
    ],
)
def test_subscription_input_is_validated(key, url, secret, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        subscription_create(api_key=key, url=url, secret=secret)
    assert list(raised.value.message_dict) == [field]
    assert not Subscription.objects.exists()


# --- recovery -----------------------------------------------------------------------------------


@pytest.fixture
def database_queue(settings):
    """Opt in to the real database queue (no worker runs it here)."""
    settings.TASKS = DATABASE_BACKEND


def test_recovery_requeues_only_deliveries_no_worker_or_task_covers(subscription, database_queue):
    LeadFactory()
    LeadFactory()
    dispatch_changes.call()
    delivery = Delivery.objects.get()
    task = DBTaskResult.objects.get(id=delivery.task_id)
    assert task.status == TaskResultStatus.READY

    assert recover() == 0  # its task waits in the queue

    # a worker was killed while running it: the task stays "running", the lock expires
    DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.RUNNING)
    Delivery.objects.filter(pk=delivery.pk).update(
        locked_until=timezone.now() + timedelta(seconds=30)
    )
    assert recover() == 0  # still locked: maybe still in flight
    Delivery.objects.filter(pk=delivery.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    assert recover() == 1
    delivery.refresh_from_db()
    assert delivery.task_id != str(task.pk)
    assert DBTaskResult.objects.get(id=delivery.task_id).args_kwargs["args"] == [delivery.pk]
    assert recover() == 0


def test_recovery_dispatches_changes_left_in_the_outbox(subscription, database_queue):
    LeadFactory()
    assert LeadChange.objects.count() == 1  # the dispatch queued after commit was lost
    recover()
    assert not LeadChange.objects.exists()
    assert Delivery.objects.count() == 1


# --- admin --------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, users):
    client.force_login(users["administrator"])
    return client


def test_the_admin_lists_deliveries_with_their_attempts(admin_client, subscription, queue):
    delivery = make_delivery(subscription, f"http://127.0.0.1:{free_port()}/hook")
    deliver.call(delivery.pk)
    listing = admin_client.get("/admin/webhooks/delivery/", {"status__exact": "pending"})
    assert listing.status_code == 200 and str(delivery.delivery_id) in listing.content.decode()
    page = admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    assert page.status_code == 200 and "ConnectionRefused" in page.content.decode()
    delivery.refresh_from_db()
    assert delivery.body  # rendered at the first attempt, shown indented to read
    assert "&quot;event&quot;: &quot;leads.updated&quot;" in page.content.decode()
    delivered_only = admin_client.get("/admin/webhooks/delivery/", {"status__exact": "delivered"})
    assert delivered_only.context["cl"].result_count == 0
    subscriptions = admin_client.get("/admin/webhooks/subscription/")
    assert subscriptions.status_code == 200
    assert subscription.secret not in subscriptions.content.decode()


def test_redeliver_in_the_admin_starts_a_fresh_cycle(
    admin_client, subscription, queue, django_capture_on_commit_callbacks
):
    delivery = make_delivery(subscription, f"http://127.0.0.1:{free_port()}/hook")
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, attempts=40, next_attempt_at=timezone.now()
    )
    queue_before = len(queue(deliver))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/webhooks/delivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
            follow=True,
        )
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.next_attempt_at <= timezone.now()
    assert delivery.give_up_at > timezone.now() + timedelta(days=2)
    (again,) = queue(deliver)[queue_before:]
    assert again.args == [delivery.pk] and delivery.task_id == again.id


def test_a_subscription_is_added_in_the_admin_with_a_secret(admin_client, key):
    response = admin_client.post(
        "/admin/webhooks/subscription/add/",
        {"api_key": key.pk, "url": "https://partner.example/hook"},
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get()
    assert subscription.active and len(subscription.secret) >= 32
    page = admin_client.get(f"/admin/webhooks/subscription/{subscription.pk}/change/")
    assert subscription.secret in page.content.decode()
    refused = admin_client.post(
        "/admin/webhooks/subscription/add/", {"api_key": key.pk, "url": "javascript:alert(1)"}
    )
    assert refused.status_code == 200 and Subscription.objects.count() == 1


# --- the real worker, in its own process --------------------------------------------------


def database_url() -> str:
    """The URL of the test database this process uses, for the worker process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    host = db["HOST"] or "localhost"
    return f"postgres://{user}:{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class Workers:
    """``manage.py run_worker`` processes on the test database; all stopped at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "DATABASE_URL": database_url(),
            "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
            "WEBHOOK_BACKOFF_SECONDS": "0.3",
            "WEBHOOK_BACKOFF_MAX_SECONDS": "1",
            "WEBHOOK_TIMEOUT_SECONDS": "2",
            "WEBHOOK_SWEEP_SECONDS": "0.5",
            "WEBHOOK_ALLOW_HTTP": "1",  # the receivers listen on http://127.0.0.1
            "WEBHOOK_ALLOW_PRIVATE": "1",
            "LOG_LEVEL": "WARNING",
        }

    def start(self) -> subprocess.Popen:
        log = (self.tmp_path / f"worker-{len(self.processes)}.log").open("wb")
        command = [sys.executable, "manage.py", "run_worker", "--no-reload", "--interval=0.1"]
        process = subprocess.Popen(
            [*command, "--no-startup-delay"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def logs(self) -> list[str]:
        return [p.read_text(errors="replace") for p in sorted(self.tmp_path.glob("worker-*"))]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(transactional_db, settings, tmp_path) -> Iterator[Workers]:
    settings.TASKS = DATABASE_BACKEND  # the test process queues where the worker looks
    running = Workers(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def partner(transactional_db) -> Subscription:
    api_key, _raw = api_key_create(name="Partner integration")
    subscription, _secret = subscription_create(api_key=api_key, url="http://127.0.0.1:9/")
    return subscription


def point(subscription: Subscription, receiver_url: str) -> None:
    Subscription.objects.filter(pk=subscription.pk).update(url=receiver_url)


def delivered(lead: Lead) -> Delivery | None:
    found = [d for d in deliveries_of(lead) if d.status == DeliveryStatus.DELIVERED]
    return found[0] if found else None


process = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@process
def test_the_worker_delivers_signed_changes(partner, workers, receivers, manager):
    receiver = receivers()
    receiver.secret = partner.secret
    point(partner, receiver.url)
    workers.start()
    lead = LeadFactory(email="ada@example.com")
    lead_update(actor=Actor(user=manager), lead=lead, data={"company": "Analytical Engines"})

    wait_for(
        lambda: any(
            sent["companyName"] == "Analytical Engines"
            for post in list(receiver.posts)
            for sent in post["json"]["leads"]
        ),
        "the update to reach the receiver",
        log=workers.logs,
    )
    assert receiver.posts and all(post["valid"] for post in receiver.posts)
    assert receiver.lead_ids() == {lead.pk}
    wait_for(lambda: delivered(lead), "the delivery to be marked delivered", log=workers.logs)
    assert not LeadChange.objects.exists()


@process
def test_a_receiver_that_is_down_gets_the_delivery_once_it_is_up(partner, workers, receivers):
    port = free_port()
    point(partner, f"http://127.0.0.1:{port}/hook")
    workers.start()
    lead = LeadFactory()

    wait_for(
        lambda: DeliveryAttempt.objects.filter(status_code__isnull=True).count() >= 2,
        "two refused attempts",
        log=workers.logs,
    )
    receiver = receivers(port)
    receiver.secret = partner.secret
    found = wait_for(lambda: delivered(lead), "the delivery after retries", log=workers.logs)
    assert [post["valid"] for post in receiver.posts] == [True]
    assert receiver.posts[0]["delivery"] == str(found.delivery_id)
    assert receiver.lead_ids() == {lead.pk}
    assert found.attempts >= 3
    log = list(found.attempt_log.values_list("status_code", flat=True))
    assert log[-1] == 200 and set(log[:-1]) == {None}


@process
def test_a_delivery_survives_a_worker_killed_in_the_middle_of_it(partner, workers, receivers):
    receiver = receivers(hold_first=True)
    receiver.secret = partner.secret
    point(partner, receiver.url)
    first = workers.start()
    lead = LeadFactory()

    wait_for(receiver.arrived.is_set, "the first POST", log=workers.logs)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    (delivery,) = deliveries_of(lead)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    # what the queue alone would never recover: a task "running" in a dead worker
    running = DBTaskResult.objects.filter(
        task_path="webhooks.tasks.deliver", status=TaskResultStatus.RUNNING
    )
    assert running.count() == 1
    receiver.release.set()

    workers.start()
    found = wait_for(lambda: delivered(lead), "the delivery after the restart", log=workers.logs)
    assert found.attempts == 2
    killed, answered = receiver.posts
    assert killed["delivery"] == answered["delivery"] == str(delivery.delivery_id)
    assert killed["body"] == answered["body"]
    assert answered["valid"] and killed["valid"]
    assert uuid.UUID(answered["delivery"])
