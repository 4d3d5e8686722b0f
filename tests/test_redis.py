"""Redis (``REDIS_URL``), on Debian's redis-server: the cache that fails open, the request
limits' store that falls back to the database, and the task queue on RQ with the real worker
(``manage.py run_worker``): webhooks sent, and none lost while Redis is stopped."""

# ruff: noqa: F811 - the fixtures borrowed from other test modules are redefined as arguments
from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import caches

from crm import ratelimit
from crm.domain import Actor
from crm.models import RateCounter
from crm.services import api_key_create
from leads.services import lead_update
from tests.factories import PASSWORD, LeadFactory
from tests.redis_server import needs_redis
from tests.test_rate_limits import clock, limits  # noqa: F401 - fixtures
from tests.test_reminders import book, host, smtp  # noqa: F401 - fixtures
from tests.test_signin_throttle import LOCKED, web_sign_in
from tests.test_webhooks import (  # noqa: F401 - fixtures
    Workers,
    delivered,
    partner,
    point,
    receivers,
    wait_for,
)
from webhooks.models import Delivery, DeliveryStatus, LeadChange

pytestmark = needs_redis

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def redis_caches(url: str) -> dict:
    """CACHES as the settings make them for REDIS_URL=url."""
    options = {"socket_connect_timeout": 1, "socket_timeout": 2}
    return {
        "default": {"BACKEND": "crm.cache.RedisCache", "LOCATION": url, "OPTIONS": options},
        "limits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "limits",
            "OPTIONS": options,
        },
    }


def rq_settings(settings, url: str) -> None:
    """The test process queues on RQ at ``url``, as a server with REDIS_URL=url does."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": url}}


# --- the cache ------------------------------------------------------------------------------


def test_the_cache_serves_from_redis_and_fails_open_when_it_stops(settings, redis_server, caplog):
    settings.CACHES = redis_caches(redis_server.url)
    cache = caches["default"]
    cache.set("anchor", {"page": 2}, 60)
    assert cache.get("anchor") == {"page": 2}
    assert caches["limits"].get("anchor") is None  # its own key space

    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="crm.cache"):
        assert cache.get("anchor") is None
        assert cache.get("anchor", "missing") == "missing"
        assert cache.get_many(["anchor"]) == {}
        assert cache.add("other", 1) is False
        cache.set("anchor", {"page": 3})
        cache.delete("anchor")
    with pytest.raises(Exception, match="Connection refused|Error"):
        caches["limits"].get("anchor")  # the limits' alias does not hide the outage


def test_the_rest_list_pages_while_redis_is_down(settings, redis_server, api):
    """The REST list keeps its offset anchors in the cache: with Redis down, pages still come."""
    settings.CACHES = redis_caches(redis_server.url)
    for _ in range(3):
        LeadFactory()
    first = api.get("list/", {"list_type": "all", "limit": 2}).json()["data"]
    redis_server.stop()
    again = api.get("list/", {"list_type": "all", "limit": 2, "offset": 2})
    assert again.status_code == 200
    assert len(first["results"]) == 2 and len(again.json()["data"]["results"]) == 1


# --- the request limits ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_limits_count_in_redis_and_in_the_database_while_it_is_down(
    settings, redis_server, limits, clock
):
    settings.CACHES = redis_caches(redis_server.url)
    limits(per_second=3, per_day=1000, store="limits")
    key, _raw = api_key_create(name="Partner integration")
    assert [ratelimit.hit(key).allowed for _ in range(4)] == [True, True, True, False]
    assert not RateCounter.objects.exists()  # counted in Redis

    redis_server.stop()
    clock.tick()
    assert [ratelimit.hit(key).allowed for _ in range(4)] == [True, True, True, False]
    assert RateCounter.objects.get(period=ratelimit.SECOND).count == 4


@pytest.mark.django_db
def test_the_sign_in_throttle_locks_in_the_database_while_redis_is_down(
    settings, redis_server, users, monkeypatch
):
    settings.CACHES = redis_caches(redis_server.url)
    settings.CRM = {
        **settings.CRM,
        "RATE_LIMIT_STORE": "limits",
        "LOGIN_FAILURES_PER_ACCOUNT": 3,
        "LOGIN_LOCKOUT_SECONDS": 900,
    }
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_300.0)
    web_sign_in("wrong")  # counted in Redis
    redis_server.stop()
    for _ in range(3):
        response, _client = web_sign_in("wrong")
        assert "Please enter a correct username and password" in response.content.decode()
    response, _client = web_sign_in(PASSWORD)
    assert LOCKED in response.content.decode()


# --- the task queue on RQ, with the real worker -----------------------------------------------

process = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def on_rq(settings, tmp_path, url: str) -> Workers:
    """``manage.py run_worker`` processes with REDIS_URL=url (so on RQ), and this process
    queueing on the same Redis."""
    rq_settings(settings, url)
    running = Workers(tmp_path)
    del running.env["TASKS_BACKEND"]
    running.env["REDIS_URL"] = url
    return running


@pytest.fixture
def rq_workers(settings, redis_server, tmp_path) -> Workers:
    """Workers on a Redis of this test's own (it may stop it); all stopped at the end."""
    running = on_rq(settings, tmp_path, redis_server.url)
    yield running
    running.stop()


