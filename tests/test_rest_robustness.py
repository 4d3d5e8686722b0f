"""No request makes a 500.

Every REST endpoint (the twelve under ``/api/v1/leads/``, login, token refresh, logout and some
of the alias spellings) is fed wrong types, 100 KB strings, NUL characters, unknown fields,
malformed, empty and badly encoded bodies, absurd ids, impossible dates and broken query
strings. Each answer must be below 500, JSON in the documented envelope (``status_code`` equal
to the HTTP status; a 4xx names an ``error_type`` and at least one error), and a refused
request must leave leads, notes, appointments, timeline events, users and tokens untouched.

Not every field meets every value: a matrix of bad values is sampled (``covering``) so that
every field of every endpoint meets at least one of them, every endpoint meets every one, every
kind of field (``FIELD_KINDS``: text, email, phone, choice, slug, id, date, custom kinds, ...)
meets every one, every field meets every class of them (``WRONG_TYPE_CLASSES``, ...), and
every endpoint and every value go in every body format. The world the requests run against
(users, custom fields, a lead with a note and an appointment, an API key, a refresh token) is
built once for the module; each test's changes are rolled back after it.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from appointments.models import Appointment
from crm.models import User
from crm.tokens import issue_tokens
from leads.models import Event, Lead, LeadNote, Tag
from leads.services import field_create
from tests.conftest import build_once
from tests.factories import PASSWORD, AppointmentFactory, LeadFactory, NoteFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("module_world")]

# --- the endpoints ------------------------------------------------------------------------

CUSTOM_KINDS = ("text", "number", "date", "datetime", "boolean")
CUSTOM = tuple(f"custom:{kind}" for kind in CUSTOM_KINDS)
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "status",
    "source",
    "location",
    "message",
    "assignee",
    *CUSTOM,
)
APPOINTMENT_FIELDS = (
    "slug",
    "appointment_date",
    "appointment_to",
    "appointment_note",
    "appointment_status",
)
LIST_PARAMS = (
    "offset",
    "limit",
    "list_type",
    "campaign_slug",
    "first_name",
    "last_name",
    "email",
    "phone",
    "status",
    "owner",
    "source",
    "assignee",
    "search",
    "created_after",
    "created_before",
    "ordering",
)
APPOINTMENT_LIST_PARAMS = ("offset", "limit", "datesetting", "ondate", "status", "lead", "slug")


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    fields: tuple[str, ...]
    base: str  # which valid payload it takes (aliases share their endpoint's)
    tokens: bool = False  # login and refresh answer bare tokens on success

    def __str__(self) -> str:
        return self.name


def _leads(name: str, method: str, path: str, fields: tuple[str, ...]) -> Endpoint:
    return Endpoint(name, method, f"/api/v1/leads/{path}", fields, base=name)


ENDPOINTS = [
    _leads("overview", "GET", "overview/", ("appointment",)),
    _leads("list", "GET", "list/", LIST_PARAMS),
    _leads("appointments-list", "GET", "appointments/list/", APPOINTMENT_LIST_PARAMS),
    _leads("view-lead", "GET", "view/lead/", ("slug",)),
    _leads("create-appointment", "POST", "create/appointment/", APPOINTMENT_FIELDS),
    _leads(
        "update-appointment", "POST", "update/appointment/", ("appointment_id", *APPOINTMENT_FIELDS)
    ),
    _leads("delete-appointment", "POST", "delete/appointment/", ("appointment_id",)),
    _leads("create-lead", "POST", "create/lead/", LEAD_FIELDS),
    _leads("update-lead", "POST", "update/lead/", ("slug", *LEAD_FIELDS)),
    _leads("delete-lead", "POST", "delete/lead/", ("slug",)),
    _leads("create-leadnote", "POST", "create/leadnote/", ("slug", "note")),
    _leads("delete-leadnote", "POST", "delete/leadnote/", ("note_id",)),
    Endpoint("login", "POST", "/api/v1/user/login/", ("username", "password"), "login", True),
    Endpoint("refresh", "POST", "/api/v1/user/token/refresh/", ("refresh",), "refresh", True),
    Endpoint("logout", "POST", "/api/v1/user/logout/", ("refresh",), "refresh"),
    Endpoint("alias-view-lead", "GET", "/api/v1/view/lead/", ("slug",), "view-lead"),
    Endpoint("alias-create-lead", "POST", "/api/v1/create/lead/", LEAD_FIELDS, "create-lead"),
    Endpoint(
        "alias-v1-delete-leadnote",
        "POST",
        "/api/v1/v1/delete/leadnote/",
        ("note_id",),
        "delete-leadnote",
    ),
    Endpoint("alias-list", "GET", "/api/v1/list/", LIST_PARAMS, "list"),
]
GETS = [e for e in ENDPOINTS if e.method == "GET"]
POSTS = [e for e in ENDPOINTS if e.method == "POST"]
LISTS = [e for e in ENDPOINTS if e.base in ("list", "appointments-list")]


BODY_FORMATS = ("json", "multipart", "urlencoded")
JSON_AND_MULTIPART = ("json", "multipart")

# Every field by its kind: the values a test sends meet every kind of field at least once.
FIELD_KINDS = {
    **dict.fromkeys(
        ("first_name", "last_name", "location", "message", "note", "appointment_note", "search"),
        "text",
    ),
    **dict.fromkeys(("username", "password", "refresh"), "credential"),
    "email": "email",
    "phone": "phone",
    **dict.fromkeys(
        ("status", "source", "appointment_status", "list_type", "ordering", "datesetting"),
        "choice",
    ),
    "appointment": "choice",
    **dict.fromkeys(("assignee", "owner"), "user"),
    **dict.fromkeys(("slug", "campaign_slug"), "slug"),
    **dict.fromkeys(("appointment_id", "note_id", "lead"), "id"),
    **dict.fromkeys(("offset", "limit"), "number"),
    **dict.fromkeys(
        ("appointment_date", "appointment_to", "created_after", "created_before", "ondate"), "date"
    ),
    **{custom: custom for custom in CUSTOM},
}
assert {f for e in ENDPOINTS for f in e.fields} <= set(FIELD_KINDS)


def formats(endpoint: Endpoint, body_formats: Iterable[str] = BODY_FORMATS) -> tuple[str, ...]:
    """A query string for GET; the body formats for POST."""
    return ("query",) if endpoint.method == "GET" else tuple(body_formats)


def per_format(endpoints: list[Endpoint]) -> list[Any]:
    return [pytest.param(e, fmt, id=f"{e}.{fmt}") for e in endpoints for fmt in formats(e)]


def cover(cases: list[tuple], needs: Callable[..., Iterable[Hashable]]) -> list[tuple]:
    """Few of ``cases`` that between them meet every need that any of them meets.

    Greedy set cover, deterministic: each step takes the case meeting the most needs not met yet
    (the earlier case on a tie), and the chosen cases keep their order."""
    wanted = [frozenset(needs(*case)) for case in cases]
    unmet = set().union(*wanted)
    heap = [(-len(w), i) for i, w in enumerate(wanted)]
    heapq.heapify(heap)
    chosen = []
    while unmet:
        _gain, i = heapq.heappop(heap)
        fresh = len(wanted[i] & unmet)
        if fresh and heap and fresh < -heap[0][0]:
            heapq.heappush(heap, (-fresh, i))  # its gain went down since: weigh it again
        elif fresh:
            chosen.append(i)
            unmet -= wanted[i]
    return [cases[i] for i in sorted(chosen)]


def covering(
    endpoints: list[Endpoint],
    values: dict[str, Any],
    *,
    classes: dict[str, str] | None = None,
    body_formats: Iterable[str] = ("json",),
    only: Iterable[str] = (),
) -> list[Any]:
    """``(endpoint, field, value name, format)`` cases, far fewer than every combination, in
    which every field of every endpoint meets a value; every endpoint, every kind of field and
    every format meets every value; every field meets every class of value (``classes``, value
    name -> class); and every endpoint and every kind of field goes in every format. ``only``
    names the fields to use (all of them if empty)."""
    body_formats = tuple(body_formats)
    classes = classes or dict.fromkeys(values, "any")
    only = set(only)
    every = [
        (e, f, v, fmt)
        for e in endpoints
        for f in e.fields
        if not only or f in only
        for v in values
        for fmt in formats(e, body_formats)
    ]

    def needs(e: Endpoint, f: str, v: str, fmt: str) -> Iterable[Hashable]:
        kind = FIELD_KINDS[f]
        return [
            ("endpoint.field", e.name, f),
            ("endpoint.value", e.name, v),
            ("kind.value", kind, v),
            ("field.class", f, classes[v]),
            ("endpoint.format", e.name, fmt),
            ("kind.format", kind, fmt),
            ("value.format", v, fmt),
        ]

    return [
        pytest.param(*case, id=f"{case[0]}.{case[1]}.{case[2]}.{case[3]}")
        for case in cover(every, needs)
    ]


# --- the world every request runs against ---------------------------------------------------


def _when(days: int, hour: int) -> str:
    moment = timezone.localtime() + timedelta(days=days)
    return moment.replace(hour=hour, minute=0).strftime("%Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
def world(cast, django_db_blocker) -> SimpleNamespace:
    """Names and valid payloads only (no model instances): the tests share it as it is."""
    return build_once(django_db_blocker, lambda: build_world(cast))


def build_world(users: dict[str, User]) -> SimpleNamespace:
    manager = users["sales_manager"]
    custom = {
        "text": field_create(label="Favourite colour", data_type="text", data_length=50),
        "number": field_create(label="Budget", data_type="number", data_length=20),
        "date": field_create(label="Move in", data_type="date"),
        "datetime": field_create(label="Call back at", data_type="datetime"),
        "boolean": field_create(label="Newsletter", data_type="boolean"),
    }
    lead = LeadFactory(by=manager, owner=manager)
    note = NoteFactory(lead=lead, by=manager)
    start = timezone.now() + timedelta(days=10)
    appointment = AppointmentFactory(
        lead=lead, by=manager, start=start, end=start + timedelta(hours=1)
    )
    names = {f"custom:{kind}": field.system_name for kind, field in custom.items()}
    lead_data = {
        "first_name": "Pat",
        "last_name": "Buyer",
        "email": "pat.buyer@example.com",
        "phone": "5551234567",
        "status": "potential",
        "source": "website",
        "location": "Springfield",
        "message": "Wants a quote.",
        "assignee": users["salesperson"].username,
        names["custom:text"]: "Blue",
        names["custom:number"]: "1200",
        names["custom:date"]: "2030-01-15",
        names["custom:datetime"]: "2030-01-15 10:00",
        names["custom:boolean"]: "yes",
    }
    bases = {
        "overview": {"appointment": "week"},
        "list": {"list_type": "all"},
        "appointments-list": {},
        "view-lead": {"slug": lead.slug},
        "create-appointment": {
            "slug": lead.slug,
            "appointment_date": _when(30, 10),
            "appointment_to": _when(30, 11),
            "appointment_note": "Site visit.",
            "appointment_status": "confirmed",
        },
        "update-appointment": {
            "appointment_id": appointment.pk,
            "slug": lead.slug,
            "appointment_date": _when(40, 10),
            "appointment_to": _when(40, 11),
            "appointment_note": "Moved.",
            "appointment_status": "rescheduled",
        },
        "delete-appointment": {"appointment_id": appointment.pk},
        "create-lead": lead_data,
        "update-lead": {"slug": lead.slug, **lead_data},
        "delete-lead": {"slug": lead.slug},
        "create-leadnote": {"slug": lead.slug, "note": "Called back."},
        "delete-leadnote": {"note_id": note.pk},
        "login": {"username": manager.username, "password": PASSWORD},
        "refresh": {"refresh": issue_tokens(manager)["refresh"]},
    }
    return SimpleNamespace(names=names, bases=bases)


def payload(world, endpoint: Endpoint, **changes: Any) -> dict[str, Any]:
    """The endpoint's valid payload with ``changes`` (keys may be ``custom:<kind>``)."""
    data = dict(world.bases[endpoint.base])
    for field, value in changes.items():
        data[world.names.get(field, field)] = value
    return data


