"""SPEC §3's role table, endpoint by endpoint, through the REST API of seed 004.

Every test runs once per role with the ``users`` fixture's user of that role ("me"), around
four leads named by how they relate to that user, each with a note and an appointment by
someone else (built once per role: the tests are grouped by role, and each test's changes are
rolled back after it):

- ``own``: the user owns it;
- ``assigned``: a colleague owns it and the user is its assignee;
- ``pool``: nobody owns it;
- ``other``: a colleague owns it.

``ROLE_TABLE`` below is SPEC §3 written as data; every expectation is read from it. A lead a
user may not see must answer exactly as a lead that does not exist, so those cases compare the
answer for the invisible lead with the answer for a made-up slug or id, body for body.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from appointments.models import Appointment
from crm.domain import Actor
from crm.roles import Role
from leads.models import DELETED_STATUS, Lead, LeadNote, new_slug
from leads.services import lead_delete
from tests.conftest import built_in_savepoint, error_of, per_test
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory, UserFactory

# Every test names a role, and so the world around that role's user (``around``).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_world", "around")]


def by_role(argnames, cases):
    """Parameters with the role in module scope: pytest groups the tests by role, so the world
    around each role's user (``around``) is built once per role."""
    return pytest.mark.parametrize(argnames, cases, scope="module")


OWN, ASSIGNED, POOL, OTHER = "own", "assigned", "pool", "other"
KINDS = (OWN, ASSIGNED, POOL, OTHER)
ALL = frozenset(KINDS)
NO = frozenset()
OWNED = frozenset({OWN})
MINE = frozenset({OWN, ASSIGNED})
MINE_AND_POOL = frozenset({OWN, ASSIGNED, POOL})


@dataclass(frozen=True)
class Rights:
    sees: frozenset[str]  # leads it sees (lists, overview, view/lead, every write)
    edits: frozenset[str]  # leads whose fields it edits (update/lead)
    deletes: frozenset[str]  # leads it deletes (delete/lead)
    writes: frozenset[str]  # leads it adds notes to and books appointments on
    gives: bool  # sets a lead's owner or assignee to someone else
    manages: bool  # deletes others' notes, changes and deletes others' appointments


# SPEC §3, "Roles and ownership", one row per role.
# fmt: off
ROLE_TABLE: dict[str, Rights] = {
    #                         sees           edits  deletes notes+appts gives  manages
    "administrator":     Rights(ALL,           ALL,   ALL,    ALL,        True,  True),
    "company_manager":   Rights(ALL,           ALL,   ALL,    ALL,        True,  True),
    "sales_manager":     Rights(ALL,           ALL,   ALL,    ALL,        True,  True),
    "marketing_manager": Rights(ALL,           ALL,   NO,     NO,         False, False),
    "salesperson":       Rights(MINE_AND_POOL, OWNED, OWNED,  MINE,       False, False),
    "jr_salesperson":    Rights(MINE,          OWNED, NO,     MINE,       False, False),
}
# fmt: on
ROLES = list(ROLE_TABLE)
assert set(ROLES) == set(Role.values)

EVERY_CASE = [(role, kind) for role in ROLES for kind in KINDS]
INVISIBLE_CASES = [(r, k) for r, k in EVERY_CASE if k not in ROLE_TABLE[r].sees]
WRITER_CASES = [(r, k) for r, k in EVERY_CASE if k in ROLE_TABLE[r].writes]
ROLES_THAT_WRITE = [r for r in ROLES if ROLE_TABLE[r].writes]

# The documented answers (SPEC §4, messages table).
VALIDATION, FAILED = "Validation Error", "Request Failed"
NOT_OWNER = "You are not owner of this lead."
UPDATE_UNKNOWN = "Requested lead does not esixt."
LEAD_NOT_FOUND = "Requested lead not found."
SLUG_INVALID = "Requested slug is invalid."
CANT_DELETE_LEAD = "You can't delete this lead."
CANT_ADD_NOTE = "You can't add note on this lead."
CANT_BOOK = "You can't take appointment under this lead."
CANT_DELETE_NOTE = "You can't delete this note."
NOTE_NOT_FOUND = "Requested note not found."
CANT_UPDATE_APPOINTMENT = "You can't update this appointment."
CANT_DELETE_APPOINTMENT = "You can't delete this appointment."
APPOINTMENT_NOT_FOUND = "Requested appointment not found."


