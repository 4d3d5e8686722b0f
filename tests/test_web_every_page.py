"""Every page of the web app, found by walking the URL resolver, so a route added later is
covered without anyone remembering to list it here (SPEC §3 and §8).

For each web route (the admin, the REST API under ``api/``, its schema and docs left out):
- signed out, it sends the user to the sign-in page (sign-in itself and the secret calendar
  feed aside);
- every role opens it (GET) with real parameters and gets the page, never a 500 and never a
  template leftover (``{{``, ``{%``, ``{#``...) on it; with ``HX-Request`` it answers a fragment
  (no ``<html``) or, for the few pages listed in FULL_PAGE_FOR_HTMX, the whole page;
- a lead, note, appointment or import the user may not see answers 404 to every method the
  route takes, with and without a body, and so does a soft-deleted lead for a manager.

A route whose URL parameter this file does not know fails ``test_every_parameter_is_known``
(and each test of that route) with a message saying where to teach it: add the parameter to
PARAMETERS below.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import redirect_to_login
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from appointments.models import Appointment
from appointments.services import calendar_feed_for
from crm.domain import Actor
from crm.roles import Role
from leads import access, imports
from leads.models import LeadFile, LeadImport, LeadNote, Task
from leads.services import (
    field_create,
    lead_delete,
    lead_file_attach,
    lead_followup_set,
    lead_update,
    task_create,
)
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LEFTOVERS = ("{#", "#}", "{%", "%}", "{{", "}}")
LOGIN_PATH = "/accounts/login/"

# --- the routes ---------------------------------------------------------------------------

# Not the web app: the admin, the REST API (its own tests), the OpenAPI schema and its docs.
EXCLUDED_NAMESPACES = {"admin", "api"}
EXCLUDED_NAMES = {"schema", "api-docs"}
EXCLUDED_PREFIXES = ("admin/", "api/", "pubapi/")  # partner APIs: tests/test_rpc_*.py


@dataclass(frozen=True)
class Route:
    name: str  # "leads:detail"
    pattern: str  # "leads/<str:slug>/"
    params: tuple[str, ...]
    methods: frozenset[str]  # of GET and POST, those the view takes

    def __str__(self) -> str:
        return self.name


def _methods(callback: Callable) -> frozenset[str]:
    """GET and/or POST, as the view's ``require_*`` decorator (or its class) says; both when
    it says nothing (a view without a method decorator must then answer GET)."""
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        names = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
        return frozenset(names & {"GET", "POST"})
    fn: Callable | None = callback
    while fn is not None:
        try:
            nonlocals = inspect.getclosurevars(fn).nonlocals
        except TypeError:
            nonlocals = {}
        if "request_method_list" in nonlocals:
            return frozenset(set(nonlocals["request_method_list"]) & {"GET", "POST"})
        fn = getattr(fn, "__wrapped__", None)
    return frozenset({"GET", "POST"})


def _walk(resolver: URLResolver, prefix: str, namespaces: tuple[str, ...], params: tuple):
    for entry in resolver.url_patterns:
        here = prefix + str(entry.pattern)
        names = (*params, *entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry, here, inner, names)
        elif isinstance(entry, URLPattern):
            yield namespaces, entry, here, names


def web_routes() -> list[Route]:
    routes = []
    for namespaces, entry, pattern, params in _walk(get_resolver(), "", (), ()):
        if namespaces and namespaces[0] in EXCLUDED_NAMESPACES:
            continue
        if pattern.lstrip("^").startswith(EXCLUDED_PREFIXES) or entry.name in EXCLUDED_NAMES:
            continue
        assert entry.name, f"The web route {pattern!r} has no name; give it one in its urls.py."
        name = ":".join((*namespaces, entry.name))
        routes.append(Route(name, pattern, tuple(params), _methods(entry.callback)))
    return routes


ROUTES = web_routes()
GET_ROUTES = [r for r in ROUTES if "GET" in r.methods]

# --- what each URL parameter names --------------------------------------------------------

# (parameter name, the route's path prefix or "" for any) -> the kind of object it names.
# "lead", "note", "appointment", "import" are objects a user may or may not see; "feed" is the
# secret calendar token (the credential itself, no session).
PARAMETERS = {
    ("slug", ""): "lead",
    ("note_id", ""): "note",
    ("file_id", ""): "file",
    ("pk", "appointments/"): "appointment",
    ("pk", "import/"): "import",
    ("pk", "tasks/"): "task",
    ("token", "calendar/"): "feed",
    # "Forgot password?"'s link: the user's id and a reset token (of the world's lead's owner).
    ("uidb64", "accounts/password/reset/"): "reset-user",
    ("token", "accounts/password/reset/"): "reset-token",
}
# Kinds whose object belongs to a lead: a deleted lead hides them too.
ON_A_LEAD = {"lead", "note", "appointment", "file", "task"}
# Kinds a user may not see when someone else's (404, as if they did not exist).
PRIVATE = {"lead", "note", "appointment", "import", "file", "task"}


def kind_of(route: Route, param: str) -> str | None:
    for (name, prefix), kind in PARAMETERS.items():
        if name == param and route.pattern.startswith(prefix):
            return kind
    return None


def kinds(route: Route) -> dict[str, str]:
    """The route's parameters and their kinds; fails the test for a parameter not known."""
    unknown = [p for p in route.params if kind_of(route, p) is None]
    if unknown:
        pytest.fail(
            f"The route {route.name} ({route.pattern}) has URL parameter(s) {unknown} that "
            "tests/test_web_every_page.py does not know how to fill in. Teach it: add the "
            "parameter to PARAMETERS (and its object to World and world_for).",
            pytrace=False,
        )
    return {p: kind_of(route, p) for p in route.params}  # type: ignore[misc]