def with_field(world, endpoint: Endpoint, field: str, value: Any) -> dict[str, Any]:
    return payload(world, endpoint, **{field: value})


# --- sending and checking -------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
BOUNDARY = "RobustnessBoundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def _stringly(data: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def send(api, endpoint: Endpoint, data: dict[str, Any], fmt: str = "json"):
    """``data`` as a query string (GET), or as a JSON, multipart or urlencoded body (POST)."""
    if endpoint.method == "GET":
        # Text a URL cannot carry (lone surrogates) goes as the invalid UTF-8 a client would send.
        query = urlencode(_stringly(data), doseq=True, errors="surrogatepass")
        return get_raw(api, endpoint.path, query)
    if fmt == "json":
        return api.post_raw(endpoint.path, json.dumps(data), JSON)
    if fmt == "urlencoded":
        return api.post_raw(endpoint.path, urlencode(_stringly(data)), FORM)
    return api.post(endpoint.path, _stringly(data), fmt="multipart")


def get_raw(api, path: str, query: str):
    return api.client.generic("GET", f"{path}?{query}", headers=api.headers)


def snapshot() -> dict[str, Any]:
    """Everything a request could write (an API key's last-used time aside)."""
    return {
        "leads": list(Lead.objects.order_by("pk").values_list()),
        "notes": list(LeadNote.objects.order_by("pk").values_list()),
        "appointments": list(Appointment.objects.order_by("pk").values_list()),
        "events": list(Event.objects.order_by("pk").values_list("pk", flat=True)),
        "tags": list(Tag.objects.order_by("pk").values_list()),
        "users": list(
            User.objects.order_by("pk").values_list("pk", "last_login", "password", "is_active")
        ),
        "outstanding tokens": OutstandingToken.objects.count(),
        "blacklisted tokens": BlacklistedToken.objects.count(),
    }