def outcome(role: str, kind: str, allowed: frozenset[str]) -> str:
    """``unknown`` (the user may not see the lead), ``ok`` or ``refused``."""
    if kind not in ROLE_TABLE[role].sees:
        return "unknown"
    return "ok" if kind in allowed else "refused"


# --- the people and the leads around them -----------------------------------------------------


@pytest.fixture
def me(users, role):
    return users[role]


@pytest.fixture
def as_me(client_for, me):
    return client_for(me)


def build_around(me) -> SimpleNamespace:
    """A salesperson who is none of the ``users`` (``colleague``: owns the leads that are not
    the user's); the leads, built by a sales manager who is none of the ``users`` (the
    factories' default actor); on every lead a note and an appointment by that manager."""
    colleague = UserFactory(username="colleague", role=Role.SALESPERSON)
    leads = {
        OWN: LeadFactory(owner=me, first_name="Own"),
        ASSIGNED: LeadFactory(owner=colleague, assignee=me, first_name="Assigned"),
        POOL: LeadFactory(owner=None, first_name="Pool"),
        OTHER: LeadFactory(owner=colleague, first_name="Other"),
    }
    return SimpleNamespace(
        colleague=colleague,
        leads=leads,
        notes={kind: NoteFactory(lead=lead) for kind, lead in leads.items()},
        appointments={kind: AppointmentFactory(lead=lead) for kind, lead in leads.items()},
    )


@pytest.fixture(scope="module")
def around(role, cast, django_db_blocker):
    """``build_around`` the role's user, once per role, in a savepoint rolled back when the
    tests of the next role begin."""
    with built_in_savepoint(django_db_blocker, lambda: build_around(cast[role])) as built:
        yield built


@pytest.fixture
def world(around) -> SimpleNamespace:
    return per_test(around)


@pytest.fixture
def colleague(world):
    return world.colleague


@pytest.fixture
def leads(world) -> dict[str, Lead]:
    return world.leads


@pytest.fixture
def notes(world) -> dict[str, LeadNote]:
    return world.notes


@pytest.fixture
def appointments(world) -> dict[str, Appointment]:
    return world.appointments


def slugs(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {row["slug"] for row in response.json()["data"]["results"]}


def visible(role: str, leads: dict[str, Lead]) -> set[str]:
    return {leads[kind].slug for kind in ROLE_TABLE[role].sees}


def assert_same_answer(answer, unknown_answer) -> None:
    """The answer about an invisible lead is the answer about one that does not exist."""
    assert answer.status_code == unknown_answer.status_code
    assert answer.json() == unknown_answer.json()


def made_up_id(model) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def lead_fields(lead: Lead, **changes: str) -> dict[str, str]:
    """The four fields update/lead requires again, with ``changes`` applied."""
    data = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "phone": lead.phone,
    }
    return {**data, **changes}


def new_lead(**extra: str) -> dict[str, str]:
    return {
        "first_name": "New",
        "last_name": "Prospect",
        "email": "new.prospect@example.com",
        "phone": "5550001111",
        **extra,
    }