# --- data ---------------------------------------------------------------------------------


@dataclass
class World:
    """One object of every kind a URL names, and a second lead (for the merge page)."""

    lead: object
    other_lead: object
    note: LeadNote
    appointment: Appointment
    imp: LeadImport
    feed: str
    file: LeadFile
    task: Task

    def value(self, kind: str) -> object:
        return {
            "lead": self.lead.slug,
            "note": self.note.pk,
            "appointment": self.appointment.pk,
            "import": self.imp.pk,
            "feed": self.feed,
            "file": self.file.pk,
            "task": self.task.pk,
            "reset-user": urlsafe_base64_encode(force_bytes(self.lead.owner.pk)),
            "reset-token": default_token_generator.make_token(self.lead.owner),
        }[kind]


def soon():
    return timezone.now() + timedelta(hours=2)


CSV = b"First Name,Last Name,Email,Phone\nAnn,Lee,ann@example.com,5551234567\n"


def world_for(owner, *, by, custom_field=None) -> World:
    """A lead owned by ``owner`` (created by ``by``, who writes its note and hosts its
    appointment), another lead, an import of ``owner``'s and ``owner``'s calendar feed."""
    custom = {custom_field.system_name: "Blue"} if custom_field else None
    lead = LeadFactory(
        by=by, owner=owner, first_name="Ann", last_name="Lee", company="Acme", custom=custom
    )
    other = LeadFactory(by=by, owner=owner, first_name="Annie", last_name="Leigh")
    note = NoteFactory(lead=lead, by=by, text="Called; asked for a quote.")
    appointment = AppointmentFactory(lead=lead, by=by, note="Demo")
    upload = SimpleUploadedFile("leads.csv", CSV, content_type="text/csv")
    imp = imports.import_create(actor=Actor(user=owner), upload=upload)
    attached = lead_file_attach(actor=Actor(user=by), lead=lead, name="quote.txt", content=b"12")
    feed = calendar_feed_for(user=owner).token
    task = task_create(actor=Actor(user=by), title="Send the quote", due=soon(), lead=lead,
                       assignee=owner)  # fmt: skip
    return World(lead, other, note, appointment, imp, feed, attached, task)


def url_of(route: Route, world: World) -> str:
    args = {param: world.value(kind) for param, kind in kinds(route).items()}
    return reverse(route.name, kwargs=args)