def check(response, before: dict, endpoint: Endpoint, *, must_fail: bool = False) -> None:
    """Below 500, JSON in the envelope, and nothing written unless the request succeeded."""
    status = response.status_code
    assert status < 500, f"{endpoint} answered {status}: {response.content[:300]!r}"
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    if endpoint.tokens and status == 200:
        assert body.get("access") and isinstance(body["access"], str), body
    else:
        assert isinstance(body, dict), body
        assert body["status_code"] == status, body
        assert isinstance(body["errors"], dict), body
        assert "data" in body, body
        if status >= 400:
            assert isinstance(body.get("error_type"), str) and body["error_type"], body
            assert body["errors"], body
            for messages in body["errors"].values():
                assert messages and all(isinstance(m, str) and m for m in messages), body
            assert body["data"] == {}, body
        else:
            assert body["errors"] == {}, body
    if must_fail:
        assert 400 <= status < 500, f"{endpoint} accepted it: {status} {body}"
    if status >= 400 or endpoint.method == "GET":
        assert snapshot() == before, f"{endpoint} wrote data but answered {status}: {body}"


# --- the sample keeps its promises ---------------------------------------------------------


def test_the_sample_meets_every_pair_it_promises():
    values = {"a": 1, "b": 2, "c": 3, "d": 4}
    classes = {"a": "one", "b": "one", "c": "two", "d": "two"}
    rows = [
        {"endpoint": e.name, "field": f, "kind": FIELD_KINDS[f], "value": v, "format": fmt}
        for e, f, v, fmt in (
            p.values for p in covering(POSTS, values, classes=classes, body_formats=BODY_FORMATS)
        )
    ]

    def met(*keys: str) -> set[tuple]:
        return {tuple(row[k] for k in keys) for row in rows}

    fields = {(e.name, f) for e in POSTS for f in e.fields}
    kinds = {FIELD_KINDS[f] for _e, f in fields}
    assert met("endpoint", "field") == fields
    assert met("endpoint", "value") == {(e.name, v) for e in POSTS for v in values}
    assert met("endpoint", "format") == {(e.name, f) for e in POSTS for f in BODY_FORMATS}
    assert met("kind", "value") == {(k, v) for k in kinds for v in values}
    assert met("kind", "format") == {(k, f) for k in kinds for f in BODY_FORMATS}
    assert met("value", "format") == {(v, f) for v in values for f in BODY_FORMATS}
    field_classes = {(f, classes[v]) for f, v in met("field", "value")}
    assert field_classes == {(f, c) for _e, f in fields for c in ("one", "two")}
    assert len(rows) < len(fields) * len(values) * len(BODY_FORMATS) / 4


