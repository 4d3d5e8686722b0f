"""Webhook subscriptions and their deliveries (SPEC §7).

A write that changes leads leaves ``LeadChange`` rows (an outbox, in the write's transaction);
the worker turns them into one ``Delivery`` per subscription and POSTs it until it is
delivered or too old. Delivery rows are the truth: a queued task that is lost (a killed
worker) is re-queued from them.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Subscription(models.Model):
    """A URL an API key's owner wants changed leads POSTed to, signed with ``secret``."""

    api_key = models.ForeignKey(
        "crm.ApiKey", on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.CharField("URL", max_length=2000)
    # Kept in clear: every POST is signed with it (HMAC-SHA256), so it cannot be hashed.
    secret = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "url"], name="unique_subscription_url")
        ]

    def __str__(self) -> str:
        return self.url


class LeadChange(models.Model):
    """One changed lead, written in the transaction of the change (only while a subscription
    is active) and removed once the worker has made deliveries of it."""

    lead_id = models.BigIntegerField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Lead {self.lead_id} changed"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One POST of changed leads to one subscription, tried until it is answered 2xx or
    ``give_up_at`` passes. ``body`` is rendered at the first attempt and kept, so every retry
    sends the same bytes (with a fresh timestamp and signature)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    lead_ids = models.JSONField(default=list)
    body = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Attempts in the current cycle (a redelivery starts a new cycle; the log keeps them all).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # While a worker is POSTing it; a lock that has passed belongs to a worker that died.
    locked_until = models.DateTimeField(null=True, blank=True)
    # Failed attempts are retried until then (created_at + MAX_AGE_SECONDS, or the redelivery
    # + MAX_AGE_SECONDS); after it the delivery is marked failed.
    give_up_at = models.DateTimeField()
    # The last task queued for it, so a sweep does not queue it twice.
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return str(self.delivery_id)


class DeliveryAttempt(models.Model):
    """One POST of a delivery: when, how long, the answer's status code or the error."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"Attempt at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
