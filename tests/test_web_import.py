"""CSV import (SPEC §8): upload, column mapping, duplicates (email, name + phone, name +
address), row errors, the run through the domain services, and who may open an import."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.domain import Actor
from crm.roles import Role
from leads import bulk, imports
from leads.models import Event, EventType, Lead, LeadImport, Tag
from leads.selectors import find_duplicates
from leads.services import field_create, lead_choices
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "First Name,last_name,E-mail,Phone Number,Company,Street,Zip,City,Status\n"


def csv_file(text: str | bytes, name: str = "leads.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def upload(client, text: str | bytes, name: str = "leads.csv"):
    return client.post("/import/", {"file": csv_file(text, name)})


def uploaded(client, text: str | bytes) -> LeadImport:
    response = upload(client, text)
    assert response.status_code == 302, response.content.decode()[:2000]
    imp = LeadImport.objects.latest("pk")
    assert response["Location"] == f"/import/{imp.pk}/"
    return imp


def run(client, imp: LeadImport, decisions: dict[int, str] | None = None):
    data = {f"col_{i}": target for i, target in enumerate(imp.mapping)}
    data.update({f"row_{n}": d for n, d in (decisions or {}).items()})
    return client.post(f"/import/{imp.pk}/run/", data)


@pytest.fixture
def sp(users, client):
    client.force_login(users["salesperson"])
    return users["salesperson"]


# --- step 1 -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_upload_page_for_every_role(client, users, role):
    client.force_login(users[role])
    response = client.get("/import/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_file">CSV file' in html
    assert 'enctype="multipart/form-data"' in html
    assert '<a href="/import/" aria-current="page">Import</a>' in html
    assert 'aria-current="step"><span class="import-step-no">1</span> Upload' in html


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/import/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_upload_keeps_the_rows_and_guesses_the_mapping(client, sp):
    text = (
        "First Name,last_name,E-mail,Phone Number,Company Name,Zip,Tags,Favourite\n"
        "Ann,Lee,ann@example.com,555 123 4567,Acme,12345,a;b,blue\n"
        "\n"
        "Bob,Stone,bob@example.com,,,,,\n"
    )
    response = upload(client, text)
    imp = LeadImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/import/{imp.pk}/"
    assert imp.created_by == sp and imp.status == "pending" and imp.encoding == "utf-8"
    assert imp.mapping == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "zipcode",
        "tags",
        "",
    ]
    # The blank line is nobody's lead; row numbers are the spreadsheet's (header = row 1).
    assert [number for number, _ in imp.rows] == [2, 4]
    page = client.get(response["Location"]).content.decode()
    assert "Read 2 rows from leads.csv" in page
    assert '<option value="email" selected>Email</option>' in page
    assert '<label for="id_col_2">E-mail</label>' in page


def test_guesses_common_header_spellings_and_custom_fields(db):
    colour = field_create(label="Favorite Color")
    targets = imports.mapping_targets(lead_choices())
    headers = [
        "first_name",
        "Surname",
        "EMAIL ADDRESS",
        "Mobile",
        "Name",
        "Postal Code",
        "favorite color",
        "Lead Status",
        "Email",  # a second email column is not guessed twice
        "Whatever",
    ]
    assert imports.guess_mapping(headers, targets) == [
        "first_name",
        "last_name",
        "email",
        "mobile_phone",
        "full_name",
        "zipcode",
        f"custom:{colour.system_name}",
        "status",
        "",
        "",
    ]


def test_utf8_with_bom_and_latin1_files_are_read(client, sp):
    imp = uploaded(client, "\ufeffFirst name,Email\nZoë,zoe@example.com\n".encode())
    assert imp.headers == ["First name", "Email"] and imp.mapping == ["first_name", "email"]
    assert imp.rows[0][1][0] == "Zoë"

    response = upload(client, "First name,Email\nZoë,zoe@example.com\n".encode("latin-1"))
    assert response.status_code == 302
    latin = LeadImport.objects.latest("pk")
    assert latin.encoding == "windows-1252" and latin.rows[0][1][0] == "Zoë"
    page = client.get(response["Location"]).content.decode()
    assert "it was read as Latin-1" in page


def test_semicolon_separated_files_are_read(client, sp):
    imp = uploaded(client, "First name;Last name;Email\nAnn;Lee;ann@example.com\n")
    assert imp.headers == ["First name", "Last name", "Email"]
    assert imp.rows == [[2, ["Ann", "Lee", "ann@example.com"]]]


def test_quoted_cells_with_commas_quotes_and_line_breaks(client, sp):
    plain = "".join(f"L{i},l{i}@example.com,ok\n" for i in range(60))  # past the sniffed lines
    quoted = 'Ann,ann@example.com,"Said ""hi"", then\nleft"\n'
    imp = uploaded(client, "Last name,Email,Notes\n" + plain + quoted)
    assert imp.rows[-1] == [62, ["Ann", "ann@example.com", 'Said "hi", then\nleft']]


BAD_FILES = {
    "empty": (b"", "leads.csv", "The file is empty."),
    "blank": (b"\n \n", "leads.csv", "The file is empty."),
    "header only": (b"First name,Email\n", "leads.csv", "has no rows to import"),
    "no header": (
        b"Ann,Lee,ann@example.com\nBob,Stone,bob@example.com\n",
        "leads.csv",
        "not column names",
    ),
    "empty first line": (b",,\nAnn,Lee,ann@example.com\n", "leads.csv", "The first line is empty"),
    "image": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "not a CSV file"),
    "spreadsheet": (b"PK\x03\x04 whatever", "leads.xlsx", "This is a spreadsheet file"),
    "too large": (b"a" * (5 * 1024 * 1024 + 1), "big.csv", "larger than 5 MB"),
    "too many rows": (
        ("Email\n" + "".join(f"l{i}@example.com\n" for i in range(10_001))).encode(),
        "many.csv",
        "more than 10,000 rows",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_are_refused_with_a_clear_message(client, sp, case):
    data, name, message = BAD_FILES[case]
    response = upload(client, data, name)
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert 'class="errorlist"' in html
    assert not LeadImport.objects.exists()


def test_no_file_at_all_is_a_form_error(client, sp):
    response = client.post("/import/", {})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


# --- who may open an import ---------------------------------------------------------------


def test_only_its_creator_opens_an_import(client, users, sp):
    imp = uploaded(client, HEADER + "Ann,Lee,ann@example.com,,,,,,\n")
    for role in [Role.SALES_MANAGER, Role.ADMINISTRATOR, Role.JR_SALESPERSON]:
        client.force_login(users[role])
        assert client.get(f"/import/{imp.pk}/").status_code == 404
        assert client.post(f"/import/{imp.pk}/", {"col_0": "first_name"}).status_code == 404
        assert run(client, imp).status_code == 404
    assert not Lead.objects.exists()
    client.force_login(sp)
    assert client.get(f"/import/{imp.pk}/").status_code == 200
    assert client.get("/import/999999/").status_code == 404


# --- step 2: review -----------------------------------------------------------------------


def test_review_shows_the_first_rows_and_the_mapped_fields(client, sp):
    rows = "".join(f"Lead,N{i},l{i}@example.com,,,,,,\n" for i in range(15))
    imp = uploaded(client, HEADER + rows)
    html = client.get(f"/import/{imp.pk}/").content.decode()
    assert html.count('<span class="badge import-badge-new">New</span>') == 10  # first 10 rows
    assert "The first 10 of 15 rows" in html
    assert '<th scope="col">Email</th>' in html
    assert 'aria-current="step"><span class="import-step-no">2</span>' in html
    assert "No duplicates." in html and "No errors." in html


def test_mapping_change_with_htmx_answers_the_form_fragment(client, sp):
    imp = uploaded(client, HEADER + "Ann,Lee,ann@example.com,,,,,,\n")
    data = {f"col_{i}": t for i, t in enumerate(imp.mapping)} | {"col_4": ""}
    response = client.post(f"/import/{imp.pk}/", data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<form id="import-review"')
    imp.refresh_from_db()
    assert imp.mapping[4] == ""


def test_mapping_change_without_javascript_redirects_with_a_message(client, sp):
    imp = uploaded(client, HEADER + "Ann,Lee,ann@example.com,,,,,,\n")
    data = {f"col_{i}": t for i, t in enumerate(imp.mapping)} | {"col_8": ""}
    response = client.post(f"/import/{imp.pk}/", data, follow=True)
    assert response.redirect_chain == [(f"/import/{imp.pk}/", 302)]
    assert "Preview updated." in response.content.decode()
    imp.refresh_from_db()
    assert imp.mapping[8] == ""


def test_one_field_for_two_columns_is_refused_next_to_the_column(client, sp):
    imp = uploaded(client, HEADER + "Ann,Lee,ann@example.com,,,,,,\n")
    data = {f"col_{i}": t for i, t in enumerate(imp.mapping)} | {"col_4": "email"}
    response = client.post(f"/import/{imp.pk}/", data, headers={"HX-Request": "true"})
    assert response.status_code == 422
    html = response.content.decode()
    assert '<ul class="errorlist" id="id_col_4_error">' in html
    assert "“Email” is already chosen for another column." in html
    imp.refresh_from_db()
    assert imp.mapping[4] == "company"  # unchanged


def test_unknown_target_is_a_form_error(client, sp):
    imp = uploaded(client, HEADER + "Ann,Lee,ann@example.com,,,,,,\n")
    data = {f"col_{i}": t for i, t in enumerate(imp.mapping)} | {"col_0": "password"}
    response = client.post(f"/import/{imp.pk}/", data)
    assert response.status_code == 422
    assert "Select a valid choice." in response.content.decode()


def test_rows_with_errors_are_listed_and_not_written(client, sp):
    text = (
        HEADER
        + "Ann,Lee,not-an-email,,,,,,\n"
        + "Bob,Stone,bob@example.com,12ab,,,,,\n"
        + "Cy,Young,cy@example.com,,,,,,nonsense\n"
        + "Di,Ross,di@example.com,,,,,,Customer\n"
        + ",,,,,,,,,extra\n"
    )
    imp = uploaded(client, text)
    html = client.get(f"/import/{imp.pk}/").content.decode()
    assert "Rows with errors (4)" in html
    assert "<strong>Row 2</strong> (Ann Lee): Email: Invalid email." in html
    assert "<strong>Row 3</strong> (Bob Stone): Phone: Phone number must be entered" in html
    assert "<strong>Row 4</strong> (Cy Young): Status: &#34;nonsense&#34; is not a valid" in html
    assert "<strong>Row 6</strong>: This row has 10 cells" in html

    response = run(client, imp)
    assert response.status_code == 302
    imp.refresh_from_db()
    assert imp.result["created"] == 1 and imp.result["failed"] == 4
    # Only Di was written, with the status given by its label, as an imported lead of the user.
    di = Lead.objects.get()
    assert (di.first_name, di.status_id, di.source_id, di.owner) == ("Di", "customer", "import", sp)
    assert Event.objects.filter(lead=di, type=EventType.CREATED).exists()


# --- duplicates ---------------------------------------------------------------------------


@pytest.fixture
def ann(sp):
    return LeadFactory(
        by=sp, first_name="Ann", last_name="Lee", email="ann@example.com", phone="5550000001"
    )


@pytest.mark.parametrize(
    ("decision", "leads", "phones", "counts"),
    [
        ("update", 1, {"5551234567"}, (0, 1, 0)),
        ("create", 2, {"5550000001", "5551234567"}, (1, 0, 0)),
        ("skip", 1, {"5550000001"}, (0, 0, 1)),
    ],
)
def test_duplicate_by_email_is_skipped_updated_or_created_as_chosen(
    client, sp, ann, decision, leads, phones, counts
):
    imp = uploaded(client, HEADER + "Ann,Lee,ANN@Example.com,(555) 123-4567,Acme,,,,\n")
    html = client.get(f"/import/{imp.pk}/").content.decode()
    assert "Duplicates (1)" in html
    assert "same email." in html
    assert f'href="/leads/{ann.slug}/">Ann Lee</a>' in html
    assert 'name="row_2" value="skip" checked' in html  # Skip unless chosen otherwise

    response = run(client, imp, {2: decision})
    assert response.status_code == 302
    matching = Lead.objects.filter(email__iexact="ann@example.com")
    assert matching.count() == leads
    assert {lead.phone for lead in matching} == phones
    imp.refresh_from_db()
    assert (imp.result["created"], imp.result["updated"], imp.result["skipped"]) == counts
    if decision == "update":
        ann.refresh_from_db()
        assert ann.company == "Acme"
        assert Event.objects.filter(lead=ann, type=EventType.UPDATED).exists()


def test_result_page_shows_the_counts_and_links(client, sp, ann):
    imp = uploaded(client, HEADER + "Ann,Lee,ann@example.com,,,,,,\nBo,Ng,bo@example.com,,,,,,\n")
    response = run(client, imp, {2: "update"})
    page = client.get(response["Location"]).content.decode()
    assert "Import finished: 1 created, 1 updated, 0 skipped, 0 not imported." in page
    assert '<li data-count="created"><span class="big-number">1</span> created</li>' in page
    assert "/leads/?list_type=owned&amp;source=import" in page
    assert "created_after=" in page
    bo = Lead.objects.get(first_name="Bo")
    assert f'href="/leads/{bo.slug}/"' in page


def test_duplicate_by_name_and_phone(client, sp):
    bob = LeadFactory(by=sp, first_name="Bob", last_name="Stone", email="", phone="5551234567")
    imp = uploaded(
        client, HEADER + "bob,STONE,,(555) 123-4567,,,,,\nBob,Stone,,555 000 9999,,,,,\n"
    )
    checked = imports.review(actor=Actor(user=sp), imp=imp)
    first, second = checked.rows
    assert first.duplicate.kind == "name_phone" and first.duplicate.lead == bob
    assert second.duplicate is None  # same name, other phone: a different person
    assert "same name and phone." in client.get(f"/import/{imp.pk}/").content.decode()


def test_duplicate_by_name_and_address(client, sp):
    cy = LeadFactory(
        by=sp,
        first_name="Cy",
        last_name="Young",
        email="",
        phone="",
        street="1 Main St.",
        zipcode="12345",
        city="Springfield",
    )
    rows = (
        "Cy,Young,,,,1  main st,12345,,\n"  # street + zip code
        "Cy,Young,,,,1 Main St,,springfield,\n"  # street + city
        "Cy,Young,,,,2 Main St,12345,Springfield,\n"  # another street
        "Di,Young,,,,1 Main St,12345,,\n"  # another name
    )
    imp = uploaded(client, HEADER + rows)
    checked = imports.review(actor=Actor(user=sp), imp=imp)
    kinds = [(r.duplicate.kind, r.duplicate.lead) if r.duplicate else None for r in checked.rows]
    assert kinds == [("name_address", cy), ("name_address", cy), None, None]


def test_duplicates_within_the_file(client, sp):
    rows = "Ann,Lee,ann@example.com,,,,,,\nAnn,Lee,Ann@example.com,5551112222,,,,,\n"
    imp = uploaded(client, HEADER + rows)
    html = client.get(f"/import/{imp.pk}/").content.decode()
    assert "Same as row 2 of this file:" in html
    assert "Update the lead from row 2" in html
    response = run(client, imp, {3: "update"})
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert lead.phone == "5551112222"  # created by row 2, updated by row 3
    imp.refresh_from_db()
    assert (imp.result["created"], imp.result["updated"]) == (1, 1)


def test_duplicates_ignore_leads_the_user_may_not_see_and_deleted_ones(client, users, sp):
    other = UserFactory(username="other", role=Role.SALESPERSON)
    LeadFactory(by=users["sales_manager"], owner=other, email="hidden@example.com")
    imp = uploaded(client, "Email\nhidden@example.com\n")
    assert imports.review(actor=Actor(user=sp), imp=imp).rows[0].duplicate is None


def test_a_lead_the_user_may_not_edit_is_never_updated(client, users, sp):
    pool = LeadFactory(by=users["sales_manager"], owner=None, email="pool@example.com")
    imp = uploaded(client, "Email,Company\npool@example.com,Acme\n")
    html = client.get(f"/import/{imp.pk}/").content.decode()
    assert 'value="update"' not in html
    assert "You may not edit that lead" in html
    run(client, imp, {2: "update"})
    pool.refresh_from_db()
    assert pool.company == ""
    imp.refresh_from_db()
    assert (imp.result["updated"], imp.result["skipped"]) == (0, 1)


def test_custom_fields_and_tags_are_imported(client, sp):
    colour = field_create(label="Favorite Color")
    imp = uploaded(client, "Email,Favorite Color,Tags\nann@example.com,blue,vip; fair 2026\n")
    run(client, imp)
    lead = Lead.objects.get()
    assert lead.custom_fields == {colour.system_name: "blue"}
    assert sorted(lead.tags.values_list("name", flat=True)) == ["fair 2026", "vip"]


def test_run_with_a_changed_mapping_shows_the_new_preview_first(client, sp):
    imp = uploaded(client, HEADER + "Ann,Lee,ann@example.com,,,,,,\n")
    data = {f"col_{i}": t for i, t in enumerate(imp.mapping)} | {"col_4": ""}
    response = client.post(f"/import/{imp.pk}/run/", data, follow=True)
    assert response.redirect_chain == [(f"/import/{imp.pk}/", 302)]
    assert "You changed the columns" in response.content.decode()
    assert not Lead.objects.exists()
    imp.refresh_from_db()
    assert imp.status == "pending" and imp.mapping[4] == ""


def test_an_import_runs_once(client, sp):
    imp = uploaded(client, HEADER + "Ann,Lee,ann@example.com,,,,,,\n")
    run(client, imp)
    response = run(client, imp)
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert "This file was already imported." in response.content.decode()
    assert Lead.objects.count() == 1
    # The page of a finished import is its result; posting to it changes nothing.
    assert client.post(f"/import/{imp.pk}/", {"col_0": ""}).status_code == 302


def test_recent_imports_are_listed_on_the_upload_page(client, users, sp):
    mine = uploaded(client, "Email\na@example.com\n")
    assert "Read 1 row from leads.csv" in client.get(f"/import/{mine.pk}/").content.decode()
    client.force_login(users["sales_manager"])
    assert mine.file_name not in client.get("/import/").content.decode()
    client.force_login(sp)
    assert f'href="/import/{mine.pk}/">leads.csv</a>' in client.get("/import/").content.decode()


# --- query counts -------------------------------------------------------------------------


def _rows(n: int) -> str:
    """``n`` rows: every fifth duplicates an existing lead by email, by name + phone or by name +
    address, or an earlier row; one in ten has an error."""
    lines = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            lines.append(f"X{i},Y,dup{i}@example.com,,,,,,")
        elif kind == 1:
            lines.append(f"P{i},Q,,555{i:07d},,,,,")
        elif kind == 2:
            lines.append(f"A{i},B,,,,{i} Main St,12345,,")
        elif kind == 3:
            lines.append(f"New{i},Lead,new{i}@example.com,,,,,,{'bogus' if i % 10 == 3 else ''}")
        else:
            lines.append(f"New{i - 1},Lead,new{i - 1}@example.com,,,,,,")
    return HEADER + "\n".join(lines) + "\n"


def _existing(sp, n: int) -> None:
    for i in range(0, n, 5):
        LeadFactory(by=sp, first_name=f"X{i}", last_name="Y", email=f"dup{i}@example.com")
        LeadFactory(by=sp, first_name=f"P{i + 1}", last_name="Q", phone=f"555{i + 1:07d}")
        LeadFactory(
            by=sp, first_name=f"A{i + 2}", last_name="B", street=f"{i + 2} Main St", zipcode="12345"
        )


@pytest.mark.parametrize("n", [5, 50])
def test_duplicate_lookup_runs_three_queries_however_many_rows(sp, django_assert_num_queries, n):
    _existing(sp, n)
    candidates = [
        {"email": f"dup{i}@example.com", "first_name": "P", "phone": f"555{i:07d}"}
        for i in range(n)
    ]
    # email, name + phone, name + address (one query per rule for the whole file)
    with django_assert_num_queries(3):
        found = find_duplicates(
            actor=Actor(user=sp),
            candidates=[
                *candidates,
                {"first_name": "A2", "last_name": "B", "street": "2 main st", "zipcode": "12345"},
            ],
        )
    assert found[0].kind == "email" and found[-1].kind == "name_address"


@pytest.mark.parametrize("n", [5, 50])
def test_review_page_query_count_does_not_grow_with_rows(client, sp, django_assert_num_queries, n):
    _existing(sp, n)
    imp = uploaded(client, _rows(n))
    checked = imports.review(actor=Actor(user=sp), imp=imp)
    assert {"new", "duplicate", "error"} == {r.outcome for r in checked.rows}
    assert {r.duplicate.kind for r in checked.rows if r.duplicate} == {
        "email",
        "name_phone",
        "name_address",
    }
    # session, user, the import, statuses, sources, custom fields, then the duplicates:
    # by email, by name + phone, by name + address
    with django_assert_num_queries(9):
        response = client.get(f"/import/{imp.pk}/")
    assert response.status_code == 200


def test_a_batch_that_fails_while_writing_leaves_no_trace(client, sp, monkeypatch):
    """New rows are written in batches, each batch whole or not at all: a failure after the
    batch's leads were inserted (here, a stand-in for a crash) rolls the batch back, and the
    import stays pending, to be run again."""

    def fail(tagged):
        assert Lead.objects.count() == 3  # inserted, not yet committed
        raise RuntimeError("the server went away")

    monkeypatch.setattr(bulk, "_tag_all", fail)
    imp = uploaded(client, "Email,Tags\na@example.com,x\nb@example.com,y\nc@example.com,z\n")
    imp.refresh_from_db()
    with pytest.raises(RuntimeError):
        imports.import_run(actor=Actor(user=sp), imp=imp)
    assert not Lead.objects.exists()
    assert not Event.objects.exists()
    assert not Tag.objects.filter(name__in=["x", "y", "z"]).exists()
    imp.refresh_from_db()
    assert imp.status == "pending"
    monkeypatch.undo()
    run(client, imp)
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    assert sorted(Lead.objects.get(email="b@example.com").tags.values_list("name", flat=True)) == [
        "y"
    ]
    imp.refresh_from_db()
    assert (imp.status, imp.result["created"], imp.result["failures"]) == ("done", 3, [])
