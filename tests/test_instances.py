"""crm.instances.Blank: the instance ``Model()`` makes, from defaults sorted once."""

from __future__ import annotations

from datetime import datetime

from django.db.models import signals

from crm.instances import Blank
from leads.models import Event, Lead
from tests.factories import LeadFactory

# Defaults called anew for each instance: a new slug, now, a new dict.
CALLED = {"slug", "custom_fields", "created_at", "updated_at", "last_activity_at", "data"}


def _values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_a_blank_lead_is_what_lead_gives():
    blank, made = Blank(Lead)(), Lead()
    assert type(blank) is Lead
    assert blank._state.adding and blank._state.db is None
    ours, django = _values(blank), _values(made)
    assert ours.keys() == django.keys()
    assert {k: v for k, v in ours.items() if k not in CALLED} == {
        k: v for k, v in django.items() if k not in CALLED
    }
    assert ours["custom_fields"] == {} and isinstance(ours["created_at"], datetime)
    assert len(blank.slug) == len(made.slug)


def test_called_defaults_are_new_for_each_instance():
    new = Blank(Lead)
    first, second = new(), new()
    assert first.slug != second.slug
    assert first.custom_fields is not second.custom_fields
    first.custom_fields["a"] = 1
    assert second.custom_fields == {}


def test_a_blank_event_saves_like_any_event(db):
    lead = LeadFactory()
    event = Blank(Event)()
    event.lead_id = lead.pk
    event.type = "created"
    event.save()
    stored = Event.objects.get(pk=event.pk)
    assert (stored.lead_id, stored.type, stored.data) == (lead.pk, "created", {})


def test_while_something_listens_to_init_it_is_the_model_itself():
    seen = []

    def listen(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(listen, sender=Event)
    try:
        event = Blank(Event)()
    finally:
        signals.post_init.disconnect(listen, sender=Event)
    assert seen == [event]
