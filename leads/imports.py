"""CSV import of leads (SPEC §8): read the file, guess and check the column mapping, find
duplicates, and write the rows through ``lead_create`` / ``lead_update``, one row at a time.

An import lives in the database (``LeadImport``) between its steps, so any app server can take
the next one: upload (``import_create``), review (``import_review`` and ``import_save``), run
(``import_run``). Only its creator may open it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from crm.domain import Actor, DomainError, NotFound, RuleViolation
from leads import access, rules
from leads.bulk import LeadInput, leads_create_many
from leads.models import ImportStatus, Lead, LeadImport
from leads.selectors import Duplicate, find_duplicates
from leads.services import (
    REQUIRED,
    LeadChoices,
    lead_choices,
    lead_create,
    lead_errors,
    lead_update,
    resolve_lists,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 100
IMPORT_SOURCE = "import"

SKIP, UPDATE, CREATE = "skip", "update", "create"
DECISIONS = {SKIP: "Skip", UPDATE: "Update the existing lead", CREATE: "Create a new lead anyway"}

FULL_NAME, TAGS, CUSTOM = "full_name", "tags", "custom:"
# The lead fields a column can fill, in the order the mapping lists them, with the header names
# (lowercase letters and digits only) that suggest each one.
FIELD_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "first_name": ("First name", ("firstname", "first", "fname", "givenname", "forename")),
    "last_name": ("Last name", ("lastname", "last", "lname", "surname", "familyname")),
    FULL_NAME: ("Full name (first and last)", ("name", "fullname", "contactname", "contact")),
    "email": ("Email", ("email", "emailaddress", "mail", "emailid")),
    "phone": ("Phone", ("phone", "phonenumber", "telephone", "tel", "phoneno", "telephonenumber")),
    "mobile_phone": (
        "Mobile phone",
        ("mobile", "mobilephone", "mobilephonenumber", "mobilenumber", "cell", "cellphone"),
    ),
    "office_phone": (
        "Office phone",
        ("officephone", "officephonenumber", "workphone", "businessphone"),
    ),
    "phone_extension": ("Phone extension", ("phoneextension", "phonenumberextension", "ext")),
    "fax": ("Fax", ("fax", "faxnumber")),
    "company": (
        "Company",
        ("company", "companyname", "organization", "organisation", "account", "accountname"),
    ),
    "title": ("Title", ("title", "jobtitle", "position")),
    "website": ("Website", ("website", "web", "url", "homepage", "site")),
    "industry": ("Industry", ("industry", "sector")),
    "status": ("Status", ("status", "leadstatus")),
    "source": ("Source", ("source", "leadsource")),
    "street": ("Street", ("street", "address", "streetaddress", "address1", "addressline1")),
    "address_2": ("Address line 2", ("address2", "addressline2", "street2")),
    "city": ("City", ("city", "town")),
    "state": ("State", ("state", "province", "region", "stateprovince")),
    "zipcode": ("Zip code", ("zipcode", "zip", "postalcode", "postcode", "postal")),
    "country": ("Country", ("country",)),
    "location": ("Location", ("location",)),
    "message": ("Message", ("message", "comment", "comments", "notes", "note")),
    "description": ("Description", ("description", "details")),
    TAGS: ("Tags", ("tags", "tag", "labels")),
    "external_id": ("External ID", ("externalid", "externalreference")),
    "lead_score": ("Lead score", ("leadscore", "score")),
    "birth_date": ("Birth date", ("birthdate", "birthday", "dateofbirth", "dob")),
}

SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")


def _error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def _squash(text: str) -> str:
    """``"E-mail Address"`` -> ``"emailaddress"``: what a header name is compared by."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


# --- step 1: reading the file -------------------------------------------------------------


@dataclass
class ParsedFile:
    headers: list[str]
    rows: list[list[Any]]  # [spreadsheet row number, [cell, ...]]
    encoding: str