def plausible_post(world: World, users) -> dict[str, str]:
    """Form data any of the web forms would accept (each takes the keys it knows)."""
    day = timezone.localdate() + timedelta(days=3)
    start = timezone.make_aware(datetime.combine(day, time(10)))
    end = start + timedelta(hours=1)
    when = {"start": f"{start:%Y-%m-%dT%H:%M}", "end": f"{end:%Y-%m-%dT%H:%M}"}
    appointment = world.appointment.pk
    return {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann.lee@example.com",
        "phone": "5551234567",
        "status": "contact",
        "source": "website",
        "owner": str(users["jr_salesperson"].pk),
        "assignee": str(users["jr_salesperson"].pk),
        "note": "Called back.",
        **{f"book-{k}": v for k, v in when.items()},
        "book-note": "Demo",
        "book-status": "pending",
        **{f"move-{appointment}-{k}": v for k, v in when.items()},
        **{f"new-{k}": v for k, v in when.items()},
        "new-lead": world.lead.slug,
        "back": "agenda",
        "day": f"{day:%Y-%m-%d}",
        "slug": world.lead.slug,
        "a": world.lead.slug,
        "b": world.other_lead.slug,
        "col_0": "first_name",
        "col_1": "last_name",
        "col_2": "email",
        "col_3": "phone",
        "action": "status",
        "leads": world.lead.slug,
        "query": "",
    }


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html_of(response) -> str | None:
    """The body of an HTML answer (None for a CSV, .ics or other file)."""
    if not response.get("Content-Type", "").startswith("text/html"):
        return None
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def leftovers_in(html: str) -> list[str]:
    found = []
    for token in LEFTOVERS:
        at = html.find(token)
        if at >= 0:
            found.append(f"{token!r} in …{html[max(0, at - 80) : at + 80]!r}…")
    return found


# --- the list itself ----------------------------------------------------------------------

# Pages the web app must have; guards the walk itself (a broken walk would cover nothing).
KNOWN = {
    "dashboard",
    "login",
    "logout",
    "password_change",
    "leads:list",
    "leads:detail",
    "leads:edit",
    "leads:create",
    "leads:merge",
    "leads:pipeline",
    "leads:import",
    "leads:import-review",
    "appointments:agenda",
    "appointments:week",
    "appointments:feed",
    "appointments:lead",
    "appointments:feed-ics",
}


def test_the_walk_finds_the_web_app_and_nothing_else():
    names = {r.name for r in ROUTES}
    assert names >= KNOWN, f"not found by the walk: {sorted(KNOWN - names)}"
    assert not any(r.pattern.startswith(EXCLUDED_PREFIXES) for r in ROUTES)
    assert not names & {"schema", "api-docs"}
    assert all(r.methods for r in ROUTES), [r.name for r in ROUTES if not r.methods]
    assert names >= set(QUERIES), sorted(set(QUERIES) - names)
    # The method discovery reads the views' decorators.
    by_name = {r.name: r for r in ROUTES}
    assert by_name["leads:detail"].methods == {"GET"}
    assert by_name["leads:note-add"].methods == {"POST"}
    assert by_name["leads:create"].methods == {"GET", "POST"}
    assert by_name["logout"].methods == {"POST"}


def test_every_parameter_is_known():
    unknown = [
        f"{r.name} ({r.pattern}): {p}" for r in ROUTES for p in r.params if kind_of(r, p) is None
    ]
    assert not unknown, (
        "URL parameters tests/test_web_every_page.py cannot fill in; add them to PARAMETERS "
        "(and their objects to World and world_for): " + "; ".join(unknown)
    )


# --- signed out ---------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_signed_out_every_route_sends_to_sign_in(route, users):
    manager = users["sales_manager"]
    url = url_of(route, world_for(manager, by=manager))
    client = Client()
    for method in sorted(route.methods):
        # A form posts from a page: signing in must lead back to that page, never to the
        # endpoint the form posted to (which answers only POST).
        referer = {"HTTP_REFERER": "http://testserver/leads/?page=2"} if method == "POST" else {}
        response = getattr(client, method.lower())(url, **referer)
        if route.name == "login":
            assert response.status_code == 200  # the form (again, with errors, for a POST)
            continue
        if route.name in PASSWORD_RESET:  # "Forgot password?" is for people signed out
            assert response.status_code in (200, 302), f"{method} {url}"
            assert not response.get("Location", "").startswith(LOGIN_PATH), f"{method} {url}"
            continue
        if route.name == "appointments:feed-ics":
            # The secret address is the credential: a real token answers without a session...
            assert response.status_code == 200
            assert response["Content-Type"].startswith("text/calendar")
            # ...and an unknown one is 404, never the sign-in page.
            unknown = reverse(route.name, kwargs={"token": "not-a-token"})
            assert getattr(client, method.lower())(unknown).status_code == 404
            continue
        assert response.status_code == 302, f"{method} {url}: {response.status_code}"
        assert response["Location"].startswith(LOGIN_PATH), f"{method} {url}"
        if route.name != "logout":  # signing out sends to the sign-in page without next=
            expected = "/leads/?page=2" if method == "POST" else url
            assert response["Location"] == redirect_to_login(expected).url, f"{method} {url}"