# --- the valid payloads work (so every mutation below changes one thing only) -----------------


@pytest.mark.parametrize("endpoint", GETS, ids=str)
def test_the_valid_query_is_answered(api, world, endpoint):
    before = snapshot()
    response = send(api, endpoint, payload(world, endpoint))
    check(response, before, endpoint)
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("fmt", ["json", "multipart", "urlencoded"])
@pytest.mark.parametrize("endpoint", POSTS, ids=str)
def test_the_valid_body_is_accepted(api, world, endpoint, fmt):
    before = snapshot()
    response = send(api, endpoint, payload(world, endpoint), fmt)
    check(response, before, endpoint)
    assert response.status_code in (200, 201), response.json()


# --- wrong JSON types ---------------------------------------------------------------------

WRONG_TYPES = {
    "int": 123,
    "float": 1.5,
    "true": True,
    "false": False,
    "null": None,
    "list": ["a"],
    "object": {"x": 1},
    "empty-list": [],
    "empty-object": {},
    "huge-int": 10**30,
    "negative-int": -1,
}
# Refused everywhere: a text or id parameter is never a boolean, a null, a list or an object.
# (A custom field's null clears it and a custom boolean takes true, so those may pass.)
NEVER_SCALAR = {"list", "object", "empty-list", "empty-object"}
NEVER_TEXT = {"true", "false", "null", *NEVER_SCALAR}
WRONG_TYPE_CLASSES = {
    **dict.fromkeys(("int", "float", "huge-int", "negative-int"), "number"),
    **dict.fromkeys(("true", "false"), "boolean"),
    "null": "null",
    **dict.fromkeys(NEVER_SCALAR, "container"),
}


@pytest.mark.parametrize(
    ("endpoint", "field", "kind", "fmt"), covering(POSTS, WRONG_TYPES, classes=WRONG_TYPE_CLASSES)
)
def test_a_wrong_json_type_in_one_field(api, world, endpoint, field, kind, fmt):
    before = snapshot()
    response = send(api, endpoint, with_field(world, endpoint, field, WRONG_TYPES[kind]), fmt)
    refused = NEVER_SCALAR if field.startswith("custom:") else NEVER_TEXT
    check(response, before, endpoint, must_fail=kind in refused)


@pytest.mark.parametrize("kind", WRONG_TYPES)
@pytest.mark.parametrize("endpoint", POSTS, ids=str)
def test_a_wrong_json_type_in_every_field(api, world, endpoint, kind):
    before = snapshot()
    data = payload(world, endpoint, **dict.fromkeys(endpoint.fields, WRONG_TYPES[kind]))
    check(send(api, endpoint, data), before, endpoint, must_fail=kind in NEVER_TEXT)


@pytest.mark.parametrize("endpoint", POSTS, ids=str)
def test_mixed_wrong_types(api, world, endpoint):
    before = snapshot()
    odd = [["a"], {"x": 1}, None, True, 1.5]
    data = payload(world, endpoint, **{f: odd[i % len(odd)] for i, f in enumerate(endpoint.fields)})
    check(send(api, endpoint, data), before, endpoint, must_fail=True)


EXAMPLE_FIELDS = ("slug", "first_name", "note", "note_id", "appointment_id")


def _example_cases() -> list[Any]:
    """Every endpoint, with one of its own fields if it has one; every field somewhere."""
    every = [(e, f) for e in POSTS for f in EXAMPLE_FIELDS]
    own = {e.name for e in POSTS if set(e.fields) & set(EXAMPLE_FIELDS)}

    def needs(e: Endpoint, f: str) -> list[Hashable]:
        met = [("endpoint", e.name), ("field", f)]
        return met + [("own field", e.name)] if e.name in own and f in e.fields else met

    return [pytest.param(e, f, id=f"{e}.{f}") for e, f in cover(every, needs)]


@pytest.mark.parametrize(("endpoint", "field"), _example_cases())
def test_the_example_of_wrong_types(api, world, endpoint, field):
    """``{"slug": ["a"], "first_name": {"x": 1}}`` and the like, on every endpoint."""
    before = snapshot()
    data = {"slug": ["a"], "first_name": {"x": 1}, field: [{"nested": [None]}]}
    check(send(api, endpoint, data), before, endpoint, must_fail=True)


