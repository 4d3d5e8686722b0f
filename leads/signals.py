"""Signals the domain layer sends; other apps (webhooks) listen without the domain knowing."""

from __future__ import annotations

from collections.abc import Iterable

from django.dispatch import Signal

from leads.models import Lead

# Sent inside the transaction of every write that changes leads (each timeline event), with
# ``lead_ids``: the ids of the changed leads. Receivers run in that transaction, so what they
# write commits or rolls back with the change.
leads_changed = Signal()


def announce_changes(lead_ids: Iterable[int]) -> None:
    ids = sorted(set(lead_ids))
    if ids:
        leads_changed.send(sender=Lead, lead_ids=ids)
