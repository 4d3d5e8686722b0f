"""Issue 14, items 12-14: the pages around the edges and the first run.

- CSV: the export starts with a byte order mark and reads as a person reads (labels, names);
  an import waiting for review can be discarded, and is deleted after 7 days by the worker's
  housekeeping (or ``manage.py prune_imports``).
- Our own 404, 403 and 500 pages (DEBUG off, as in production); the 500 page needs neither the
  database nor the user.
- "Forgot password?": the email arrives through the configured backend and its link sets a new
  password (once).
- A note longer than the limit is refused with a message, never cut.
- The first run: ``seed_demo`` names the demo people, prints the right port, and ``make run``
  takes ``PORT``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone

from crm import errors, housekeeping
from crm.demo import PEOPLE, seed
from crm.domain import Actor
from crm.models import User
from crm.roles import Role
from leads import imports
from leads.forms import NOTE_LENGTH
from leads.models import ImportStatus, Lead, LeadImport, LeadNote
from leads.services import field_create
from tests.factories import LeadFactory
from tests.processes import interrupt

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- item 12: the CSV export --------------------------------------------------------------


def exported(client, **params) -> tuple[str, list[list[str]]]:
    response = client.get("/leads/export.csv", params)
    assert response.status_code == 200
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8's byte order mark: Excel on Windows
    text = raw.decode("utf-8")
    return text, list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_export_reads_as_a_person_reads_it(client, users):
    """A sales manager exports: name first, then contact, company, status and source by label,
    the people by name, the dates as a spreadsheet reads them; custom fields by label."""
    manager, salesperson = users["sales_manager"], users["salesperson"]
    salesperson.first_name, salesperson.last_name = "Sam", "Seller"
    salesperson.save()
    size = field_create(label="Team size")
    lead = LeadFactory(
        by=manager,
        first_name="Jürgen",
        last_name="Müller",
        email="j@mueller.test",
        phone="5556079806",
        company="Müller GmbH",
        city="München",
        status="prospect",
        source="website",
        owner=salesperson,
        custom={size.system_name: "12"},
    )
    client.force_login(manager)
    text, (header, *rows) = exported(client, list_type="all")
    assert header[:4] == ["First name", "Last name", "Email", "Phone"]
    assert header.index("Company") < header.index("Status") < header.index("Source")
    assert header.index("Source") < header.index("Owner") < header.index("Created")
    assert header[-2:] == ["ID", "Team size"]
    row = dict(zip(header, rows[0], strict=True))
    assert row["First name"] == "Jürgen" and row["City"] == "München"
    assert row["Status"] == "Prospect" and row["Source"] == "Website"  # labels, not keys
    assert row["Owner"] == "Sam Seller" and row["Assignee"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row["Created"])
    assert row["ID"] == lead.slug and row["Team size"] == "12"
    assert "prospect," not in text and ",website," not in text


def test_an_exported_file_imports_back_with_the_guessed_columns(client, users):
    """The export's headers are the import's field names: every column maps by itself."""
    manager = users["sales_manager"]
    LeadFactory(by=manager, first_name="Ann", last_name="Lee", status="prospect")
    client.force_login(manager)
    response = client.get("/leads/export.csv", {"list_type": "all"})
    raw = b"".join(response.streaming_content)
    imp = imports.import_create(
        actor=_actor(manager), upload=SimpleUploadedFile("leads.csv", raw, "text/csv")
    )
    header = imp.headers
    mapped = dict(zip(header, imp.mapping, strict=True))
    assert header[0] == "First name"  # the byte order mark is not part of the first header
    assert mapped["First name"] == "first_name" and mapped["Email"] == "email"
    assert mapped["Status"] == "status" and mapped["Source"] == "source"
    assert mapped["City"] == "city" and mapped["Zip code"] == "zipcode"


def _actor(user) -> Actor:
    return Actor(user=user)


# --- item 12: discarding and cleaning up imports ------------------------------------------

CSV = b"First name,Last name,Email\nAnn,Lee,ann@lee.test\nBo,Ray,bo@ray.test\n"


def _upload(client) -> LeadImport:
    response = client.post("/import/", {"file": SimpleUploadedFile("people.csv", CSV)})
    assert response.status_code == 302
    return LeadImport.objects.latest("pk")


def test_a_salesperson_discards_an_import_waiting_for_review(client, users):
    client.force_login(users["salesperson"])
    imp = _upload(client)
    page = client.get(f"/import/{imp.pk}/").content.decode()
    assert f'action="/import/{imp.pk}/discard/"' in page
    assert "Discard this file" in page and "deleted after 7 days" in page

    response = client.post(f"/import/{imp.pk}/discard/")
    assert response.status_code == 302 and response["Location"] == "/import/"
    assert messages_of(response) == [
        "Discarded people.csv: nothing was imported, and the file is deleted."
    ]
    assert not LeadImport.objects.filter(pk=imp.pk).exists()  # the stored rows are gone
    assert not Lead.objects.filter(email="ann@lee.test").exists()
    assert client.get(f"/import/{imp.pk}/").status_code == 404


def test_only_its_creator_discards_an_import_and_never_an_imported_one(client, users):
    client.force_login(users["salesperson"])
    imp = _upload(client)
    other = Client()
    other.force_login(users["sales_manager"])
    assert other.post(f"/import/{imp.pk}/discard/").status_code == 404
    assert other.get(f"/import/{imp.pk}/discard/").status_code == 405
    assert LeadImport.objects.filter(pk=imp.pk).exists()

    data = {f"col_{i}": target for i, target in enumerate(imp.mapping)}
    client.post(f"/import/{imp.pk}/run/", data)
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    response = client.post(f"/import/{imp.pk}/discard/")
    assert response["Location"] == f"/import/{imp.pk}/"
    assert messages_of(response)[-1] == "This file was already imported."
    assert LeadImport.objects.filter(pk=imp.pk).exists()


def test_imports_left_waiting_for_7_days_are_deleted(client, users):
    client.force_login(users["salesperson"])
    old, fresh, done = _upload(client), _upload(client), _upload(client)
    now = timezone.now()
    LeadImport.objects.filter(pk__in=[old.pk, done.pk]).update(
        created_at=now - timedelta(days=7, minutes=1)
    )
    LeadImport.objects.filter(pk=fresh.pk).update(created_at=now - timedelta(days=6, hours=23))
    LeadImport.objects.filter(pk=done.pk).update(status=ImportStatus.DONE)

    assert imports.imports_prune() == 1
    assert set(LeadImport.objects.values_list("pk", flat=True)) == {fresh.pk, done.pk}
    assert imports.imports_prune(now=now + timedelta(days=1)) == 1  # the fresh one's turn
    assert set(LeadImport.objects.values_list("pk", flat=True)) == {done.pk}


def test_the_workers_housekeeping_deletes_them(users):
    """The worker's periodic housekeeping deletes the imports left unreviewed for 7 days."""
    imp = imports.import_create(
        actor=_actor(users["salesperson"]), upload=SimpleUploadedFile("a.csv", CSV)
    )
    LeadImport.objects.filter(pk=imp.pk).update(created_at=timezone.now() - timedelta(days=8))
    assert housekeeping.housekeeping.call()["imports"] == 1
    assert not LeadImport.objects.filter(pk=imp.pk).exists()