# --- 100 KB strings -------------------------------------------------------------------------

HUGE = {"letters": "x" * 100_000, "digits": "9" * 100_000, "accents": "é" * 50_000}


@pytest.mark.parametrize(
    ("endpoint", "field", "huge", "fmt"),
    covering(POSTS, HUGE, body_formats=JSON_AND_MULTIPART),
)
def test_a_100kb_string_in_one_field_is_refused(api, world, endpoint, field, huge, fmt):
    before = snapshot()
    response = send(api, endpoint, with_field(world, endpoint, field, HUGE[huge]), fmt)
    check(response, before, endpoint, must_fail=True)


@pytest.mark.parametrize(("endpoint", "field", "huge", "fmt"), covering(GETS, HUGE))
def test_a_100kb_string_in_one_query_parameter(api, world, endpoint, field, huge, fmt):
    before = snapshot()
    check(send(api, endpoint, with_field(world, endpoint, field, HUGE[huge])), before, endpoint)


@pytest.mark.parametrize(("endpoint", "fmt"), per_format(ENDPOINTS))
def test_a_100kb_string_in_every_field(api, world, endpoint, fmt):
    before = snapshot()
    data = payload(world, endpoint, **dict.fromkeys(endpoint.fields, HUGE["letters"]))
    check(send(api, endpoint, data, fmt), before, endpoint, must_fail=endpoint.method == "POST")


# --- unknown extra fields -------------------------------------------------------------------

EXTRAS = {
    "unknown_field": "surprise",
    "id": 999_999,
    "created_at": "2000-01-01 00:00",
    "updated_at": "2000-01-01 00:00",
    "deleted_at": "2000-01-01 00:00",
    "owner": "no-such-user",
    "host": "no-such-user",
    "custom_fields": {"anything": 1},
    "Favourite_colour_0000000000000": "unknown system name",
    "__proto__": {"admin": True},
    "": "empty name",
}


@pytest.mark.parametrize(("endpoint", "fmt"), per_format(ENDPOINTS))
def test_unknown_extra_fields(api, world, endpoint, fmt):
    before = snapshot()
    data = {**EXTRAS, **payload(world, endpoint)}
    response = send(api, endpoint, data, fmt)
    check(response, before, endpoint)
    if endpoint.base == "create-lead" and response.status_code == 201:
        created = response.json()["data"]
        assert created["id"] != 999_999
        assert not created["created_at"].startswith("2000")
        assert created["owner"] != "no-such-user"


# --- malformed, empty and badly encoded bodies ----------------------------------------------


def _multipart(*parts: tuple[str, bytes], boundary: str = BOUNDARY, close: bool = True) -> bytes:
    body = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), name.encode(), value)
        for name, value in parts
    )
    return body + (b"--%s--\r\n" % boundary.encode() if close else b"")


ALL_FIELDS = sorted({f for e in POSTS for f in e.fields if not f.startswith("custom:")})
RAW_BODIES = {
    "json-malformed": (b'{"slug": ', JSON),
    "json-trailing-garbage": (b'{"slug": "a"} and more', JSON),
    "json-single-quotes": (b"{'slug': 'a'}", JSON),
    "json-list": (b'[{"slug": "a", "note": "b"}]', JSON),
    "json-bare-string": (b'"slug"', JSON),
    "json-number": (b"42", JSON),
    "json-null": (b"null", JSON),
    "json-true": (b"true", JSON),
    "json-nan": (b'{"note_id": NaN, "appointment_id": Infinity, "slug": -Infinity}', JSON),
    "json-deeply-nested": (b"[" * 100_000 + b"]" * 100_000, JSON),
    "json-deeply-nested-object": (b'{"slug": ' * 50_000 + b"1" + b"}" * 50_000, JSON),
    "json-5000-digit-number": (b'{"note_id": ' + b"9" * 5000 + b"}", JSON),
    "json-empty-body": (b"", JSON),
    "json-whitespace-body": (b"   \r\n ", JSON),
    "json-empty-object": (b"{}", JSON),
    "json-invalid-utf8": (b'{"slug": "\xff\xfe", "note": "\xc3\x28"}', JSON),
    "json-utf8-bom": (b'\xef\xbb\xbf{"slug": "a"}', JSON),
    "json-utf16": ('{"slug": "a"}'.encode("utf-16"), JSON),
    "json-unknown-charset": (b'{"slug": "a"}', f"{JSON}; charset=no-such-charset"),
    "json-utf16-charset-on-utf8": (b'{"slug": "a"}', f"{JSON}; charset=utf-16"),
    "urlencoded-empty": (b"", FORM),
    "urlencoded-invalid-utf8": (b"slug=\xff\xfe&note=\xc3\x28&note_id=%ff&username=%c3%28", FORM),
    "urlencoded-bad-percent": (b"slug=%&note=%zz&%=1&note_id=%%", FORM),
    "urlencoded-utf16-charset": (b"slug=a&note=b", f"{FORM}; charset=utf-16"),
    "urlencoded-unknown-charset": (b"slug=a&note=b", f"{FORM}; charset=no-such-charset"),
    "urlencoded-json-inside": (b'{"slug": "a"}', FORM),
    "multipart-empty": (_multipart(), MULTIPART),
    "multipart-zero-bytes": (b"", MULTIPART),
    "multipart-wrong-boundary": (_multipart(("slug", b"a"), boundary="Other"), MULTIPART),
    "multipart-no-boundary": (_multipart(("slug", b"a")), "multipart/form-data"),
    "multipart-empty-boundary": (_multipart(("slug", b"a")), "multipart/form-data; boundary="),
    "multipart-truncated": (_multipart(("slug", b"a"), close=False)[:-2], MULTIPART),
    "multipart-invalid-utf8": (_multipart(("slug", b"\xff\xfe"), ("note", b"\xc3\x28")), MULTIPART),
    "multipart-no-disposition": (
        b"--%s\r\nX-Nothing: here\r\n\r\nvalue\r\n--%s--\r\n" % ((BOUNDARY.encode(),) * 2),
        MULTIPART,
    ),
    "multipart-garbage": (b"\x00\x01\x02 not multipart at all", MULTIPART),
    "text-plain": (b"slug=a", "text/plain"),
    "application-xml": (b"<lead><slug>a</slug></lead>", "application/xml"),
    "no-content-type": (b"slug=a", ""),
    "garbage-content-type": (b"slug=a", "///;;;==="),
    "octet-stream": (b"\x00\xff" * 64, "application/octet-stream"),
    "urlencoded-11mb": (b"note=" + b"x" * (11 * 1024 * 1024), FORM),
    "multipart-11mb": (_multipart(("note", b"x" * (11 * 1024 * 1024))), MULTIPART),
    "json-11mb": (json.dumps({"note": "x" * (11 * 1024 * 1024)}).encode(), JSON),
    "urlencoded-too-many-fields": ("&".join(f"f{i}=1" for i in range(6000)).encode(), FORM),
    "multipart-too-many-fields": (_multipart(*((f"f{i}", b"1") for i in range(6000))), MULTIPART),
    "json-every-field-at-once-as-null": (json.dumps(dict.fromkeys(ALL_FIELDS)).encode(), JSON),
}


