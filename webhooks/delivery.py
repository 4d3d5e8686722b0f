"""The work behind the webhook tasks: turning lead changes into deliveries, and POSTing one
delivery once. No task queue here (``webhooks.tasks`` queues); everything is safe to run
twice or concurrently, because the database rows decide who does what.

A receiver verifies a POST by computing ``HMAC-SHA256(secret, f"{timestamp}.".encode() +
body)`` over the raw body and the ``X-CRM-Timestamp`` header and comparing it, in constant
time, with the hex digest in ``X-CRM-Signature: sha256=<hex>``; it should refuse timestamps
more than a few minutes old (replays) and ignore a ``X-CRM-Delivery`` id it has seen (a
delivery is sent at least once, so the same one can arrive again).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import random
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.encoding import iri_to_uri

from crm.domain import Actor
from leads import access
from leads.lead_objects import LeadWriter
from webhooks import addresses
from webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, LeadChange, Subscription

logger = logging.getLogger(__name__)

EVENT = "leads.updated"
LEADS_PER_DELIVERY = 500
# Outbox rows taken per transaction by the dispatcher.
CHANGES_PER_BATCH = 2000
# Due deliveries re-queued per recovery run at most (the next sweep takes the rest).
RECOVER_LIMIT = 1000
USER_AGENT = "LeadCRM-Webhooks/1.0"
ERROR_SNIPPET = 500


def option(name: str) -> float:
    return float(settings.WEBHOOKS[name])


def active_subscriptions():
    return Subscription.objects.filter(active=True, api_key__revoked_at__isnull=True)


# --- signing and backoff ------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-CRM-Signature`` header's value for a body sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def backoff_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: BACKOFF_SECONDS doubled
    per attempt, capped at BACKOFF_MAX_SECONDS, then spread by +-20% so deliveries that failed
    together do not all come back together."""
    exponent = min(max(attempts - 1, 0), 32)
    delay = min(option("BACKOFF_MAX_SECONDS"), option("BACKOFF_SECONDS") * 2**exponent)
    return delay * random.uniform(0.8, 1.2)


def lock_seconds() -> float:
    """How long a claimed delivery stays locked: a POST's connect and read timeouts, and a
    margin. A worker that died mid-POST leaves the lock to expire."""
    return 2 * option("TIMEOUT_SECONDS") + 5


# --- changes -> deliveries ----------------------------------------------------------------


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _seen_by(api_key, lead_ids: Sequence[int]):
    """The leads of ``lead_ids`` the key's actor sees (deleted ones too): a key that acts as a
    user hears only of that user's leads, as it would read them."""
    actor = Actor.for_key(api_key)
    return access.visible_leads(actor, include_deleted=True).filter(pk__in=lead_ids)


def _ids_seen_by(api_key, lead_ids: list[int]) -> list[int]:
    """``_seen_by`` as ids, in order; no query for a key that sees every lead."""
    if not access.visibility_filter(Actor.for_key(api_key)):
        return lead_ids
    return list(_seen_by(api_key, lead_ids).order_by("pk").values_list("pk", flat=True))


def dispatch_pending_changes() -> list[int]:
    """Turn the outbox into deliveries: one per active subscription per <= 500 distinct
    changed leads (of those its key sees). Returns the new deliveries' ids (to queue). Rows
    another dispatcher holds are skipped (PostgreSQL); SQLite serializes writers."""
    created: list[int] = []
    while True:
        with transaction.atomic():
            rows = list(
                LeadChange.objects.select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("lead_id", flat=True)[:CHANGES_PER_BATCH]
            )
            if not rows:
                return created
            lead_ids = sorted(set(rows))
            now = timezone.now()
            give_up_at = now + timedelta(seconds=option("MAX_AGE_SECONDS"))
            deliveries = [
                Delivery(
                    subscription_id=subscription.pk,
                    lead_ids=chunk,
                    created_at=now,
                    next_attempt_at=now,
                    give_up_at=give_up_at,
                )
                for subscription in active_subscriptions().select_related("api_key__acts_as")
                for chunk in _chunks(
                    _ids_seen_by(subscription.api_key, lead_ids), LEADS_PER_DELIVERY
                )
            ]
            Delivery.objects.bulk_create(deliveries)
            # Every committed change of these leads is covered (the body is rendered later,
            # from the leads as they are then), but rows another dispatcher holds stay its own.
            covered = list(
                LeadChange.objects.select_for_update(skip_locked=True)
                .filter(lead_id__in=lead_ids)
                .values_list("pk", flat=True)
            )
            for chunk in _chunks(covered, CHANGES_PER_BATCH):
                LeadChange.objects.filter(pk__in=chunk).delete()
            created.extend(d.pk for d in deliveries)


