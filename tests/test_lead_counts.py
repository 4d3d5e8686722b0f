"""The lead count rollup (leads.rollup) equals a real count after every kind of write, on both
databases: random writes through every path (single services, the batch COPY and UPDATE paths,
merge, soft delete and restore, the admin's actions, the CSV import, raw ORM statements),
checked after each step; and the readers built on it (lists, overview, dashboard, pipeline)
answer what ``COUNT(*)`` answers, for every role and list type."""

from __future__ import annotations

import contextlib
import random
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.models import Count

from crm.domain import Actor, DomainError
from crm.roles import Role
from leads import imports, rollup, selectors, services
from leads.bulk import LeadInput, leads_create_many, leads_delete_many, leads_update_many
from leads.models import Campaign, Lead, LeadCount
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STATUSES = ["prospect", "tentative", "potential", "contact", "customer"]
SOURCES = [None, "website", "referral", "partner"]
ROLES = [Role.SALES_MANAGER, Role.SALESPERSON, Role.JR_SALESPERSON, Role.MARKETING_MANAGER]


def expected_rollup() -> Counter:
    """The rollup recomputed from the leads table in Python."""
    out: Counter = Counter()
    rows = Lead.objects.values_list("owner_id", "assignee_id", "campaign_id", "status_id",
                                    "source_id")  # fmt: skip
    for owner, assignee, campaign, status, source in rows:
        scopes = [(rollup.ALL, 0), (rollup.OWNER, owner or 0)]
        if assignee:
            scopes.append((rollup.ASSIGNEE, assignee))
        if owner and owner == assignee:
            scopes.append((rollup.OWNER_ASSIGNEE, owner))
        if owner is None and assignee:
            scopes.append((rollup.POOL_ASSIGNEE, assignee))
        for scope, user in scopes:
            for c in [0, campaign] if campaign else [0]:
                out[(scope, user, c, status, source or "")] += 1
    return out


def stored_rollup() -> Counter:
    rows = LeadCount.objects.exclude(n=0).values_list(
        "scope", "user_id", "campaign_id", "status_id", "source_id", "n"
    )
    return Counter({tuple(row[:5]): row[5] for row in rows})


class World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.manager = UserFactory(role=Role.SALES_MANAGER)
        self.people = [self.manager] + [UserFactory() for _ in range(3)]
        self.people.append(UserFactory(role=Role.JR_SALESPERSON))
        self.campaigns = [Campaign.objects.create(name=f"C{i}", slug=f"c{i}") for i in range(2)]
        self.actor = Actor(user=self.manager)
        self.serial = 0

    def person(self):
        return self.rng.choice([None, *self.people])

    def values(self) -> dict:
        self.serial += 1
        return {
            "email": f"lead{self.serial}@example.com",
            "status": self.rng.choice(STATUSES),
            "source": self.rng.choice(SOURCES),
            "owner": self.person(),
            "assignee": self.person(),
            "campaign": self.rng.choice([None, *self.campaigns]),
        }

    def some(self, k: int, *, deleted: bool = False) -> list[Lead]:
        leads = Lead.objects.deleted() if deleted else Lead.objects.alive()
        ids = list(leads.values_list("pk", flat=True))
        return list(Lead.objects.filter(pk__in=self.rng.sample(ids, min(k, len(ids)))))


def _create(w: World) -> None:
    services.lead_create(actor=w.actor, data=w.values())


def _update(w: World) -> None:
    for lead in w.some(2):
        data = {k: v for k, v in w.values().items() if k in ("status", "source", "campaign")}
        services.lead_update(actor=w.actor, lead=lead, data=data)


def _assign(w: World) -> None:
    for lead in w.some(2):
        people = {"owner": w.person(), "assignee": w.person()}
        services.lead_assign(actor=w.actor, lead=lead, people=people)


def _delete(w: World) -> None:
    for lead in w.some(2):
        services.lead_delete(actor=w.actor, lead=lead)


def _restore(w: World) -> None:
    for lead in w.some(2, deleted=True):
        services.lead_restore(actor=w.actor, lead=lead)


def _merge(w: World) -> None:
    pair = w.some(2)
    if len(pair) == 2:
        choices = {"owner": "other", "status": "other", "campaign": "other"}
        services.lead_merge(actor=w.actor, keep=pair[0], other=pair[1], choices=choices)


def _batch_create(w: World) -> None:
    items = [LeadInput(data=w.values()) for _ in range(w.rng.randint(1, 6))]
    leads_create_many(actor=w.actor, items=items)


def _batch_update(w: World) -> None:
    items = []
    for lead in w.some(4):
        data = {k: v for k, v in w.values().items() if k != "email"}
        items.append(LeadInput(data=data, lead_id=lead.pk))
    if items:
        leads_update_many(actor=w.actor, items=items)


def _batch_delete(w: World) -> None:
    ids = [lead.pk for lead in w.some(3)]
    if ids:
        leads_delete_many(actor=w.actor, ids=ids)


def _bulk_change(w: World) -> None:
    services.leads_bulk_change(actor=w.actor, leads=w.some(3), data={"status": "customer"})


def _admin_actions(w: World, client) -> None:
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))
    alive, deleted = w.some(2), w.some(2, deleted=True)
    actions = (("lead", "soft_delete", alive), ("deletedlead", "restore", deleted))
    for path, action, leads in actions:
        if leads:
            selected = [x.pk for x in leads]
            client.post(f"/admin/leads/{path}/", {"action": action, "_selected_action": selected})