def body_class(name: str) -> str:
    if any(word in name for word in ("11mb", "too-many", "deeply", "5000-digit")):
        return "oversized"
    if any(word in name for word in ("utf", "charset", "bom")):
        return "encoding"
    return next((p for p in ("json", "urlencoded", "multipart") if name.startswith(p)), "other")


def _body_cases() -> list[Any]:
    """Every endpoint with every class of body; every body at a sign-in endpoint and at a lead
    endpoint (they parse bodies with the same parsers, in different views)."""
    every = [(e, body) for body in RAW_BODIES for e in POSTS]

    def needs(e: Endpoint, body: str) -> list[Hashable]:
        family = "sign-in" if e.base in ("login", "refresh") else "leads"
        return [("body", body, family), ("endpoint.class", e.name, body_class(body))]

    return [pytest.param(e, body, id=f"{e}.{body}") for e, body in cover(every, needs)]


@pytest.mark.parametrize(("endpoint", "body"), _body_cases())
def test_a_malformed_empty_or_badly_encoded_body_is_refused(api, world, endpoint, body):
    before = snapshot()
    content, content_type = RAW_BODIES[body]
    response = api.post_raw(endpoint.path, content, content_type)
    check(response, before, endpoint, must_fail=True)


@pytest.mark.parametrize("fmt", ["json", "multipart", "urlencoded"])
@pytest.mark.parametrize("endpoint", POSTS, ids=str)
def test_an_empty_body_is_refused(api, world, endpoint, fmt):
    before = snapshot()
    check(send(api, endpoint, {}, fmt), before, endpoint, must_fail=True)


# --- NUL characters and other awkward text ---------------------------------------------------

NUL_VALUES = {"nul-inside": "a\x00b", "nul-only": "\x00", "nul-trailing": "Pat\x00"}


@pytest.mark.parametrize(
    ("endpoint", "field", "nul", "fmt"), covering(POSTS, NUL_VALUES, body_formats=BODY_FORMATS)
)
def test_a_nul_character_is_refused_with_400(api, world, endpoint, field, nul, fmt):
    """PostgreSQL cannot store NUL in text; the API must say 400 (on every database)."""
    before = snapshot()
    response = send(api, endpoint, with_field(world, endpoint, field, NUL_VALUES[nul]), fmt)
    check(response, before, endpoint, must_fail=True)
    assert response.status_code == 400, response.json()


@pytest.mark.parametrize(("endpoint", "field", "nul", "fmt"), covering(GETS, NUL_VALUES))
def test_a_nul_character_in_a_query_parameter(api, world, endpoint, field, nul, fmt):
    before = snapshot()
    check(
        send(api, endpoint, with_field(world, endpoint, field, NUL_VALUES[nul])), before, endpoint
    )