def test_prune_imports_command(users):
    imp = imports.import_create(
        actor=_actor(users["salesperson"]), upload=SimpleUploadedFile("a.csv", CSV)
    )
    LeadImport.objects.filter(pk=imp.pk).update(created_at=timezone.now() - timedelta(days=9))
    out = StringIO()
    call_command("prune_imports", stdout=out)
    assert out.getvalue() == "Deleted 1 import left unreviewed.\n"
    assert not LeadImport.objects.exists()


# --- item 13: our own error pages, with DEBUG off -----------------------------------------


def _boom(request):
    raise RuntimeError("a bug")


def _no_entry(request):
    raise PermissionDenied


urlpatterns = [
    path("boom/", _boom),
    path("no-entry/", _no_entry),
    path("", include("crm.urls")),
]
handler404 = "crm.errors.not_found"
handler403 = "crm.errors.forbidden"
handler500 = "crm.errors.server_error"


@pytest.fixture
def production():
    with override_settings(DEBUG=False, ROOT_URLCONF=__name__):
        yield


def _in_layout(html: str) -> None:
    assert html.startswith("<!doctype html>")
    assert '<link rel="stylesheet" href="/static/crm/app.css' in html
    assert '<a class="brand" href="/">Lead CRM</a>' in html


def test_404_is_our_page_in_the_layout(production, client, users):
    client.force_login(users["salesperson"])
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    _in_layout(html)
    assert '<h1 id="error-title">Page not found</h1>' in html
    assert 'class="who-role">Salesperson' in html  # the header of a signed-in user
    assert "Go to the dashboard" in html
    # a lead the user may not see is the same page
    hidden = LeadFactory(by=users["sales_manager"], owner=users["sales_manager"])
    response = client.get(f"/leads/{hidden.slug}/")
    assert response.status_code == 404 and "Page not found" in response.content.decode()