def _decode(raw: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 / Latin-1."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _error("The file is not valid UTF-16 text.") from None
    if b"\x00" in raw or raw.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0")):
        raise _error(
            "This is not a CSV file: it holds binary data. Upload a CSV file (comma-separated "
            "values, a text file)."
        )
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _delimiter(text: str) -> str:
    """Comma, semicolon (spreadsheets in many languages), tab or bar: whichever the first lines
    use. Only the delimiter is sniffed; quoting is always the standard (Excel's)."""
    sample = "\n".join(text[:65536].splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _looks_like_data(cell: str) -> bool:
    cell = cell.strip()
    return "@" in cell or bool(re.fullmatch(r"[+\d\s().-]{5,}", cell))


def read_csv(upload: UploadedFile) -> ParsedFile:
    """The header and rows of an uploaded CSV file; ``ValidationError({"file": ...})`` with a
    message a person can act on when the file can't be imported."""
    name = (upload.name or "").lower()
    if name.endswith(SPREADSHEET_EXTENSIONS):
        raise _error(
            "This is a spreadsheet file, not a CSV file. In your spreadsheet program choose "
            "File > Save as > CSV, and upload that file."
        )
    if upload.size is not None and upload.size > MAX_BYTES:
        raise _error("The file is larger than 5 MB. Split it into smaller files.")
    raw = upload.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise _error("The file is larger than 5 MB. Split it into smaller files.")
    if not raw.strip():
        raise _error("The file is empty.")
    text, encoding = _decode(raw)
    controls = sum(1 for char in text[:65536] if ord(char) < 32 and char not in "\t\r\n")
    if controls > len(text[:65536]) // 100:
        raise _error("This is not a CSV file: it is not plain text.")

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    headers: list[str] | None = None
    rows: list[list[Any]] = []
    number = 0
    try:
        for cells in reader:
            number += 1
            if headers is None:
                if not any(c.strip() for c in cells):
                    raise _error(
                        "The first line is empty. It must name the columns, for example: "
                        "First name,Last name,Email."
                    )
                headers = [c.strip() or f"Column {i + 1}" for i, c in enumerate(cells)]
                continue
            if not any(c.strip() for c in cells):
                continue  # blank lines are nobody's lead
            if len(rows) >= MAX_ROWS:
                raise _error(
                    f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."
                )
            rows.append([number, cells])
    except csv.Error as exc:
        raise _error(
            f"The file could not be read as CSV (line {reader.line_num}): {exc}."
        ) from None
    if headers is None:
        raise _error("The file is empty.")
    data_like = [h for h in headers if _looks_like_data(h)]
    if data_like:
        raise _error(
            f"The first line looks like a lead (“{data_like[0]}”), not column names. Add a "
            "first line naming the columns, for example: First name,Last name,Email."
        )
    if len(headers) > MAX_COLUMNS:
        raise _error(f"The file has more than {MAX_COLUMNS} columns.")
    if not rows:
        raise _error("The file names its columns but has no rows to import.")
    return ParsedFile(headers=headers, rows=rows, encoding=encoding)


def import_create(*, actor: Actor, upload: UploadedFile) -> LeadImport:
    """Read an uploaded CSV file and keep it, with a guessed mapping, for its review."""
    parsed = read_csv(upload)
    targets = mapping_targets(lead_choices())
    imp = LeadImport(
        created_by=actor.user,
        file_name=(upload.name or "upload.csv")[:255],
        encoding=parsed.encoding,
        headers=parsed.headers,
        rows=parsed.rows,
        mapping=guess_mapping(parsed.headers, targets),
    )
    imp.save()
    return imp


# --- step 2: mapping, checks, duplicates --------------------------------------------------


def mapping_targets(choices: LeadChoices) -> dict[str, str]:
    """What a column can fill, value -> label: the lead fields, then the active custom fields
    (``custom:<system name>``). The empty value ignores the column."""
    targets = {value: label for value, (label, _) in FIELD_TARGETS.items()}
    for name, custom in choices.fields.items():
        targets[CUSTOM + name] = custom.label
    return targets


def column_targets(choices: LeadChoices | None = None) -> dict[str, str]:
    """``mapping_targets`` of the lead fields and custom fields as they are now."""
    return mapping_targets(choices or lead_choices())


def guess_mapping(headers: list[str], targets: dict[str, str]) -> list[str]:
    """A target per header, from its name ("First Name", "first_name", "E-mail"...); each
    target at most once, for its first column."""
    known: dict[str, str] = {}
    for value, label in targets.items():
        names = FIELD_TARGETS[value][1] if value in FIELD_TARGETS else ()
        for name in (*names, _squash(label), _squash(value.removeprefix(CUSTOM))):
            known.setdefault(name, value)
    mapping: list[str] = []
    for header in headers:
        target = known.get(_squash(header), "")
        mapping.append(target if target not in mapping else "")
    return mapping


def check_mapping(mapping: list[str], targets: dict[str, str]) -> None:
    """Each column fills a known target, and no target is filled by two columns; errors are
    keyed by column index."""
    errors: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for index, target in enumerate(mapping):
        if not target:
            continue
        if target not in targets:
            errors[str(index)] = ["Choose a field from the list."]
        elif target in seen:
            errors[str(index)] = [f"“{targets[target]}” is already chosen for another column."]
        seen.setdefault(target, index)
    if errors:
        raise ValidationError(errors)


@dataclass
class Row:
    """One row of the file as it would be imported."""

    number: int
    cells: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duplicate: Duplicate | None = None
    duplicate_of_row: int | None = None  # the spreadsheet number of an earlier row it repeats
    can_update: bool = False
    decision: str = CREATE

    @property
    def outcome(self) -> str:
        return "error" if self.errors else "duplicate" if self.duplicate else "new"

    @property
    def label(self) -> str:
        name = " ".join(str(self.data.get(f, "")) for f in ("first_name", "last_name")).strip()
        return name or str(self.data.get("email") or self.data.get("company") or "(no name)")


@dataclass
class Review:
    """A file checked against a mapping: every row with its values, errors and duplicate."""

    headers: list[str]
    mapping: list[str]
    targets: dict[str, str]
    rows: list[Row]

    @property
    def new(self) -> list[Row]:
        return [r for r in self.rows if r.outcome == "new"]

    @property
    def duplicates(self) -> list[Row]:
        return [r for r in self.rows if r.outcome == "duplicate"]

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.outcome == "error"]


def _build(row: Row, mapping: list[str], headers: list[str], choices: LeadChoices) -> None:
    if len(row.cells) > len(headers) and any(c.strip() for c in row.cells[len(headers) :]):
        row.errors.append(
            f"This row has {len(row.cells)} cells but the first line names {len(headers)} columns."
        )
    for index, target in enumerate(mapping):
        value = row.cells[index].strip() if index < len(row.cells) else ""
        if not target or not value:
            continue
        if target == FULL_NAME:
            first, last = rules.split_full_name(value)
            row.data.setdefault("first_name", first)
            if last:
                row.data.setdefault("last_name", last)
        elif target == TAGS:
            row.tags = rules.split_tags(value)
        elif target.startswith(CUSTOM):
            row.custom[target.removeprefix(CUSTOM)] = value
        else:
            row.data[target] = value
    if not (row.data or row.custom or row.tags):
        row.errors.append("Nothing to import: the columns chosen are empty in this row.")
    for name in rules.missing_contact_fields(rules.CSV_IMPORT, row.data, creating=True):
        row.errors.append(f"{FIELD_TARGETS[name][0]}: {REQUIRED}")
    row.data = resolve_lists(row.data, choices)  # a status or source by label, by its key


def _labelled(errors: dict[str, list[str]], targets: dict[str, str]) -> list[str]:
    def label(name: str) -> str:
        return (
            targets.get(name) or targets.get(CUSTOM + name) or name.replace("_", " ").capitalize()
        )

    return [
        f"{label(name)}: {message}" for name, messages in errors.items() for message in messages
    ]


def review(
    *,
    actor: Actor,
    imp: LeadImport,
    mapping: list[str] | None = None,
    decisions: dict | None = None,
    choices: LeadChoices | None = None,
) -> Review:
    """Check every row of the import against ``mapping`` (its saved one by default): the values
    each row gives, what ``lead_create`` would refuse, and what it duplicates (existing leads
    the actor may see, or an earlier row), with the choice made for each duplicate (``decisions``
    by row number, else the saved ones; Skip by default). Six queries for any number of rows;
    three when given the ``choices`` (``lead_choices``)."""
    choices = choices or lead_choices()
    targets = mapping_targets(choices)
    mapping = list(mapping if mapping is not None else imp.mapping)
    mapping += [""] * (len(imp.headers) - len(mapping))
    decisions = {
        str(k): v for k, v in (decisions if decisions is not None else imp.decisions).items()
    }
    rows = [Row(number=number, cells=[str(c) for c in cells]) for number, cells in imp.rows]
    for row in rows:
        _build(row, mapping, imp.headers, choices)
        if not row.errors:
            found = lead_errors(
                data=row.data, custom=row.custom, creating=True, choices=choices, tags=row.tags
            )
            row.errors = _labelled(found, targets)
    duplicates = find_duplicates(
        actor=actor, candidates=[None if row.errors else row.data for row in rows]
    )
    for row, duplicate in zip(rows, duplicates, strict=True):
        if duplicate is None:
            continue
        row.duplicate = duplicate
        if duplicate.lead is not None:
            row.can_update = access.can_edit(actor, duplicate.lead)
        else:
            row.duplicate_of_row = rows[duplicate.row].number
            row.can_update = True
        wanted = decisions.get(str(row.number), SKIP)
        row.decision = (
            wanted if wanted in DECISIONS and (wanted != UPDATE or row.can_update) else SKIP
        )
    return Review(headers=imp.headers, mapping=mapping, targets=targets, rows=rows)


def import_for_actor(actor: Actor, pk: int) -> LeadImport:
    """The actor's own import; ``NotFound`` for anyone else's (as if it did not exist)."""
    found = LeadImport.objects.filter(pk=pk, created_by_id=actor.user_id).first()
    if actor.user_id is None or found is None:
        raise NotFound("Import not found.", code="import_not_found")
    return found


def recent_imports(actor: Actor, *, limit: int = 10) -> QuerySet[LeadImport]:
    return (
        LeadImport.objects.filter(created_by_id=actor.user_id)
        .defer("rows", "headers", "mapping", "decisions")
        .order_by("-created_at", "-id")[:limit]
    )


def _check_pending(imp: LeadImport) -> None:
    if imp.status != ImportStatus.PENDING:
        raise RuleViolation("This file was already imported.", code="import_done")


def import_save(
    *, actor: Actor, imp: LeadImport, mapping: list[str], decisions: dict
) -> LeadImport:
    """Keep the mapping and the duplicate choices the user made, for the next look or the run."""
    _check_pending(imp)
    check_mapping(mapping, mapping_targets(lead_choices()))
    imp.mapping = mapping
    imp.decisions = {str(k): v for k, v in decisions.items() if v in DECISIONS}
    imp.save(update_fields=["mapping", "decisions"])
    return imp


def import_discard(*, actor: Actor, imp: LeadImport) -> str:
    """Throw away an import waiting for review: the stored file (its rows) is deleted. Returns
    the file's name. An imported file stays (its result page lists what it did)."""
    _check_pending(imp)
    if imp.created_by_id != actor.user_id:
        raise NotFound("Import not found.", code="import_not_found")
    name = imp.file_name
    LeadImport.objects.filter(pk=imp.pk, status=ImportStatus.PENDING).delete()
    return name


# An import nobody imported is kept this long for its review, then deleted (the worker's
# housekeeping, ``crm.housekeeping``; or ``manage.py prune_imports``).
PENDING_KEEP = timedelta(days=7)


def imports_prune(*, now: datetime | None = None) -> int:
    """Delete the imports waiting for review longer than ``PENDING_KEEP`` (their stored rows
    hold people's data nobody decided to import); how many were deleted."""
    cutoff = (now or timezone.now()) - PENDING_KEEP
    stale = LeadImport.objects.filter(status=ImportStatus.PENDING, created_at__lt=cutoff)
    deleted, _ = stale.delete()
    return deleted


# --- step 3: the run ----------------------------------------------------------------------

FAILURES_KEPT = 500
ROWS_PER_COMMIT = 200
CREATES_PER_BATCH = 500


def _messages(exc: ValidationError | DomainError, targets: dict[str, str]) -> list[str]:
    if isinstance(exc, DomainError):
        return [exc.message]
    if hasattr(exc, "error_dict"):
        return _labelled(exc.message_dict, targets)
    return list(exc.messages)


def import_run(*, actor: Actor, imp: LeadImport, decisions: dict | None = None) -> dict:
    """Import the rows with the saved mapping and the duplicate choices (``decisions`` by row
    number, else the saved ones): new rows and "create" duplicates through ``lead_create``
    (owned by the actor, source "import" unless a column gives one), "update" duplicates
    through ``lead_update`` (the file's non-empty values overwrite; tags are added); "skip"
    and rows with errors are left out. Each row is written whole or not at all. Returns the
    counts, also kept on the import."""
    if decisions is not None:
        import_save(actor=actor, imp=imp, mapping=imp.mapping, decisions=decisions)
    # Claim the import: a second run (a double click, another tab) finds it no longer pending.
    claimed = LeadImport.objects.filter(pk=imp.pk, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING
    )
    if not claimed:
        raise RuleViolation("This file was already imported.", code="import_done")
    started = timezone.now()
    try:
        result = _run(actor, imp)
    except BaseException:
        LeadImport.objects.filter(pk=imp.pk).update(status=ImportStatus.PENDING)
        raise
    result["started_at"] = started.isoformat()
    imp.status = ImportStatus.DONE
    imp.result = result
    imp.finished_at = timezone.now()
    imp.save(update_fields=["status", "result", "finished_at"])
    return result


def _run(actor: Actor, imp: LeadImport) -> dict:
    """New rows and "create" duplicates are written in batches through the batch service (set
    operations: one insert of the leads, their events and their tags per batch); then the
    "skip" and "update" duplicates, in row order, each "update" through ``lead_update`` in a
    savepoint of its own. A duplicate of an earlier row stands for the lead that row made."""
    checked = review(actor=actor, imp=imp)
    outcome = _Outcome()
    lead_of_row: dict[int, Lead] = {}  # index -> the lead a row stands for, once run
    creates: list[tuple[int, Row]] = []
    later: list[tuple[int, Row]] = []
    for index, row in enumerate(checked.rows):
        if row.errors:
            outcome.fail(row, row.errors)
        elif row.duplicate is not None and row.decision in (SKIP, UPDATE):
            later.append((index, row))
        else:
            creates.append((index, row))
    for start in range(0, len(creates), CREATES_PER_BATCH):
        _create_rows(actor, creates[start : start + CREATES_PER_BATCH], lead_of_row, outcome,
                     checked.targets)  # fmt: skip
    for start in range(0, len(later), ROWS_PER_COMMIT):
        with transaction.atomic():  # one commit per row is slow; each row has a savepoint
            for index, row in later[start : start + ROWS_PER_COMMIT]:
                _run_row(actor, index, row, lead_of_row, outcome, checked.targets)
    return {
        **outcome.counts,
        "failures": sorted(outcome.failures, key=lambda f: f["row"])[:FAILURES_KEPT],
        "created_ids": outcome.created,
        "updated_ids": sorted(set(outcome.updated)),
    }


def _create_rows(
    actor: Actor,
    rows: list[tuple[int, Row]],
    lead_of_row: dict[int, Lead],
    outcome: _Outcome,
    targets: dict[str, str],
) -> None:
    items = [
        LeadInput(data={"source": IMPORT_SOURCE, **row.data}, custom=row.custom, tags=row.tags)
        for _index, row in rows
    ]
    results = leads_create_many(actor=actor, items=items, refuse_duplicates=False)
    for (index, row), result in zip(rows, results, strict=True):
        if not result.ok:
            errors = _labelled(result.errors, targets) if result.errors else [result.message]
            outcome.fail(row, errors)
            continue
        outcome.counts["created"] += 1
        outcome.created.append(result.lead.pk)
        lead_of_row[index] = result.lead


@dataclass
class _Outcome:
    counts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
    )
    failures: list[dict] = field(default_factory=list)
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)

    def fail(self, row: Row, errors: list[str]) -> None:
        self.counts["failed"] += 1
        self.failures.append({"row": row.number, "errors": errors})


