"""crm.compiled: a read compiled once gives what its queryset gives, whatever the values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from crm import selectors, services, tokens
from crm.compiled import CompiledRead
from crm.models import ApiKey, User
from crm.roles import Role
from crm.sessions import SessionStore
from leads import selectors as lead_selectors
from leads.models import Campaign, Source, Status
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _keys(account_id: str):
    return (
        ApiKey.objects.select_related("acts_as")
        .filter(account_id=account_id)
        .filter(Q(acts_as__isnull=True) | Q(acts_as__is_active=True))
        .order_by("pk")
    )


def test_rows_relations_and_annotations_match_the_queryset():
    other = services.user_create(
        username="a-salesperson", role=Role.SALESPERSON, password="x" * 12, validate=False
    )
    acting, _raw = services.api_key_create(name="acts", scope="user", acts_as=other)
    plain, _raw = services.api_key_create(name="plain")
    read = CompiledRead(ApiKey, _keys, account_id=str)
    for key in (acting, plain):
        got = read(account_id=key.account_id)
        want = list(_keys(key.account_id))
        assert [_fields(k) for k in got] == [_fields(k) for k in want] and len(got) == 1
        # the select_related user came with the row: reading it costs no query
        if key.acts_as_id:
            assert _fields(got[0].acts_as) == _fields(other)
    assert read(account_id="no-such-key") == []
    other.is_active = False
    other.save()
    assert read(account_id=acting.account_id) == []  # the condition on the join holds


def test_the_token_user_read_sees_a_revocation_at_once():
    user = services.user_create(
        username="a-salesperson", role=Role.SALESPERSON, password="x" * 12, validate=False
    )
    pair = tokens.issue_tokens(user)
    refresh_id = RefreshToken(pair["refresh"])["jti"]
    found = selectors.token_user(user.pk, refresh_id)
    assert found == user and found.revoked is False
    tokens.revoke_refresh(pair["refresh"])
    assert selectors.token_user(user.pk, refresh_id).revoked is True
    tokens_left = selectors.token_user(str(user.pk), None)
    assert tokens_left == user
    user.is_active = False
    user.save()
    assert selectors.token_user(user.pk, refresh_id) is None  # the very next read refuses
    for bad in ("x", None, 0, -1, 2**70):
        assert selectors.token_user(bad, refresh_id) is None


def test_a_value_used_in_several_places_takes_each_of_them():
    def named(name: str):
        return User.objects.filter(Q(username=name) | Q(email=name)).order_by("pk")

    by_username = services.user_create(
        username="pat@example.com", role=Role.SALESPERSON, password="x" * 12, validate=False
    )
    by_email = services.user_create(
        username="sam",
        email="pat@example.com",
        role=Role.SALESPERSON,
        password="x" * 12,
        validate=False,
    )
    read = CompiledRead(User, named, name=str)
    assert read(name="pat@example.com") == list(named("pat@example.com")) == [by_username, by_email]
    assert read(name="sam") == [by_email]


def test_a_value_that_does_not_reach_the_sql_unchanged_is_refused():
    read = CompiledRead(User, lambda name: User.objects.filter(username__icontains=name), name=str)
    with pytest.raises(ImproperlyConfigured, match="cannot be compiled once"):
        read(name="sales")
    with pytest.raises(ImproperlyConfigured, match="int, str and datetime"):
        CompiledRead(User, lambda when: User.objects.filter(last_login=when), when=float)(when=1.0)


def test_values_list_reads_give_tuples_and_see_each_change_at_once():
    plain = list(Status.objects.assignable().values_list("key", "label"))
    assert lead_selectors.assignable_statuses() == plain and plain
    Status.objects.filter(pk=plain[0][0]).update(label="Renamed")  # as the admin would
    assert lead_selectors.assignable_statuses()[0] == (plain[0][0], "Renamed")


def test_the_lists_choices_in_one_statement_equal_the_orms_lists(django_assert_num_queries):
    Campaign.objects.create(name="Spring fair", slug="spring-fair")
    Campaign.objects.create(name="Autumn mail", slug="autumn-mail")
    Campaign.objects.create(name="Old one", slug="old-one", active=False)
    User.objects.filter(pk=UserFactory(username="b-inactive").pk).update(is_active=False)
    UserFactory(username="a-salesperson", first_name="A", last_name="Salesperson")
    Source.objects.filter(pk="website").update(order=99)  # moved last, as the admin would
    with django_assert_num_queries(1):
        choices = lead_selectors.list_choices()
    assert choices.statuses == list(Status.objects.assignable().values_list("key", "label"))
    assert choices.sources == list(Source.objects.values_list("key", "label"))
    assert choices.sources[-1][0] == "website"
    assert choices.campaigns == [("autumn-mail", "Autumn mail"), ("spring-fair", "Spring fair")]
    assert choices.people == list(
        User.objects.filter(is_active=True)
        .order_by("username")
        .values_list("username", "first_name", "last_name")
    )
    assert ("a-salesperson", "A", "Salesperson") in choices.people
    assert "b-inactive" not in [person[0] for person in choices.people]


def test_flat_or_dict_rows_are_refused():
    flat = CompiledRead(User, lambda: User.objects.values_list("pk", flat=True))
    with pytest.raises(ImproperlyConfigured, match="values_list"):
        flat()
    with pytest.raises(ImproperlyConfigured, match="values_list"):
        CompiledRead(User, lambda: User.objects.values("pk"))()


def test_a_session_of_a_deactivated_user_is_refused_on_its_next_page(client):
    user = services.user_create(
        username="a-salesperson", role=Role.SALESPERSON, password="x" * 12, validate=False
    )
    client.force_login(user)
    assert client.get("/leads/").status_code == 200
    user.is_active = False
    user.save()
    assert client.get("/leads/").status_code == 302  # to the sign-in page


def test_an_expired_session_is_not_read(client):
    user = services.user_create(
        username="a-salesperson", role=Role.SALESPERSON, password="x" * 12, validate=False
    )
    client.force_login(user)
    assert client.get("/leads/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get("/leads/").status_code == 302  # to the sign-in page
    assert SessionStore("\x00" * 9).load() == {}  # a key no database stores reads as none


def test_the_dashboard_reads_are_their_querysets(users):
    from appointments import selectors as appointment_selectors
    from crm.domain import Actor
    from tests.factories import AppointmentFactory, LeadFactory, NoteFactory

    seller, manager = users[Role.SALESPERSON], users[Role.SALES_MANAGER]
    start = timezone.now() - timedelta(days=1)
    end = start + timedelta(days=30)
    for who in (seller, manager):
        lead = LeadFactory(by=manager, owner=who)
        NoteFactory(lead=lead, by=who)
        soon = timezone.now() + timedelta(days=2)
        AppointmentFactory(lead=lead, by=who, start=soon, end=soon + timedelta(hours=1))
    for user in (seller, manager):
        got = appointment_selectors.dashboard_agenda(user_id=user.pk, start=start, end=end)
        want = list(appointment_selectors.hosted_between(user=user, start=start, end=end)[:21])
        assert [_fields(a) for a in got] == [_fields(a) for a in want] and got
        assert [str(a.lead) for a in got] == [str(a.lead) for a in want]
        actor = Actor(user=user)
        mine = None if lead_selectors.access.sees_all(actor) else user.pk
        got = lead_selectors.recent_activity(actor=actor)
        want = list(lead_selectors._activity(mine, limit=lead_selectors.ACTIVITY_LIMIT))
        assert [(e.pk, str(e.lead), str(e.actor)) for e in got] == [
            (e.pk, str(e.lead), str(e.actor)) for e in want
        ] and got


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("bounded", [True, False])
def test_a_read_compiled_per_role_is_its_queryset_for_every_role(users, role, bounded):
    """``hosted_list`` compiles ``hosted_by`` once per role, with a stand-in user: each role's
    rules still decide, and each user gets its own appointments."""
    from appointments import selectors as appointment_selectors
    from crm.domain import Actor
    from tests.factories import AppointmentFactory, LeadFactory

    manager = users[Role.SALES_MANAGER]
    soon = timezone.now() + timedelta(days=2)
    for i, user in enumerate(users.values()):
        for j, owner in enumerate((user, None, manager)):
            lead = LeadFactory(by=manager, owner=owner)
            start = soon + timedelta(hours=i, minutes=10 * j)
            AppointmentFactory(lead=lead, by=manager, host=user, start=start,
                               end=start + timedelta(minutes=5))  # fmt: skip
    actor = Actor(user=users[role])
    start = timezone.now()
    end = start + timedelta(days=30) if bounded else None
    got = appointment_selectors.hosted_list(actor=actor, start=start, end=end, limit=50)
    want = list(appointment_selectors.hosted_by(actor=actor, start=start, end=end)[:50])
    assert [(a.pk, str(a.lead)) for a in got] == [(a.pk, str(a.lead)) for a in want]
    assert all(a.host_id == users[role].pk for a in got)


def test_a_statement_binds_its_markers_and_nothing_else():
    from crm.compiled import Statement, marker

    user, key = marker(int), marker(str)
    made = Statement.of("sql", [user, "x", key, user, 5], user_id=user, status=key)
    assert made.bind(user_id=7, status="open") == [7, "x", "open", 7, 5]
    assert made.bind(user_id=8, status="won") == [8, "x", "won", 8, 5]