def test_404_for_someone_signed_out_offers_to_sign_in(production, client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and 'href="/accounts/login/"' in html
    assert "who-role" not in html


def test_an_unknown_api_address_keeps_the_plain_answer(production, client):
    response = client.get("/api/v1/leads/nothing-here/")
    assert response.status_code == 404
    assert b"Page not found" not in response.content and b"Not Found" in response.content


def test_403_is_our_page(production, client, users):
    client.force_login(users["jr_salesperson"])
    response = client.get("/no-entry/")
    assert response.status_code == 403
    html = response.content.decode()
    _in_layout(html)
    assert "You may not open this page" in html


def test_an_expired_form_says_so_in_our_layout(production, users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["salesperson"])
    lead = LeadFactory(by=users["salesperson"], owner=users["salesperson"])
    response = client.post(f"/leads/{lead.slug}/notes/", {"note": "Hello"})
    assert response.status_code == 403
    html = response.content.decode()
    _in_layout(html)
    assert "This form has expired" in html


def test_500_is_our_page(production, users):
    client = Client(raise_request_exception=False)
    client.force_login(users["salesperson"])
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    _in_layout(html)
    assert "Something went wrong on our side" in html
    assert "who-role" not in html  # no user: it may be what failed


def test_the_500_page_needs_neither_the_database_nor_the_user(production):
    request = RequestFactory().get("/boom/")  # no session, no user
    with CaptureQueriesContext(connection) as queries:
        response = errors.server_error(request)
    assert response.status_code == 500 and len(queries) == 0
    assert b"Something went wrong" in response.content


# --- item 13: forgot password -------------------------------------------------------------


def test_forgot_password_sends_a_link_that_sets_a_new_password(client, users):
    salesperson = users["salesperson"]
    salesperson.email = "seller@example.com"
    salesperson.save()
    login = client.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/password/reset/">Forgot password?</a>' in login

    page = client.get("/accounts/password/reset/")
    assert page.status_code == 200 and "Forgot your password?" in page.content.decode()
    response = client.post("/accounts/password/reset/", {"email": "SELLER@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert "Check your email" in client.get(response["Location"]).content.decode()

    (sent,) = mail.outbox
    assert sent.to == ["seller@example.com"]
    assert "&#" not in sent.subject + sent.body  # plain text, not HTML-escaped
    link = re.search(r"https?://testserver(/accounts/password/reset/\S+/\S+/)", sent.body)
    assert link, sent.body
    confirm = client.get(link.group(1), follow=True)
    assert "Choose a new password" in confirm.content.decode()
    form_url = confirm.redirect_chain[-1][0]
    done = client.post(
        form_url, {"new_password1": "a new long secret 42", "new_password2": "a new long secret 42"}
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/done/"
    assert "Your password was changed" in client.get(done["Location"]).content.decode()
    salesperson.refresh_from_db()
    assert salesperson.check_password("a new long secret 42")
    # the link works once
    again = client.get(link.group(1), follow=True).content.decode()
    assert "This link no longer works" in again


def test_forgot_password_for_an_unknown_address_sends_nothing_and_says_the_same(client, users):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/sent/"
    assert mail.outbox == []


# --- item 13: notes longer than the limit -------------------------------------------------


def test_a_note_longer_than_the_limit_is_refused_not_cut(client, users):
    salesperson = users["salesperson"]
    lead = LeadFactory(by=salesperson, owner=salesperson)
    client.force_login(salesperson)
    page = client.get(f"/leads/{lead.slug}/").content.decode()
    area = re.search(r'<textarea name="note"[^>]*>', page).group(0)
    assert not re.search(r"\smaxlength=", area)  # a browser would cut a pasted note silently
    assert f'data-maxlength="{NOTE_LENGTH}"' in area

    text = "word " * 120 + "end"  # 603 characters
    response = client.post(
        f"/leads/{lead.slug}/notes/", {"note": text}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        f"A note can be at most {NOTE_LENGTH} characters; this one has {len(text)}. "
        "Shorten it, or split it in two."
    ) in html
    assert "end</textarea>" in html  # the typed text is kept for shortening
    assert not LeadNote.objects.filter(lead=lead).exists()

    fits = "x" * NOTE_LENGTH
    response = client.post(
        f"/leads/{lead.slug}/notes/", {"note": fits}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert LeadNote.objects.get(lead=lead).text == fits


# --- item 14: the first run ---------------------------------------------------------------


def test_seed_demo_names_the_people_and_prints_the_port(db):
    out = StringIO()
    call_command("seed_demo", "--leads", "9", "--port", "8001", stdout=out)
    text = out.getvalue()
    assert "Sign in at http://127.0.0.1:8001/ as salesperson / demo-password" in text
    assert "http://127.0.0.1:8001/admin/ as administrator" in text
    assert "  salesperson        Sam Rivera, Salesperson\n" in text
    for role in Role:
        user = User.objects.get(username=role.value)
        assert (user.first_name, user.last_name) == PEOPLE[role]
        assert user.check_password("demo-password")
    leads = list(Lead.objects.order_by("pk"))
    assert len(leads) == 9
    for lead in leads:  # a person's name, not "Buyer Northwind 01"
        assert re.fullmatch(r"[A-Z][a-z]+", lead.first_name), lead.first_name
        assert not re.search(r"\d", lead.last_name) and lead.last_name
        assert lead.company and lead.email.endswith(".example.com")
    assert len({(lead.first_name, lead.last_name) for lead in leads}) == 9


def test_demo_data_is_the_same_on_every_run(db):
    seed(leads=5)
    first = list(Lead.objects.order_by("pk").values_list("first_name", "last_name", "company"))
    Lead.objects.all().delete()
    seed(leads=5)
    again = list(Lead.objects.order_by("pk").values_list("first_name", "last_name", "company"))
    assert first == again


def test_the_header_names_the_demo_person_and_role(client, db):
    call_command("seed_demo", "--leads", "1", stdout=StringIO())
    client.force_login(User.objects.get(username="salesperson"))
    html = client.get("/").content.decode()
    assert '<span class="who-name">Sam Rivera</span>' in html
    assert '<span class="who-role">Salesperson</span>' in html


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_run_takes_a_port_and_says_little(tmp_path):
    """``make run PORT=...`` on a fresh SQLite database: quiet migrations, the demo logins with
    the right address, the worker's one plain line, and a server answering on that port."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'first-run.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TEST_SQLITE_NAME", None)
    bin_dir = Path(sys.executable).parent
    command = ["make", "--no-print-directory", "-o", f"{bin_dir}/.installed", "run",
               f"PORT={port}", f"BIN={bin_dir}"]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "Quit the server with" in line:
                break
        output = "\n".join(lines)
        assert f"Sign in at http://127.0.0.1:{port}/ as salesperson / demo-password" in output
        assert f"development server at http://127.0.0.1:{port}/" in output
        assert "Applying " not in output and "Operations to perform" not in output
        assert "Background worker started" in output or _more(process, lines, "Background")
        assert "Starting worker worker_id" not in "\n".join(lines)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /accounts/login/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        interrupt(process, timeout=20)
    before_server = lines[: next(i for i, x in enumerate(lines) if "Sign in at" in x) + 1]
    assert len(before_server) <= 10, before_server  # short: the users and the address


def _more(process, lines: list[str], wanted: str) -> bool:
    """Read a little further (the worker's line may come after the server's)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            return False
        lines.append(line.rstrip("\n"))
        if wanted in line:
            return True
    return False