def _run_row(
    actor: Actor,
    index: int,
    row: Row,
    lead_of_row: dict[int, Lead],
    outcome: _Outcome,
    targets: dict[str, str],
) -> None:
    if row.errors:
        outcome.fail(row, row.errors)
        return
    duplicate = row.duplicate
    target = None
    if duplicate is not None:
        target = duplicate.lead or lead_of_row.get(duplicate.row)
        if row.decision == SKIP:
            outcome.counts["skipped"] += 1
            if target is not None:
                lead_of_row[index] = target
            return
    updating = row.decision == UPDATE and target is not None
    try:
        with transaction.atomic():  # a row is written whole or not at all
            if updating:
                tags = None
                if row.tags:
                    tags = sorted({*target.tags.values_list("name", flat=True), *row.tags})
                lead = lead_update(
                    actor=actor, lead=target, data=row.data, custom=row.custom, tags=tags
                )
            else:
                data = {"source": IMPORT_SOURCE, **row.data}
                lead = lead_create(actor=actor, data=data, custom=row.custom, tags=row.tags)
    except (ValidationError, DomainError) as exc:
        if updating:
            target.refresh_from_db()  # the refused write may have changed the instance
        outcome.fail(row, _messages(exc, targets))
        return
    outcome.counts["updated" if updating else "created"] += 1
    (outcome.updated if updating else outcome.created).append(lead.pk)
    lead_of_row[index] = lead


def imported_leads(*, actor: Actor, imp: LeadImport, limit: int = 50) -> list[Lead]:
    """The leads the run created or updated that the actor may see, newest first."""
    ids = {*imp.result.get("created_ids", []), *imp.result.get("updated_ids", [])}
    newest = sorted(ids, reverse=True)[:limit]
    return list(
        access.visible_leads(actor)
        .filter(pk__in=newest)
        .select_related("status", "owner")
        .order_by("-pk")
    )
