"""Tasks (SPEC §11): created on a lead or alone, completed, snoozed, reassigned and deleted
by the rules of the roles, each change on the lead's timeline; seen like their lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.domain import Actor, Forbidden, NotFound, RuleViolation
from crm.roles import Role
from leads import selectors, services
from leads.models import Event, EventType, Task
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def soon(hours: int = 2):
    return timezone.now() + timedelta(hours=hours)


@pytest.fixture
def lead(salesperson, manager):
    return LeadFactory(by=manager, owner=salesperson)


def events(lead) -> list[str]:
    return list(Event.objects.filter(lead=lead).order_by("id").values_list("type", flat=True))


def test_a_salesperson_adds_a_task_to_its_lead_and_works_it_through(salesperson, lead):
    me = Actor(user=salesperson)
    task = services.task_create(actor=me, title="  Call back  ", due=soon(), lead=lead)
    assert (task.title, task.assignee, task.created_by, task.done) == (
        "Call back",
        salesperson,
        salesperson,
        False,
    )
    later = soon(30)
    services.task_snooze(actor=me, task=task, due=later)
    services.task_complete(actor=me, task=task)
    task.refresh_from_db()
    assert task.due == later and task.done and task.done_at is not None
    assert events(lead)[-3:] == [
        EventType.TASK_CREATED,
        EventType.TASK_SNOOZED,
        EventType.TASK_DONE,
    ]
    snoozed = Event.objects.get(lead=lead, type=EventType.TASK_SNOOZED)
    assert snoozed.data["to"] == later.isoformat() and snoozed.data["title"] == "Call back"
    with pytest.raises(RuleViolation):  # done: no more changes
        services.task_snooze(actor=me, task=task, due=soon(40))


@pytest.mark.parametrize("title", ["", "   ", "x" * 256, "a\x00b"])
def test_a_task_needs_a_title_it_can_store_and_saves_nothing_otherwise(salesperson, lead, title):
    with pytest.raises(RuleViolation):
        services.task_create(actor=Actor(user=salesperson), title=title, due=soon(), lead=lead)
    assert not Task.objects.exists() and EventType.TASK_CREATED not in events(lead)


def test_snoozing_goes_forward_only(salesperson, lead):
    me = Actor(user=salesperson)
    task = services.task_create(actor=me, title="Send the quote", due=soon(), lead=lead)
    with pytest.raises(RuleViolation):
        services.task_snooze(actor=me, task=task, due=timezone.now() - timedelta(minutes=1))


def test_only_managers_give_tasks_to_others_and_only_to_people_who_see_the_lead(
    users, salesperson, manager, lead
):
    other = UserFactory(role=Role.SALESPERSON)
    with pytest.raises(Forbidden):  # a salesperson takes tasks, it does not give them
        services.task_create(
            actor=Actor(user=salesperson), title="Visit", due=soon(), lead=lead, assignee=other
        )
    with pytest.raises(RuleViolation):  # the other salesperson does not see this lead
        services.task_create(
            actor=Actor(user=manager), title="Visit", due=soon(), lead=lead, assignee=other
        )
    task = services.task_create(
        actor=Actor(user=manager), title="Visit", due=soon(), lead=lead, assignee=salesperson
    )
    assert task.assignee == salesperson
    services.task_reassign(actor=Actor(user=manager), task=task, assignee=manager)
    assert Event.objects.get(lead=lead, type=EventType.TASK_REASSIGNED).data["to"] == manager.pk
    with pytest.raises(Forbidden):  # not its task any more, nor one it wrote
        services.task_complete(actor=Actor(user=salesperson), task=task)


def test_a_marketing_manager_adds_no_task_to_a_lead(users, lead):
    with pytest.raises(Forbidden):
        services.task_create(
            actor=Actor(user=users[Role.MARKETING_MANAGER]), title="x", due=soon(), lead=lead
        )


def test_tasks_are_seen_like_their_lead_and_own_tasks_by_their_people(salesperson, manager, lead):
    other = UserFactory(role=Role.SALESPERSON)
    on_lead = services.task_create(actor=Actor(user=salesperson), title="a", due=soon(), lead=lead)
    alone = services.task_create(actor=Actor(user=salesperson), title="b", due=soon())
    assert set(selectors.visible_tasks(Actor(user=salesperson))) == {on_lead, alone}
    assert set(selectors.visible_tasks(Actor(user=manager))) == {on_lead}  # not its own task
    assert set(selectors.visible_tasks(Actor(user=other))) == set()
    with pytest.raises(NotFound):
        selectors.task_for_actor(Actor(user=other), on_lead.pk)
    for junk in ("x", None, 2**80, -1):
        with pytest.raises(NotFound):
            selectors.task_for_actor(Actor(user=salesperson), junk)
    services.task_delete(actor=Actor(user=salesperson), task=alone)
    assert set(selectors.visible_tasks(Actor(user=salesperson))) == {on_lead}
    assert Task.objects.filter(pk=alone.pk, deleted_at__isnull=False).exists()  # soft


def test_my_day_lists_open_tasks_due_before_the_end_of_the_day_overdue_first(salesperson, lead):
    me = Actor(user=salesperson)
    overdue = services.task_create(actor=me, title="late", due=soon(-5), lead=lead)
    today = services.task_create(actor=me, title="today", due=soon(1), lead=lead)
    services.task_create(actor=me, title="next week", due=soon(24 * 7), lead=lead)
    done = services.task_create(actor=me, title="done", due=soon(-1), lead=lead)
    services.task_complete(actor=me, task=done)
    until = timezone.now() + timedelta(hours=3)
    assert selectors.open_tasks(actor=me, until=until) == [overdue, today]
    tasks, more = selectors.lead_tasks(lead)
    assert [t.title for t in tasks] == ["late", "today", "next week", "done"] and not more
    tasks, more = selectors.lead_tasks(lead, limit=3)
    assert [t.title for t in tasks] == ["late", "today", "next week"] and more


def test_my_day_leaves_out_tasks_of_leads_the_user_no_longer_sees(salesperson, manager, lead):
    """A task stays its assignee's, but its lead given to someone else (or deleted) takes it
    off the assignee's day: the lead's name is no longer theirs to see."""
    me = Actor(user=salesperson)
    kept = services.task_create(actor=me, title="mine", due=soon(1))
    given = services.task_create(actor=me, title="given away", due=soon(1), lead=lead)
    until = timezone.now() + timedelta(hours=3)
    assert selectors.open_tasks(actor=me, until=until) == [kept, given]
    other = UserFactory(role=Role.SALESPERSON)
    services.lead_assign(actor=Actor(user=manager), lead=lead, people={"owner": other})
    assert selectors.open_tasks(actor=me, until=until) == [kept]
    with pytest.raises(NotFound):
        selectors.task_for_actor(me, given.pk)


def test_a_lead_has_one_open_follow_up_task(salesperson, lead):
    me = Actor(user=salesperson)
    first = services.task_create(actor=me, title="Follow up", due=soon(), lead=lead, followup=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            title="Follow up", due=soon(), lead=lead, assignee=salesperson, followup=True
        )
    services.task_complete(actor=me, task=first)  # a done one leaves room for the next
    services.task_create(actor=me, title="Follow up", due=soon(), lead=lead, followup=True)


def test_a_read_only_key_changes_no_task(salesperson, lead):
    from crm.models import KeyScope
    from crm.services import api_key_create

    key, _raw = api_key_create(name="Reader", scope=KeyScope.READ_ONLY)
    task = services.task_create(actor=Actor(user=salesperson), title="a", due=soon(), lead=lead)
    with pytest.raises(Forbidden):
        services.task_complete(actor=Actor.for_key(key), task=task)


def test_the_lead_page_timeline_names_each_task_change(client, salesperson, lead):
    me = Actor(user=salesperson)
    task = services.task_create(actor=me, title="Send the brochure", due=soon(), lead=lead)
    services.task_snooze(actor=me, task=task, due=soon(48))
    services.task_complete(actor=me, task=task)
    client.force_login(salesperson)
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    for label in ("Task added", "Task snoozed", "Task done"):
        assert label in page
    assert page.count("Send the brochure") >= 3


def test_the_leads_followup_date_follows_its_follow_up_task(salesperson, manager, lead):
    """Snoozing the follow-up task moves the lead's date; completing it (or deleting the next
    one) clears the date; an ordinary task of the lead leaves the date alone."""
    me = Actor(user=salesperson)
    task = services.lead_followup_set(actor=Actor(user=manager), lead=lead, when=soon(1))
    assert task.followup and task.assignee == salesperson
    services.task_create(actor=me, title="Send the quote", due=soon(3), lead=lead)
    later = soon(48)
    services.task_snooze(actor=me, task=task, due=later)
    lead.refresh_from_db()
    assert lead.followup_date == later
    services.task_complete(actor=me, task=task)
    lead.refresh_from_db()
    assert lead.followup_date is None
    again = services.lead_followup_set(actor=me, lead=lead, when=soon(5))
    assert again.pk != task.pk
    services.task_delete(actor=me, task=again)
    lead.refresh_from_db()
    assert lead.followup_date is None
    assert Task.objects.open().filter(lead=lead).count() == 1  # the quote


def test_the_migration_gives_each_follow_up_date_its_task(salesperson, manager):
    """Leads with a follow-up date from before tasks get their open follow-up task (owner's,
    else assignee's); a lead with an open follow-up task, of nobody, or deleted gets none."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("leads.migrations.0019_followup_tasks")
    when = soon(5)
    owned = LeadFactory(by=manager, owner=salesperson, followup_date=when)
    assigned = LeadFactory(by=manager, owner=None, assignee=manager, followup_date=when)
    nobodys = LeadFactory(by=manager, owner=None, assignee=None, followup_date=when)
    deleted = LeadFactory(by=manager, owner=salesperson, followup_date=when)
    services.lead_delete(actor=Actor(user=manager), lead=deleted)
    has_one = LeadFactory(by=manager, owner=salesperson)
    services.lead_followup_set(actor=Actor(user=manager), lead=has_one, when=when)
    migration.followup_tasks(apps, None)
    made = dict(Task.objects.open().filter(followup=True).values_list("lead_id", "assignee_id"))
    assert made == {
        owned.pk: salesperson.pk,
        assigned.pk: manager.pk,
        has_one.pk: salesperson.pk,
    }
    assert nobodys.pk not in made and deleted.pk not in made


def test_the_follow_up_task_follows_the_lead_to_its_new_person(salesperson, manager, users, lead):
    """Given to someone else (in the app, by an edit or a partner's batch), a lead's open
    follow-up task goes with it: the owner's, else the assignee's. Other tasks stay."""
    boss = Actor(user=manager)
    followup = services.lead_followup_set(actor=boss, lead=lead, when=soon(1))
    other = services.task_create(actor=boss, title="Call", due=soon(), lead=lead, assignee=manager)
    junior = users[Role.JR_SALESPERSON]
    services.lead_assign(actor=boss, lead=lead, people={"owner": junior})
    followup.refresh_from_db()
    other.refresh_from_db()
    assert followup.assignee == junior and other.assignee == manager
    services.lead_assign(actor=boss, lead=lead, people={"owner": None, "assignee": salesperson})
    followup.refresh_from_db()
    assert followup.assignee == salesperson  # no owner: the assignee's
    services.lead_update(actor=boss, lead=lead, data={"owner": manager})
    followup.refresh_from_db()
    assert followup.assignee == manager


def test_a_partners_batch_moves_the_follow_up_too(rpc, salesperson, manager, users, lead):
    followup = services.lead_followup_set(actor=Actor(user=manager), lead=lead, when=soon(1))
    junior = users[Role.JR_SALESPERSON]
    result = rpc.result("updateLeads", {"objects": [{"id": lead.pk, "ownerID": junior.pk}]})
    assert result["updates"][0]["success"] == "true"
    followup.refresh_from_db()
    assert followup.assignee == junior