def _csv_import(w: World) -> None:
    lines = ["Email,First name,Status,Source"]
    for _ in range(w.rng.randint(1, 4)):
        v = w.values()
        lines.append(f"{v['email']},Imported,{v['status']},{v['source'] or ''}")
    upload = SimpleUploadedFile("leads.csv", "\n".join(lines).encode(), "text/csv")
    owner = w.rng.choice(w.people[:4])
    imp = imports.import_create(actor=Actor(user=owner), upload=upload)
    imports.import_run(actor=Actor(user=owner), imp=imp)


def _raw_orm(w: World) -> None:
    """Writes that bypass the services: what a data migration or a shell session does."""
    kind = w.rng.choice(["update", "save", "bulk_create", "hard_delete"])
    leads = w.some(3)
    if kind == "update" and leads:
        Lead.objects.filter(pk__in=[x.pk for x in leads]).update(
            owner=w.person(), status_id=w.rng.choice(STATUSES), campaign=None
        )
    elif kind == "save" and leads:
        leads[0].assignee = w.person()
        leads[0].source_id = w.rng.choice(SOURCES)
        leads[0].save()
    elif kind == "bulk_create":
        v = w.values()
        Lead.objects.bulk_create([Lead(email=v["email"], status_id=v["status"],
                                       owner=v["owner"], campaign=v["campaign"])])  # fmt: skip
    elif leads:
        Lead.objects.filter(pk=leads[0].pk).delete()


STEPS = [_create, _update, _assign, _delete, _restore, _merge, _batch_create, _batch_update,
         _batch_delete, _bulk_change, _admin_actions, _csv_import, _raw_orm]  # fmt: skip


def check_readers(w: World) -> None:
    """The counts of every role and list type equal ``COUNT(*)`` over ``lead_list``."""
    campaign = w.campaigns[0]
    for user in w.people:
        actor = Actor(user=user)
        for list_type in selectors.LIST_TYPES:
            for filters in ({}, {"campaign_slug": campaign.slug}, {"status": "customer"}):
                counts = selectors.lead_counts(actor=actor, list_type=list_type, filters=filters)
                leads = selectors.lead_list(actor=actor, list_type=list_type, filters=filters)
                real = dict(leads.order_by().values_list("status_id").annotate(n=Count("id")))
                assert counts.by_status == real, (user.role, list_type, filters)


@pytest.mark.parametrize("seed", range(3))
def test_the_rollup_equals_a_real_count_after_every_write(seed, client):
    rng = random.Random(seed)
    w = World(rng)
    for _ in range(8):
        _create(w)
    assert stored_rollup() == expected_rollup()
    for _step in range(30):
        write = rng.choice(STEPS)
        with contextlib.suppress(DomainError):  # a refused write writes nothing
            write(w, client) if write is _admin_actions else write(w)
        assert stored_rollup() == expected_rollup(), write.__name__
    check_readers(w)


def test_readers_answer_what_count_answers_for_every_role(client):
    w = World(random.Random(7))
    for _ in range(25):
        _create(w)
    _batch_delete(w)
    for role in ROLES:
        w.people.append(UserFactory(role=role))
    check_readers(w)


def test_a_hard_delete_takes_the_lead_out_of_the_counts():
    """The app never hard-deletes a lead, but a shell session or a data migration may: the
    rollup follows a DELETE as it follows every other write."""
    w = World(random.Random(4))
    for _ in range(6):
        _create(w)
    gone = Lead.objects.order_by("pk")[:2]
    Lead.objects.filter(pk__in=[lead.pk for lead in gone]).delete()
    assert Lead.objects.count() == 4
    assert stored_rollup() == expected_rollup()


def test_rebuild_counts_repairs_a_tampered_rollup(capsys):
    w = World(random.Random(3))
    for _ in range(10):
        _create(w)
    right = stored_rollup()
    LeadCount.objects.filter(scope=rollup.ALL).update(n=999)
    LeadCount.objects.filter(scope=rollup.OWNER).delete()
    LeadCount.objects.create(scope=rollup.ASSIGNEE, user_id=12345, campaign_id=0,
                             status_id="prospect", source_id="", n=5)  # fmt: skip
    assert stored_rollup() != right
    call_command("rebuild_counts")
    assert stored_rollup() == right == expected_rollup()
    assert "Lead counts rebuilt" in capsys.readouterr().out


# Committed writes, then a flush: as between two transactional tests. serialized_rollback
# brings back the statuses and sources the flush removes.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_flush_of_every_table_leaves_an_empty_rollup():
    """Django's test flush empties the tables in any order (SQLite: DELETE, which fires the
    triggers; PostgreSQL: TRUNCATE, which does not): no count is left behind either way."""
    w = World(random.Random(5))
    for _ in range(5):
        _create(w)
    call_command("flush", interactive=False, verbosity=0)
    assert not Lead.objects.exists()
    assert stored_rollup() == Counter()


def test_emptying_the_rollup_before_the_leads_leaves_no_negative_counts():
    w = World(random.Random(6))
    for _ in range(5):
        _create(w)
    LeadCount.objects.all().delete()
    Lead.objects.all().delete()
    assert stored_rollup() == Counter()
    _create(w)
    assert stored_rollup() == expected_rollup()


def test_the_migrated_tables_have_their_triggers():
    """A migration that makes SQLite rebuild the leads or events table puts their triggers
    back (a rebuilt table has lost them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        names = {name for (name,) in cursor.fetchall()}
    assert {"lead_count_insert", "lead_count_update", "lead_count_delete", "lead_activity"} <= names