def due_deliveries() -> list[tuple[int, str]]:
    """(id, last queued task id) of the pending deliveries whose time has come and that no
    worker holds: a worker should be on them; recovery checks that one is."""
    now = timezone.now()
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", "task_id")[:RECOVER_LIMIT]
    )


# --- one attempt ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one run of ``attempt`` did: ``status`` is ``skipped`` (not due, or another worker
    holds it), ``delivered``, ``retry`` (at ``retry_at``) or ``failed``."""

    status: str
    retry_at: dt.datetime | None = None


def render_body(delivery: Delivery) -> str:
    """The POST body: the changed leads as they are now (deleted ones too), as the JSON-RPC
    API's lead objects. ASCII-only JSON, so its bytes are the same wherever it is stored."""
    api_key = delivery.subscription.api_key
    writer = LeadWriter.for_call(tz=dt.UTC, account_id=api_key.account_id)
    leads = _seen_by(api_key, delivery.lead_ids).order_by("pk")
    payload = {
        "event": EVENT,
        "delivery_id": str(delivery.delivery_id),
        "leads": writer.leads(leads),
    }
    return json.dumps(payload, separators=(",", ":"))


def attempt(delivery_pk: int) -> Outcome:
    """Claim the delivery if it is due and free, POST it once, and record the answer."""
    now = timezone.now()
    locked_until = now + timedelta(seconds=lock_seconds())
    claimed = (
        Delivery.objects.filter(
            pk=delivery_pk, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=locked_until, attempts=F("attempts") + 1)
    )
    if not claimed:
        return Outcome("skipped")
    delivery = Delivery.objects.select_related("subscription__api_key__acts_as").get(pk=delivery_pk)
    subscription = delivery.subscription
    mine = Delivery.objects.filter(
        pk=delivery_pk, status=DeliveryStatus.PENDING, locked_until=locked_until
    )
    if not subscription.active or not subscription.api_key.is_active:
        mine.update(
            status=DeliveryStatus.FAILED,
            locked_until=None,
            last_error="The subscription is no longer active.",
        )
        return Outcome(DeliveryStatus.FAILED)
    if not delivery.body:
        delivery.body = render_body(delivery)
        Delivery.objects.filter(pk=delivery_pk).update(body=delivery.body)

    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-CRM-Event": EVENT,
        "X-CRM-Delivery": str(delivery.delivery_id),
        "X-CRM-Timestamp": str(timestamp),
        "X-CRM-Signature": signature(subscription.secret, timestamp, body),
    }
    started_at = timezone.now()
    clock = time.monotonic()
    status_code, error = post(subscription.url, body, headers, timeout=option("TIMEOUT_SECONDS"))
    DeliveryAttempt.objects.create(
        delivery=delivery,
        started_at=started_at,
        duration_ms=int((time.monotonic() - clock) * 1000),
        status_code=status_code,
        error=error,
    )

    finished_at = timezone.now()
    if not error:
        # Delivered, even if this worker's lock ran out meanwhile and another took over.
        Delivery.objects.filter(pk=delivery_pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.DELIVERED, delivered_at=finished_at, locked_until=None
        )
        return Outcome(DeliveryStatus.DELIVERED)
    retry_at = finished_at + timedelta(seconds=backoff_delay(delivery.attempts))
    if retry_at > delivery.give_up_at:
        mine.update(status=DeliveryStatus.FAILED, locked_until=None, last_error=error)
        logger.warning("Webhook delivery %s failed for good: %s", delivery.delivery_id, error)
        return Outcome(DeliveryStatus.FAILED)
    mine.update(next_attempt_at=retry_at, locked_until=None, last_error=error)
    return Outcome("retry", retry_at=retry_at)


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float
) -> tuple[int | None, str]:
    """POST ``body``; returns (status code or None, error text: empty when answered 2xx).
    Only to public addresses (``webhooks.addresses``); redirects are not followed (a 3xx is a
    failure). Never raises."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").encode("idna").decode("ascii")
        target = iri_to_uri(parts.path or "/")
        if parts.query:
            target += f"?{iri_to_uri(parts.query)}"
        headers = dict(headers)
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, parts.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        # Resolved and checked at connect time, and connected to the very address checked.
        connection._create_connection = addresses.public_connection  # type: ignore[attr-defined]
        try:
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            if 200 <= response.status < 300:
                return response.status, ""
            answer = response.read(ERROR_SNIPPET).decode("utf-8", "replace")
            return response.status, f"HTTP {response.status}: {answer}".strip()
        finally:
            connection.close()
    except Exception as exc:  # noqa: BLE001 - any failure to POST is a failed attempt
        return None, f"{type(exc).__name__}: {exc}"[:ERROR_SNIPPET]