@pytest.fixture
def rq_worker_on_shared_redis(settings, redis_url, tmp_path) -> Workers:
    running = on_rq(settings, tmp_path, redis_url)
    yield running
    running.stop()


@process
def test_the_rq_workers_send_webhooks_and_lose_none_while_redis_is_stopped(
    settings, redis_server, rq_workers, partner, receivers, manager, client
):
    settings.CACHES = redis_caches(redis_server.url)
    receiver = receivers()
    receiver.secret = partner.secret
    point(partner, receiver.url)
    rq_workers.start()
    rq_workers.start()
    first = LeadFactory()
    wait_for(lambda: delivered(first), "the first delivery", log=rq_workers.logs)

    redis_server.stop()
    during = [LeadFactory(), LeadFactory()]
    down = "Made while Redis was down"
    lead_update(actor=Actor(user=manager), lead=first, data={"company": down})
    client.force_login(manager)
    assert client.get("/leads/").status_code == 200  # the pages keep serving
    time.sleep(1.5)  # sweeps come due meanwhile and cannot be queued
    assert not any(delivered(lead) for lead in during)
    assert LeadChange.objects.exists() or Delivery.objects.filter(status="pending").exists()

    redis_server.start()  # the same address, empty: what waited comes from the database
    for lead in during:
        wait_for(lambda lead=lead: delivered(lead), "a change made while down", log=rq_workers.logs)
    wait_for(
        lambda: any(
            sent.get("companyName") == down
            for post in list(receiver.posts)
            for sent in post["json"]["leads"]
        ),
        "the update made while down",
        log=rq_workers.logs,
    )
    wait_for(
        lambda: not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists(),
        "every delivery delivered",
        log=rq_workers.logs,
    )
    sent = [post["delivery"] for post in receiver.posts]
    assert len(sent) == len(set(sent)) == Delivery.objects.count()  # each one once
    assert all(post["valid"] for post in receiver.posts)
    assert receiver.lead_ids() == {first.pk, *(lead.pk for lead in during)}


@process
def test_the_rq_worker_sends_a_due_reminder(rq_worker_on_shared_redis, smtp, host):
    rq_workers = rq_worker_on_shared_redis
    inbox, port = smtp
    rq_workers.env.update(
        {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
        }
    )
    rq_workers.start()
    lead = LeadFactory(owner=host, by=host)
    appointment = book(host, lead, 20, length=10)  # its reminder is due at once
    wait_for(lambda: inbox.messages, "the reminder", log=rq_workers.logs)
    (message,) = inbox.messages
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == f"appointment-{appointment.pk}.ics"