# --- every page, every role ---------------------------------------------------------------

# What a signed-in user gets instead of the page (SPEC §3 allows every role on every page
# with the user's own data; the sign-in page sends a signed-in user to the dashboard).
# The link of a reset email stores its token and goes on to the form (Django's view).
SIGNED_IN_ANSWERS = {"login": 302, "password_reset_confirm": 302}
PASSWORD_RESET = {
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def answer_for(route, user, world: World) -> int:
    """What ``user`` gets at ``route``: a form to change an object the user may see but not
    change is refused."""
    if route.name == "appointments:move":
        may = access.can_change_appointment(Actor(user=user), world.appointment)
        return 200 if may else 403
    if route.name == "leads:pipeline-move-menu":
        return 200 if access.can_edit(Actor(user=user), world.lead) else 403
    if route.name == "leads:personal-data":
        return 200 if access.can_handle_personal_data(Actor(user=user)) else 403
    if route.name == "leads:merge":  # not offered to roles that delete no lead: sent back
        return 200 if access.can_bulk_delete(Actor(user=user)) else 302
    return SIGNED_IN_ANSWERS.get(route.name, 200)


# Pages that answer an HTMX request with the whole page, deliberately: they have no fragment
# (nothing on them is swapped in place; Django's own account views). Any other HTML page must
# answer HTMX with a fragment.
FULL_PAGE_FOR_HTMX = {"dashboard", "login", "password_change", "settings", *PASSWORD_RESET}
# More addresses of a page worth opening: its query strings, filled from the World.
QUERIES: dict[str, list[Callable[[World], str]]] = {
    "leads:list": [
        lambda w: "?search=Lee&status=prospect&ordering=-last_name",
        lambda w: "?list_type=all&created_after=2000-01-01&created_before=2999-01-01",
        lambda w: "?created_after=not-a-date",  # an invalid filter shows its error
    ],
    "leads:merge": [
        lambda w: f"?a={w.lead.slug}",
        lambda w: f"?a={w.lead.slug}&q=Lei",
        lambda w: f"?a={w.lead.slug}&b={w.other_lead.slug}",
    ],
    "leads:pipeline": [lambda w: "?list_type=mine"],
    "leads:edit": [lambda w: "?inline=1"],
    "appointments:agenda": [lambda w: "?from=2000-01-01", lambda w: "?from=garbage"],
    "appointments:week": [lambda w: "?week=2030-02-28"],
}


@pytest.fixture
def colour(db):
    return field_create(label="Favourite colour")


# --- queries do not grow with rows -------------------------------------------------------

GROWTH = 8


def grow(world: World, user) -> None:
    """``GROWTH`` more of everything a page lists: leads the user owns and is assigned (with
    tags, a follow-up due, notes, appointments and their timeline events), and more notes and
    appointments on the world's lead."""
    due = timezone.now() - timedelta(hours=1)
    for i in range(GROWTH):
        lead = LeadFactory(by=user, owner=user, assignee=user)
        lead_followup_set(actor=Actor(user=user), lead=lead, when=due)
        task_create(actor=Actor(user=user), title=f"task {i}", due=due, lead=world.lead)
        lead_update(actor=Actor(user=user), lead=lead, data={}, tags=[f"tag {i}", "shared"])
        NoteFactory(lead=lead, by=user)
        NoteFactory(lead=world.lead, by=user)
        AppointmentFactory(lead=lead, by=user)
        AppointmentFactory(lead=world.lead, by=user)


def count_queries(client: Client, url: str, headers: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers or {})
        html_of(response)  # a streamed answer runs its queries while it is read
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    return len(captured)


@pytest.mark.parametrize(
    "route", [r for r in GET_ROUTES if r.name not in SIGNED_IN_ANSWERS], ids=str
)
def test_no_page_runs_more_queries_for_more_rows(route, users, colour):
    """Each page and its HTMX fragment run as many queries with eight times the rows: no
    N+1 anywhere. (The exact counts, query by query, are pinned in each page's own tests.)"""
    manager = users["sales_manager"]
    world = world_for(manager, by=manager, custom_field=colour)
    # The personal data export is the administrators' (and company managers').
    viewer = users["administrator"] if route.name == "leads:personal-data" else manager
    client = signed_in(viewer)
    base = url_of(route, world)
    urls = [base] + [base + query(world) for query in QUERIES.get(route.name, [])]
    for url in urls:
        count_queries(client, url)  # first visits may set things up (e.g. a calendar feed)

    def counts() -> dict[str, int]:
        return {
            f"{'HTMX ' if htmx else ''}GET {url}": count_queries(
                client, url, HTMX if htmx else None
            )
            for url in urls
            for htmx in (False, True)
        }

    before = counts()
    grow(world, manager)
    after = counts()
    assert before == after, {k: (before[k], n) for k, n in after.items() if before[k] != n}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("route", GET_ROUTES, ids=str)
def test_every_page_for_every_role(route, role, users, colour):
    user = users[role]
    world = world_for(user, by=users["sales_manager"], custom_field=colour)
    client = signed_in(user)
    base = url_of(route, world)
    for url in [base] + [base + query(world) for query in QUERIES.get(route.name, [])]:
        response = client.get(url)
        expected = answer_for(route, user, world)
        assert response.status_code == expected, f"GET {url} as {role}: {response.status_code}"
        html = html_of(response)
        if expected != 200:
            continue
        if html is not None:
            assert "<html" in html, f"GET {url} without HTMX is not a whole page"
            assert not leftovers_in(html), f"GET {url} as {role}: {leftovers_in(html)}"

        fragment = client.get(url, headers=HTMX)
        assert fragment.status_code < 500
        assert fragment.status_code == expected, f"HTMX GET {url}: {fragment.status_code}"
        html = html_of(fragment)
        if html is None:
            continue
        if same_but_tokens(html) != same_but_tokens(html_of(response)):  # not one for the other
            vary = {h.strip().lower() for h in fragment.get("Vary", "").split(",")}
            assert {"hx-request", "hx-boosted", "hx-history-restore-request"} <= vary, (
                f"HTMX GET {url} answers another body without Vary on the HTMX headers: "
                "decide with crm.web.is_fragment()"
            )
            assert fragment["Vary"] == response["Vary"]
        assert not leftovers_in(html), f"HTMX GET {url} as {role}: {leftovers_in(html)}"
        if route.name in FULL_PAGE_FOR_HTMX:
            assert "<html" in html
        else:
            assert "<html" not in html, (
                f"HTMX GET {url} answered the whole page: answer a fragment "
                "(render_page(..., partial=...)) or add the route to FULL_PAGE_FOR_HTMX."
            )


# What differs between two answers of the same page: CSRF tokens and CSP nonces.
TOKENS = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": "|nonce=")[^"]*')