AWKWARD_TEXT = {
    "lone-surrogate": "\ud800",
    "surrogate-pair-halves": "a\udc00\ud800b",
    "control-characters": "\x01\x07\x1b[31m\x7f",
    "right-to-left-override": "\u202egnp.exe",
    "only-whitespace": " \t\r\n ",
    "emoji": "\U0001f600" * 10,
    "sql-ish": "'; DROP TABLE leads_lead; --",
    "percent-and-underscore": "%_%\\",
    "html": "<script>alert(1)</script>",
}
AWKWARD_CLASSES = {
    **dict.fromkeys(("lone-surrogate", "surrogate-pair-halves"), "unencodable"),
    **dict.fromkeys(("control-characters", "right-to-left-override", "only-whitespace"), "unseen"),
    "emoji": "astral",
    **dict.fromkeys(("sql-ish", "percent-and-underscore", "html"), "syntax"),
}


@pytest.mark.parametrize(
    ("endpoint", "field", "text", "fmt"),
    covering(ENDPOINTS, AWKWARD_TEXT, classes=AWKWARD_CLASSES),
)
def test_awkward_text_in_one_field(api, world, endpoint, field, text, fmt):
    before = snapshot()
    check(
        send(api, endpoint, with_field(world, endpoint, field, AWKWARD_TEXT[text])),
        before,
        endpoint,
    )


# --- ids ------------------------------------------------------------------------------------

BAD_IDS = {
    "10**30": 10**30,
    "10**30-string": str(10**30),
    "2**63": 2**63,
    "minus-2**63": -(2**63),
    "minus-1": -1,
    "minus-1-string": "-1",
    "zero": 0,
    "1e5-string": "1e5",
    "1e308": 1e308,
    "hex": "0x10",
    "decimal-string": "1.5",
    "float": 1.5,
    "nan-string": "NaN",
    "infinity-string": "Infinity",
    "letters": "abc",
    "5000-digits": "9" * 5000,
    "unicode-digits": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
    "blank": " ",
    "true": True,
    "list": [1],
}
IDS = [f for f, kind in FIELD_KINDS.items() if kind == "id"]
BAD_ID_CLASSES = {
    **dict.fromkeys(
        ("10**30", "10**30-string", "2**63", "minus-2**63", "1e308", "5000-digits"), "too big"
    ),
    **dict.fromkeys(("minus-1", "minus-1-string", "zero"), "not positive"),
    **dict.fromkeys(
        ("1e5-string", "hex", "decimal-string", "float", "nan-string", "infinity-string"),
        "not whole",
    ),
    **dict.fromkeys(("letters", "unicode-digits", "blank", "true", "list"), "not a number"),
}


@pytest.mark.parametrize(
    ("endpoint", "field", "value", "fmt"),
    covering(POSTS, BAD_IDS, classes=BAD_ID_CLASSES, body_formats=JSON_AND_MULTIPART, only=IDS),
)
def test_a_bad_id_is_refused(api, world, endpoint, field, value, fmt):
    before = snapshot()
    response = send(api, endpoint, with_field(world, endpoint, field, BAD_IDS[value]), fmt)
    check(response, before, endpoint, must_fail=True)


# --- dates ----------------------------------------------------------------------------------

UNPARSEABLE_DATES = {
    "february-30": "2030-02-30 10:00",
    "yesterday": "yesterday",
    "hour-25": "2030-01-01 25:00",
    "minute-60": "2030-01-01 10:60",
    "year-10000": "10000-01-01 00:00",
    "year-0": "0000-01-01 00:00",
    "epoch-seconds": "1893456000",
    "us-format": "01/15/2030 10:00",
    "offset-out-of-range": "2030-01-15T10:00+25:00",
    "blank": " ",
}
EXTREME_DATES = {
    "year-9999": "9999-12-31 23:59",
    "year-1": "0001-01-01 00:00",
    "year-9999-minus-14h": "9999-12-31T23:59-14:00",
    "year-1-plus-14h": "0001-01-01T00:00+14:00",
    "year-9999-utc": "9999-12-31T23:59:59Z",
    "leap-day": "2032-02-29 10:00",
    "date-only": "2030-01-15",
}
DATES = {**UNPARSEABLE_DATES, **EXTREME_DATES}
DATE_CLASSES = {
    **dict.fromkeys(UNPARSEABLE_DATES, "unparseable"),
    **dict.fromkeys(EXTREME_DATES, "extreme"),
}
DATE_FIELDS = ("appointment_date", "appointment_to", "custom:date", "custom:datetime")


@pytest.mark.parametrize(
    ("endpoint", "field", "date", "fmt"),
    covering(POSTS, DATES, classes=DATE_CLASSES, body_formats=JSON_AND_MULTIPART, only=DATE_FIELDS),
)
def test_an_impossible_or_extreme_date(api, world, endpoint, field, date, fmt):
    before = snapshot()
    response = send(api, endpoint, with_field(world, endpoint, field, DATES[date]), fmt)
    # A blank custom value clears the field; a blank appointment time is refused.
    cleared = field.startswith("custom:") and date == "blank"
    check(response, before, endpoint, must_fail=date in UNPARSEABLE_DATES and not cleared)


EXTREME_RANGES = {
    "year-9999": ("9999-12-31 23:58", "9999-12-31 23:59"),
    "year-9999-minus-14h": ("9999-12-31T23:58-14:00", "9999-12-31T23:59-14:00"),
    "year-9999-to-10000": ("9999-12-31 23:58", "10000-01-01 00:00"),
    "year-1": ("0001-01-01 00:00", "0001-01-01 00:01"),
    "year-1-plus-14h": ("0001-01-01T00:00+14:00", "0001-01-01T00:01+14:00"),
    "end-before-start-far-apart": ("9999-12-31 23:59", "0001-01-01 00:00"),
}
APPOINTMENT_WRITES = [e for e in POSTS if e.base in ("create-appointment", "update-appointment")]