def slot(days: int = 30) -> dict[str, str]:
    start = timezone.localtime(timezone.now() + timedelta(days=days)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    end = start + timedelta(hours=1)
    return {
        "appointment_date": start.strftime("%Y-%m-%d %H:%M"),
        "appointment_to": end.strftime("%Y-%m-%d %H:%M"),
    }


# --- what each role sees --------------------------------------------------------------------


@by_role("role", ROLES)
def test_list_all_shows_exactly_the_leads_the_role_sees(as_me, role, leads):
    answer = as_me.get("list/", {"list_type": "all"})

    assert slugs(answer) == visible(role, leads)
    assert answer.json()["data"]["count"] == len(ROLE_TABLE[role].sees)


@by_role("role", ROLES)
def test_list_default_is_owned_and_assigned_is_assigned(as_me, role, leads):
    assert slugs(as_me.get("list/")) == {leads[OWN].slug}
    assert slugs(as_me.get("list/", {"list_type": "assigned"})) == {leads[ASSIGNED].slug}


@by_role("role", ROLES)
def test_a_filter_on_an_invisible_lead_finds_nothing(as_me, role, leads):
    for kind in KINDS:
        answer = as_me.get("list/", {"list_type": "all", "email": leads[kind].email})
        expected = {leads[kind].slug} if kind in ROLE_TABLE[role].sees else set()
        assert slugs(answer) == expected, kind


@by_role("role", ROLES)
def test_overview_counts_only_the_leads_the_role_sees(as_me, role, leads, appointments):
    answer = as_me.get("overview/")

    assert answer.status_code == 200, answer.json()
    data = answer.json()["data"]
    assert data["TotalLeads"] == len(ROLE_TABLE[role].sees)
    assert sum(row["count"] for row in data["LeadsData"]["status"]) == data["TotalLeads"]
    assert {row["slug"] for row in data["appointments"]} == visible(role, leads)


@by_role("role", ROLES)
def test_appointment_list_shows_appointments_on_the_leads_the_role_sees(
    as_me, role, leads, appointments
):
    assert slugs(as_me.get("appointments/list/")) == visible(role, leads)


@pytest.mark.parametrize("kind", KINDS)
@by_role("role", ROLES)
def test_view_lead(as_me, role, kind, leads, notes, appointments):
    lead = leads[kind]

    answer = as_me.get("view/lead/", {"slug": lead.slug})

    if outcome(role, kind, ROLE_TABLE[role].sees) == "unknown":
        assert_same_answer(answer, as_me.get("view/lead/", {"slug": new_slug()}))
        assert error_of(answer) == (400, VALIDATION, {"slug": [SLUG_INVALID]})
        return
    assert answer.status_code == 200, answer.json()
    data = answer.json()["data"]
    assert data["slug"] == lead.slug
    # Everyone who sees a lead reads its notes and appointments (marketing managers too).
    assert [n["note_id"] for n in data["notes"]] == [notes[kind].pk]
    assert [a["appointment_id"] for a in data["appointments"]] == [appointments[kind].pk]


# --- who edits, gives away and deletes leads -------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@by_role("role", ROLES)
def test_update_lead_fields(as_me, role, kind, leads):
    lead = leads[kind]

    answer = as_me.post(
        "update/lead/", {"slug": lead.slug, **lead_fields(lead, first_name="Renamed")}
    )

    expected = outcome(role, kind, ROLE_TABLE[role].edits)
    lead.refresh_from_db()
    if expected == "ok":
        assert answer.status_code == 200, answer.json()
        assert answer.json()["data"]["first_name"] == "Renamed"
        assert lead.first_name == "Renamed"
        return
    assert lead.first_name != "Renamed"
    if expected == "refused":
        assert error_of(answer) == (401, FAILED, {"detail": [NOT_OWNER]})
        return
    unknown = as_me.post("update/lead/", {"slug": new_slug(), **lead_fields(lead)})
    assert_same_answer(answer, unknown)
    assert error_of(answer) == (401, FAILED, {"detail": [UPDATE_UNKNOWN]})


@pytest.mark.parametrize("kind", KINDS)
@by_role("role", ROLES)
def test_delete_lead(as_me, role, kind, leads):
    lead = leads[kind]

    answer = as_me.post("delete/lead/", {"slug": lead.slug})

    expected = outcome(role, kind, ROLE_TABLE[role].deletes)
    lead.refresh_from_db()
    if expected == "ok":
        assert answer.status_code == 200, answer.json()
        assert lead.status_id == DELETED_STATUS
        return
    assert lead.status_id != DELETED_STATUS
    if expected == "refused":
        assert error_of(answer) == (401, FAILED, {"detail": [CANT_DELETE_LEAD]})
        return
    assert_same_answer(answer, as_me.post("delete/lead/", {"slug": new_slug()}))
    assert error_of(answer) == (400, VALIDATION, {"slug": [LEAD_NOT_FOUND]})


@by_role("role", ROLES)
def test_a_new_lead_is_owned_by_its_creator(as_me, role, me):
    answer = as_me.post("create/lead/", new_lead())

    assert answer.status_code == 201, answer.json()
    assert (answer.json()["data"]["owner"], answer.json()["data"]["assignee"]) == (role, None)
    created = Lead.objects.get(slug=answer.json()["data"]["slug"])
    assert (created.owner, created.assignee) == (me, None)


@by_role("role", ROLES)
def test_create_lead_assigned_to_someone_else(as_me, role, colleague):
    answer = as_me.post("create/lead/", new_lead(assignee=colleague.username))

    if ROLE_TABLE[role].gives:
        assert answer.status_code == 201, answer.json()
        created = Lead.objects.get(slug=answer.json()["data"]["slug"])
        assert created.assignee == colleague
        assert answer.json()["data"]["assignee"] == colleague.username
        return
    status, error_type, errors = error_of(answer)
    assert (status, error_type, list(errors)) == (401, FAILED, ["detail"])
    assert not Lead.objects.filter(email="new.prospect@example.com").exists()


@by_role("role", ROLES)
def test_update_lead_assignee_to_someone_else(as_me, role, leads, colleague):
    lead = leads[OWN]  # every role edits the fields of a lead it owns

    answer = as_me.post(
        "update/lead/",
        {"slug": lead.slug, **lead_fields(lead, first_name="Renamed"), "assignee": "colleague"},
    )

    lead.refresh_from_db()
    if ROLE_TABLE[role].gives:
        assert answer.status_code == 200, answer.json()
        assert answer.json()["data"]["assignee"] == colleague.username
        assert (lead.assignee, lead.first_name) == (colleague, "Renamed")
        return
    status, error_type, errors = error_of(answer)
    assert (status, error_type, list(errors)) == (401, FAILED, ["detail"])
    # Refused as a whole: the other fields of the same request are not written either.
    assert (lead.assignee, lead.first_name) == (None, "Own")


@by_role("role", [r for r in ROLES if ROLE_TABLE[r].edits == ALL])
def test_resending_the_current_assignee_gives_nothing_away(as_me, role, me, leads):
    """A marketing manager edits every field of a lead that has an assignee: sending the
    current assignee back, as a full edit form does, changes neither owner nor assignee."""
    lead = leads[ASSIGNED]

    answer = as_me.post(
        "update/lead/",
        {"slug": lead.slug, **lead_fields(lead, first_name="Renamed"), "assignee": me.username},
    )

    assert answer.status_code == 200, answer.json()
    lead.refresh_from_db()
    assert (lead.first_name, lead.assignee, lead.owner.username) == ("Renamed", me, "colleague")


# "Only managers and administrators give a lead to someone else": naming oneself is not giving
# it away, except for a marketing manager, who edits all fields "but owner and assignee".
@by_role("role", ROLES)
def test_create_lead_assigned_to_oneself(as_me, role, me):
    answer = as_me.post("create/lead/", new_lead(assignee=me.username))

    if role != "marketing_manager":
        assert answer.status_code == 201, answer.json()
        assert Lead.objects.get(slug=answer.json()["data"]["slug"]).assignee == me
        return
    status, error_type, errors = error_of(answer)
    assert (status, error_type, list(errors)) == (401, FAILED, ["detail"])
    assert not Lead.objects.filter(email="new.prospect@example.com").exists()


# --- notes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@by_role("role", ROLES)
def test_create_note(as_me, role, kind, me, leads, notes):
    lead = leads[kind]
    added = lead.notes.exclude(pk=notes[kind].pk)

    answer = as_me.post("create/leadnote/", {"slug": lead.slug, "note": "Sent the brochure."})

    expected = outcome(role, kind, ROLE_TABLE[role].writes)
    if expected == "ok":
        assert answer.status_code == 201, answer.json()
        assert answer.json()["data"]["author"] == role
        assert list(added.values_list("author", "text")) == [(me.pk, "Sent the brochure.")]
        return
    assert not added.exists()
    if expected == "refused":
        assert error_of(answer) == (401, FAILED, {"detail": [CANT_ADD_NOTE]})
        return
    unknown = as_me.post("create/leadnote/", {"slug": new_slug(), "note": "Sent the brochure."})
    assert_same_answer(answer, unknown)
    assert error_of(answer) == (400, VALIDATION, {"slug": [LEAD_NOT_FOUND]})


@pytest.mark.parametrize("kind", KINDS)
@by_role("role", ROLES)
def test_delete_someone_elses_note(as_me, role, kind, notes):
    note = notes[kind]

    answer = as_me.post("delete/leadnote/", {"note_id": note.pk})

    manages = ALL if ROLE_TABLE[role].manages else NO
    expected = outcome(role, kind, manages)
    note.refresh_from_db()
    if expected == "ok":
        assert answer.status_code == 200, answer.json()
        assert note.deleted_at is not None
        return
    assert note.deleted_at is None
    if expected == "refused":
        assert error_of(answer) == (401, FAILED, {"detail": [CANT_DELETE_NOTE]})
        return
    assert_same_answer(answer, as_me.post("delete/leadnote/", {"note_id": made_up_id(LeadNote)}))
    assert error_of(answer) == (400, VALIDATION, {"note_id": [NOTE_NOT_FOUND]})


@by_role(("role", "kind"), WRITER_CASES)
def test_the_author_deletes_its_own_note(as_me, role, kind, me, leads):
    note = NoteFactory(lead=leads[kind], by=me)

    answer = as_me.post("delete/leadnote/", {"note_id": note.pk})

    assert answer.status_code == 200, answer.json()
    note.refresh_from_db()
    assert note.deleted_at is not None


# --- appointments -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@by_role("role", ROLES)
def test_create_appointment(as_me, role, kind, me, leads, appointments):
    lead = leads[kind]
    added = lead.appointments.exclude(pk=appointments[kind].pk)

    answer = as_me.post("create/appointment/", {"slug": lead.slug, **slot()})

    expected = outcome(role, kind, ROLE_TABLE[role].writes)
    if expected == "ok":
        assert answer.status_code == 201, answer.json()
        assert (answer.json()["data"]["host"], answer.json()["data"]["slug"]) == (role, lead.slug)
        assert list(added.values_list("host", flat=True)) == [me.pk]
        return
    assert not added.exists()
    if expected == "refused":
        # Marketing managers read appointments only; a salesperson books on its own leads.
        assert error_of(answer) == (400, VALIDATION, {"slug": [CANT_BOOK]})
        return
    assert_same_answer(answer, as_me.post("create/appointment/", {"slug": new_slug(), **slot()}))
    assert error_of(answer) == (400, VALIDATION, {"slug": [SLUG_INVALID]})


@pytest.mark.parametrize("kind", KINDS)
@by_role("role", ROLES)
def test_update_someone_elses_appointment(as_me, role, kind, appointments):
    appointment = appointments[kind]
    change = {"appointment_note": "Moved to the meeting room."}

    answer = as_me.post("update/appointment/", {"appointment_id": appointment.pk, **change})

    manages = ALL if ROLE_TABLE[role].manages else NO
    expected = outcome(role, kind, manages)
    appointment.refresh_from_db()
    if expected == "ok":
        assert answer.status_code == 200, answer.json()
        assert appointment.note == "Moved to the meeting room."
        return
    assert appointment.note != "Moved to the meeting room."
    if expected == "refused":
        assert error_of(answer) == (401, FAILED, {"detail": [CANT_UPDATE_APPOINTMENT]})
        return
    unknown = as_me.post(
        "update/appointment/", {"appointment_id": made_up_id(Appointment), **change}
    )
    assert_same_answer(answer, unknown)
    assert error_of(answer) == (400, VALIDATION, {"appointment_id": [APPOINTMENT_NOT_FOUND]})


@pytest.mark.parametrize("kind", KINDS)
@by_role("role", ROLES)
def test_delete_someone_elses_appointment(as_me, role, kind, appointments):
    appointment = appointments[kind]

    answer = as_me.post("delete/appointment/", {"appointment_id": appointment.pk})

    manages = ALL if ROLE_TABLE[role].manages else NO
    expected = outcome(role, kind, manages)
    appointment.refresh_from_db()
    if expected == "ok":
        assert answer.status_code == 200, answer.json()
        assert appointment.deleted_at is not None
        return
    assert appointment.deleted_at is None
    if expected == "refused":
        assert error_of(answer) == (401, FAILED, {"detail": [CANT_DELETE_APPOINTMENT]})
        return
    unknown = as_me.post("delete/appointment/", {"appointment_id": made_up_id(Appointment)})
    assert_same_answer(answer, unknown)
    assert error_of(answer) == (400, VALIDATION, {"appointment_id": [APPOINTMENT_NOT_FOUND]})


@by_role(("role", "kind"), WRITER_CASES)
def test_the_host_changes_and_deletes_its_own_appointment(as_me, role, kind, me, leads):
    appointment = AppointmentFactory(lead=leads[kind], by=me)

    changed = as_me.post(
        "update/appointment/",
        {"appointment_id": appointment.pk, "appointment_status": "confirmed"},
    )
    deleted = as_me.post("delete/appointment/", {"appointment_id": appointment.pk})

    assert changed.status_code == 200, changed.json()
    assert deleted.status_code == 200, deleted.json()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.deleted_at is not None) == ("confirmed", True)


