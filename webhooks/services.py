"""Writes of the webhooks: subscriptions, redeliveries, and the capture of lead changes."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from crm import queueing
from crm.models import ApiKey
from webhooks import addresses, tasks
from webhooks.delivery import active_subscriptions, option
from webhooks.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    LeadChange,
    Subscription,
)

URL_MAX_LENGTH = Subscription._meta.get_field("url").max_length
SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = Subscription._meta.get_field("secret").max_length
_validate_url = URLValidator(schemes=["http", "https"])


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def url_errors(url: str) -> list[str]:
    if not url:
        return ["This field is required."]
    if len(url) > URL_MAX_LENGTH:
        return [f"Ensure this value has at most {URL_MAX_LENGTH} characters."]
    try:
        _validate_url(url)
    except ValidationError:
        return ["Enter a valid http or https URL."]
    problem = addresses.url_problem(url)
    return [problem] if problem else []


@transaction.atomic
def subscription_create(
    *, api_key: ApiKey, url: str, secret: str | None = None
) -> tuple[Subscription, str]:
    """Subscribe ``url`` to lead updates for the key; returns the subscription and the secret
    its POSTs are signed with. Subscribing a URL again keeps its one subscription, active
    again, with the given secret or else the one it had."""
    url = url.strip() if isinstance(url, str) else ""
    errors: dict[str, list[str]] = {}
    if problems := url_errors(url):
        errors["url"] = problems
    if secret is not None and not SECRET_MIN_LENGTH <= len(secret) <= SECRET_MAX_LENGTH:
        errors["secret"] = [
            f"The secret must be {SECRET_MIN_LENGTH} to {SECRET_MAX_LENGTH} characters long."
        ]
    if errors:
        raise ValidationError(errors)
    subscription, created = Subscription.objects.get_or_create(
        api_key=api_key, url=url, defaults={"secret": secret or new_secret()}
    )
    if not created:
        subscription.active = True
        if secret:
            subscription.secret = secret
        subscription.save(update_fields=["active", "secret"])
    return subscription, subscription.secret


def subscription_deactivate(*, subscription: Subscription) -> None:
    """Stop sending to the URL; its pending deliveries end as failed at their next try."""
    Subscription.objects.filter(pk=subscription.pk).update(active=False)
    subscription.active = False


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> None:
    """Send a delivery again (the same id and body), as a fresh cycle of tries: pending, due
    now, retried for another MAX_AGE_SECONDS."""
    now = timezone.now()
    changes = {
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "give_up_at": now + timedelta(seconds=option("MAX_AGE_SECONDS")),
        "delivered_at": None,
    }
    Delivery.objects.filter(pk=delivery.pk).update(**changes)
    for name, value in changes.items():
        setattr(delivery, name, value)
    queueing.after_commit(tasks.enqueue_delivery, delivery.pk)


def deliveries_prune() -> int:
    """Delete the deliveries delivered more than ``KEEP_DELIVERED_DAYS`` ago, with their
    attempts (the worker's housekeeping); how many deliveries. Failed and pending ones stay."""
    cutoff = timezone.now() - timedelta(days=option("KEEP_DELIVERED_DAYS"))
    old = Delivery.objects.filter(status=DeliveryStatus.DELIVERED, delivered_at__lt=cutoff)
    with transaction.atomic():
        DeliveryAttempt.objects.filter(delivery__in=old.values("pk")).delete()
        return old.delete()[1].get(Delivery._meta.label, 0)


# --- capture ------------------------------------------------------------------------------


def _enqueue_dispatch() -> None:
    queueing.attempt(tasks.dispatch_changes.enqueue)


def record_lead_changes(sender, *, lead_ids: Iterable[int], **kwargs) -> None:
    """Receiver of ``leads.signals.leads_changed``, in the transaction of the change: while a
    subscription is active, note the changed leads in the outbox (committed or rolled back
    with the change) and queue the dispatcher once the transaction commits."""
    connection = transaction.get_connection()
    queued = any(func is _enqueue_dispatch for _ids, func, _robust in connection.run_on_commit)
    # The first change in a transaction costs one EXISTS query; later ones know the answer.
    if not queued and not active_subscriptions().exists():
        return
    now = timezone.now()
    LeadChange.objects.bulk_create([LeadChange(lead_id=pk, created_at=now) for pk in lead_ids])
    if not queued:
        transaction.on_commit(_enqueue_dispatch, robust=True)