@pytest.mark.parametrize("span", EXTREME_RANGES)
@pytest.mark.parametrize("endpoint", APPOINTMENT_WRITES, ids=str)
def test_an_appointment_at_the_edges_of_time(api, world, endpoint, span):
    before = snapshot()
    start, end = EXTREME_RANGES[span]
    data = payload(world, endpoint, appointment_date=start, appointment_to=end)
    response = send(api, endpoint, data)
    check(response, before, endpoint)
    if response.status_code < 300:
        listed = api.get("appointments/list/", {"datesetting": "after", "ondate": "01/01/2031"})
        assert listed.status_code == 200, listed.json()
        overview = api.get("overview/", {"appointment": "upcoming"})
        assert overview.status_code == 200, overview.json()


# --- query strings on the list endpoints ------------------------------------------------------

QUERY_VALUES = {
    "offset": ["-1", "abc", str(10**30), "1e5", "0x10", "", "9" * 5000, str(2**63), "1.5"],
    "limit": ["0", "-5", str(10**30), "abc", "1000000", "", "9" * 5000, "1.5"],
    "ordering": ["bogus", "-", ",", ",,,", "id,-id", "password", "owner__password", "-bogus,id"],
    "created_after": [
        "yesterday",
        "2030-02-30 10:00",
        "9999-12-31 23:59",
        "0001-01-01 00:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "10000-01-01T00:00:00",
    ],
    "created_before": [
        "yesterday",
        "9999-12-31 23:59",
        "0001-01-01 00:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
    ],
    "list_type": ["bogus", "ALL", ""],
    "search": ["%", "_", "\\", "a " * 5000, "' OR 1=1 --"],
    "phone": ["()-. ", "+", "x" * 1000],
    "datesetting": ["bogus", "on", "before", "after", "ON"],
    "ondate": ["02/30/2030", "12/31/9999", "01/01/0001", "13/45/2030", "yesterday", "1/1/30"],
    "status": ["bogus", "fullfilled", "DELETED"],
}


def _query_cases() -> list[Any]:
    """Every value once, every list endpoint with every parameter that has values."""
    every = [
        (endpoint, param, i)
        for endpoint in LISTS
        for param in endpoint.fields
        for i in range(len(QUERY_VALUES.get(param, [])))
    ]

    def needs(endpoint: Endpoint, param: str, i: int) -> list[Hashable]:
        return [("value", param, i), ("endpoint.param", endpoint.name, param)]

    return [
        pytest.param(e, param, QUERY_VALUES[param][i], id=f"{e}.{param}.{i}")
        for e, param, i in cover(every, needs)
    ]


@pytest.mark.parametrize(("endpoint", "param", "value"), _query_cases())
def test_a_bad_query_parameter(api, world, endpoint, param, value):
    before = snapshot()
    check(send(api, endpoint, with_field(world, endpoint, param, value)), before, endpoint)


@pytest.mark.parametrize("setting", ["on", "before", "after"])
@pytest.mark.parametrize("ondate", ["12/31/9999", "01/01/0001", "02/29/2032"])
def test_appointments_on_the_first_and_last_days_of_the_calendar(api, world, setting, ondate):
    endpoint = next(e for e in LISTS if e.base == "appointments-list")
    before = snapshot()
    response = send(api, endpoint, {"datesetting": setting, "ondate": ondate})
    check(response, before, endpoint)


RAW_QUERIES = {
    "bad-percent": "slug=%&offset=%zz&limit=%",
    "invalid-utf8": "slug=%ff%fe&first_name=%c3%28&lead=%ed%a0%80",
    "nul": "slug=%00&ordering=%00&appointment=%00&status=%00",
    "repeated": "offset=1&offset=-1&limit=a&limit=5&list_type=all&list_type=bogus",
    "no-values": "offset&limit&slug&ordering&appointment&datesetting",
    "only-separators": "&&&===&&",
    "brackets": "slug[]=a&offset[]=1&first_name[x]=1",
    "very-long": "&".join(f"p{i}=x" for i in range(6000)),
}


@pytest.mark.parametrize("query", RAW_QUERIES)
@pytest.mark.parametrize("endpoint", GETS, ids=str)
def test_a_raw_broken_query_string(api, world, endpoint, query):
    before = snapshot()
    check(get_raw(api, endpoint.path, RAW_QUERIES[query]), before, endpoint)


# --- methods that no endpoint takes ---------------------------------------------------------


WRONG_METHODS = [
    pytest.param(e, m, id=f"{e}.{m}")
    for e in ENDPOINTS
    for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    if m != e.method
]


@pytest.mark.parametrize(("endpoint", "method"), WRONG_METHODS)
def test_a_wrong_method_answers_405_in_the_envelope(api, world, endpoint, method):
    before = snapshot()
    response = api.client.generic(
        method, endpoint.path, json.dumps(payload(world, endpoint)), JSON, headers=api.headers
    )
    check(response, before, endpoint)
    assert response.status_code == 405