# --- an invisible lead is an unknown lead, wherever it is named -------------------------------


@by_role(("role", "kind"), INVISIBLE_CASES)
def test_moving_an_appointment_to_an_invisible_lead_is_moving_it_to_no_lead(
    as_me, role, kind, me, leads
):
    appointment = AppointmentFactory(lead=leads[OWN], by=me)

    def move_to(slug: str):
        return as_me.post("update/appointment/", {"appointment_id": appointment.pk, "slug": slug})

    answer = move_to(leads[kind].slug)

    assert_same_answer(answer, move_to(new_slug()))
    assert error_of(answer) == (400, VALIDATION, {"slug": [SLUG_INVALID]})
    appointment.refresh_from_db()
    assert appointment.lead == leads[OWN]


@by_role(("role", "kind"), INVISIBLE_CASES)
def test_filtering_appointments_by_an_invisible_lead_finds_nothing(
    as_me, role, kind, leads, appointments
):
    answer = as_me.get("appointments/list/", {"slug": leads[kind].slug})

    assert_same_answer(answer, as_me.get("appointments/list/", {"slug": new_slug()}))
    assert slugs(answer) == set()
    assert slugs(as_me.get("appointments/list/", {"slug": leads[OWN].slug})) == {leads[OWN].slug}


# A deleted lead the user may not see must not reveal that it exists (and is deleted) either:
# "Requested lead already has a deleted status." is only for leads the user sees.
PAYLOADS = {
    "view/lead/": dict,
    "update/lead/": lambda: {
        "first_name": "Some",
        "last_name": "One",
        "email": "some.one@example.com",
        "phone": "5551234567",
    },
    "delete/lead/": dict,
    "create/leadnote/": lambda: {"note": "Sent the brochure."},
    "create/appointment/": slot,
}


@by_role(("role", "kind"), INVISIBLE_CASES)
@pytest.mark.parametrize("path", list(PAYLOADS))
def test_a_deleted_invisible_lead_is_unknown_too(
    as_me, role, kind, leads, notes, appointments, path
):
    lead = leads[kind]
    lead_delete(actor=Actor(user=None), lead=lead)
    data = PAYLOADS[path]()

    def send(slug: str):
        if path == "view/lead/":
            return as_me.get(path, {"slug": slug})
        return as_me.post(path, {"slug": slug, **data})

    answer = send(lead.slug)

    assert_same_answer(answer, send(new_slug()))
    lead.refresh_from_db()
    assert lead.status_id == DELETED_STATUS
    assert list(lead.notes.all()) == [notes[kind]]
    assert list(lead.appointments.all()) == [appointments[kind]]