def same_but_tokens(html: str) -> str:
    return TOKENS.sub(r"\1", html)


def test_the_leftover_check_sees_leftovers():
    assert leftovers_in("<p>Hello {{ user }}</p>")
    assert leftovers_in("<p>{# a comment\nover two lines #}</p>")
    assert leftovers_in("{% endif %}")
    assert not leftovers_in("<p>Hello {Ann} #1 50%</p>")


def test_the_import_result_page_for_every_role(users):
    """The import page once the file is imported (same URL, another state; it has no
    fragment, so HTMX gets the whole page)."""
    for n, role in enumerate(Role):
        user = users[role]
        # Not a duplicate (email, name + phone) of the last role's lead.
        csv = f"First Name,Last Name,Email,Phone\nAnn,Lee{n},{role}@example.com,555000000{n}\n"
        upload = SimpleUploadedFile("leads.csv", csv.encode(), content_type="text/csv")
        imp = imports.import_create(actor=Actor(user=user), upload=upload)
        imports.import_run(actor=Actor(user=user), imp=imp)
        client = signed_in(user)
        url = reverse("leads:import-review", args=[imp.pk])
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, f"{role}: {response.status_code}"
            html = response.content.decode()
            assert "leads.csv is imported" in html
            assert '<li data-count="created"><span class="big-number">1</span>' in html
            assert not leftovers_in(html), f"{role}: {leftovers_in(html)}"


# --- what one may not see -----------------------------------------------------------------

