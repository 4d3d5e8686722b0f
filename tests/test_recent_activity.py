"""A salesperson's "recent activity" starts from the salesperson's own leads (those with the
latest ``last_activity_at``, which a database trigger keeps on every event insert) and gives
what walking every event newest first would give."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db.models import Max, Q
from django.utils import timezone

from crm.domain import Actor
from leads import selectors
from leads.models import DELETED_STATUS, Event, EventType, Lead
from leads.services import lead_delete, lead_merge, lead_update
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory
from tests.rpc import RpcClient

pytestmark = pytest.mark.django_db


def assert_activity_is_the_latest_event():
    latest = dict(
        Event.objects.values("lead_id").annotate(at=Max("created_at")).values_list("lead_id", "at")
    )
    for lead_id, at in Lead.objects.values_list("id", "last_activity_at"):
        assert at == latest[lead_id], lead_id


def test_every_write_path_keeps_the_latest_activity(users, api_key):
    seller, manager = users["salesperson"], users["sales_manager"]
    lead = LeadFactory(by=manager, owner=seller)
    NoteFactory(lead=lead, by=seller)
    AppointmentFactory(lead=lead, by=seller)
    lead_update(actor=Actor(user=manager), lead=lead, data={"status": "contact"})
    rpc = RpcClient(api_key)
    created = rpc.result(
        "createLeads",
        {
            "objects": [
                {"firstName": f"B{i}", "emailAddress": f"b{i}@example.com"} for i in range(5)
            ]
        },
    )
    ids = [int(c["id"]) for c in created["creates"]]
    rpc.result("updateLeads", {"objects": [{"id": str(ids[0]), "title": "Buyer"}]})
    rpc.result("logCalls", {"objects": [{"leadID": str(ids[1]), "callResult": "answered"}]})
    # A merge moves the other lead's events (newer ones too) and then records its own.
    keep, other = LeadFactory(by=manager), LeadFactory(by=manager)
    NoteFactory(lead=other, by=manager)
    lead_merge(actor=Actor(user=manager), keep=keep, other=other)
    # An event dated before the lead's latest activity leaves it where it is.
    Event.objects.create(
        lead=lead, type=EventType.NOTE_ADDED, created_at=timezone.now() - timedelta(days=30)
    )
    assert_activity_is_the_latest_event()


def walked(actor: Actor, limit: int = 10) -> list[int]:
    """The events the old query walked to: every event newest first, on the actor's leads."""
    mine = Q(lead__owner_id=actor.user_id) | Q(lead__assignee_id=actor.user_id)
    events = Event.objects.exclude(lead__status_id=DELETED_STATUS).filter(mine)
    return list(events.order_by("-created_at", "-id").values_list("id", flat=True)[:limit])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recent_activity_is_what_walking_every_event_gives(users, seed):
    rng = random.Random(seed)
    seller, other, manager = users["salesperson"], users["jr_salesperson"], users["sales_manager"]
    people = [seller, other, manager, None]
    leads = [
        LeadFactory(by=manager, owner=rng.choice(people), assignee=rng.choice(people))
        for _ in range(30)
    ]
    start = timezone.now() - timedelta(days=10)
    for step in range(300):  # events at distinct times, spread over the leads at random
        Event.objects.create(
            lead=rng.choice(leads),
            type=EventType.NOTE_ADDED,
            created_at=start + timedelta(minutes=step),
            actor=manager,
        )
        if step % 60 == 59:  # now and then a lead changes hands or is deleted
            lead = rng.choice(leads)
            lead.refresh_from_db()
            if lead.status_id != DELETED_STATUS and rng.random() < 0.3:
                lead_delete(actor=Actor(user=manager), lead=lead)
            elif lead.status_id != DELETED_STATUS:
                lead_update(
                    actor=Actor(user=manager), lead=lead, data={"owner": rng.choice(people)}
                )
    # The newest events belong to leads the salesperson does not work.
    strangers = [lead for lead in leads if seller not in (lead.owner, lead.assignee)]
    for step in range(50):
        Event.objects.create(
            lead=rng.choice(strangers), type=EventType.NOTE_ADDED, actor=manager,
            created_at=timezone.now() + timedelta(minutes=step),
        )  # fmt: skip
    for user in (seller, other):
        actor = Actor(user=user)
        found = [event.pk for event in selectors.recent_activity(actor=actor)]
        assert found == walked(actor), user
        assert found  # the salesperson works some leads with events
