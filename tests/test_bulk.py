"""The batch lead services (leads/bulk.py) write every kind of lead field as the single-lead
services do: text, numbers, decimals, flags, dates, date-times, addresses, JSON and people,
set and cleared, in one statement per batch (PostgreSQL: COPY and UPDATE ... FROM unnest)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from crm.domain import Actor
from leads.bulk import LeadInput, leads_create_many, leads_update_many
from leads.models import Lead
from leads.services import field_create

VALUES = {
    "first_name": "Ada",
    "lat": Decimal("45.523062"),
    "lng": Decimal("-122.676482"),
    "ip": "123.123.123.123",
    "birth_date": dt.date(1980, 1, 31),
    "ok_to_text": True,
    "is_unsubscribed": True,
    "gmt_offset": -1000,
    "lead_score": 12,
    "followup_date": dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC),
    "status": "potential",
    "source": "partner",
    "description": "Line one\nline two",
}
CLEARED = {
    "lat": None,
    "ip": None,
    "birth_date": None,
    "ok_to_text": None,
    "lead_score": None,
    "followup_date": None,
    "source": None,
    "description": "",
}


def test_every_kind_of_field_is_created_updated_and_cleared(users):
    manager = users["sales_manager"]
    actor = Actor(user=manager)
    color = field_create(label="Favorite Color")
    created = leads_create_many(
        actor=actor,
        items=[
            LeadInput(data={"email": f"lead{i}@example.com"}, tags=["web"] if i else [])
            for i in range(3)
        ],
    )
    leads = [outcome.lead for outcome in created]
    assert all(outcome.ok for outcome in created)
    assert list(leads[1].tags.values_list("name", flat=True)) == ["web"]
    assert all(lead.owner == manager for lead in leads)

    data = {**VALUES, "assignee": users["salesperson"]}
    items = [
        LeadInput(lead_id=lead.pk, data=data, custom={color.system_name: "Blue"}) for lead in leads
    ]
    assert all(o.ok for o in leads_update_many(actor=actor, items=items))
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]):
        for name, value in VALUES.items():
            assert getattr(lead, f"{name}_id" if name in ("status", "source") else name) == value
        assert lead.assignee == users["salesperson"]
        assert lead.custom_fields == {color.system_name: "Blue"}
        assert lead.updated_at > lead.created_at

    cleared = {**CLEARED, "assignee": None}
    items = [
        LeadInput(lead_id=lead.pk, data=cleared, custom={color.system_name: ""}) for lead in leads
    ]
    assert all(o.ok for o in leads_update_many(actor=actor, items=items))
    for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads]):
        for name, value in CLEARED.items():
            assert getattr(lead, f"{name}_id" if name == "source" else name) == value
        assert lead.assignee is None and lead.custom_fields == {}
        assert lead.status_id == "potential" and lead.first_name == "Ada"  # untouched
        assert lead.updated_at <= timezone.now()