PRIVATE_ROUTES = [r for r in ROUTES if {kind_of(r, p) for p in r.params} & PRIVATE]
LEAD_ROUTES = [r for r in ROUTES if {kind_of(r, p) for p in r.params} & ON_A_LEAD]


def _answers(client: Client, route: Route, url: str, body: dict) -> list[tuple[str, int]]:
    """(what was sent, status) for GET and POST, plain and HTMX, POST empty and with data."""
    answers = []
    for headers, how in (({}, ""), (HTMX, "HTMX ")):
        answers.append((f"{how}GET", client.get(url, headers=headers).status_code))
        answers.append((f"{how}POST empty", client.post(url, {}, headers=headers).status_code))
        answers.append((f"{how}POST data", client.post(url, body, headers=headers).status_code))
    return answers


def _expected(route: Route, sent: str) -> int:
    """404 for every method the route takes; 405 (which tells nothing) for the others, since
    the method check runs before anything is looked up."""
    method = "GET" if sent.endswith("GET") else "POST"
    return 404 if method in route.methods else 405


@pytest.mark.parametrize("route", PRIVATE_ROUTES, ids=str)
def test_what_a_jr_salesperson_may_not_see_is_404(route, users):
    """A lead owned by another user and assigned to nobody (with its note and appointment),
    and another user's import, do not exist for a jr. salesperson."""
    seller = users["salesperson"]
    world = world_for(seller, by=seller)
    url = url_of(route, world)
    body = plausible_post(world, users)
    answers = _answers(signed_in(users["jr_salesperson"]), route, url, body)
    wrong = [(sent, got) for sent, got in answers if got != _expected(route, sent)]
    assert not wrong, f"{url}: {wrong}"
    # Nothing was changed through any of them.
    world.lead.refresh_from_db()
    assert (world.lead.status_id, world.lead.assignee_id) == ("prospect", None)
    assert list(LeadNote.objects.filter(lead=world.lead, deleted_at__isnull=True)) == [world.note]
    assert Appointment.objects.filter(lead=world.lead).count() == 1
    world.appointment.refresh_from_db()
    assert world.appointment.status == "pending"
    world.imp.refresh_from_db()
    assert world.imp.status == "pending"


@pytest.mark.parametrize("route", LEAD_ROUTES, ids=str)
def test_a_deleted_lead_is_404_even_for_a_manager(route, users):
    """A soft-deleted lead, its note and its appointment behave as unknown on every web page
    (an administrator restores the lead in the admin)."""
    manager = users["sales_manager"]
    world = world_for(manager, by=manager)
    lead_delete(actor=Actor(user=manager), lead=world.lead)
    start = world.appointment.start
    url = url_of(route, world)
    body = plausible_post(world, users)
    answers = _answers(signed_in(manager), route, url, body)
    wrong = [(sent, got) for sent, got in answers if got != _expected(route, sent)]
    assert not wrong, f"{url}: {wrong}"
    world.lead.refresh_from_db()
    assert world.lead.status_id == "deleted"
    assert list(LeadNote.objects.filter(lead=world.lead, deleted_at__isnull=True)) == [world.note]
    world.appointment.refresh_from_db()
    assert (world.appointment.status, world.appointment.start) == ("pending", start)


def test_a_lead_named_in_the_query_or_the_body_is_404_too(users):
    """The merge page and the pipeline's move name their leads outside the URL path."""
    seller = users["salesperson"]
    world = world_for(seller, by=seller)
    mine = LeadFactory(by=users["jr_salesperson"], first_name="Jo")
    client = signed_in(users["jr_salesperson"])
    merge = reverse("leads:merge")
    for query in (f"?a={world.lead.slug}", f"?a={mine.slug}&b={world.lead.slug}"):
        for headers in ({}, HTMX):
            assert client.get(merge + query, headers=headers).status_code == 404, query
    for a, b in ((world.lead.slug, mine.slug), (mine.slug, world.lead.slug)):
        assert client.post(merge, {"a": a, "b": b}).status_code == 404
    move = reverse("leads:pipeline-move")
    for headers in ({}, HTMX):
        body = {"slug": world.lead.slug, "status": "contact"}
        assert client.post(move, body, headers=headers).status_code == 404
    world.lead.refresh_from_db()
    assert world.lead.status_id == "prospect"
