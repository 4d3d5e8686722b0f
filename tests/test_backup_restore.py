"""The README's "Backup and restore", done on this machine: a database populated through the
services (leads with custom fields and tags, notes, appointments, a task, a file with its bytes
on disk, a soft-deleted lead, and the timeline events of all of it) is backed up and restored
into a new database and a new folder by the README's two blocks, run as they are written, on the
database the suite runs on (PostgreSQL: pg_dump and pg_restore into a database made for the test;
SQLite: backup_sqlite and restore_sqlite into a new file). Django then opens the restored
database as a second connection and finds every row of every table unchanged, the leads, notes,
appointments, files and events through the models, and each file's bytes in the restored folder.

Each block's lines are run in one bash: every line for both databases and each line marked for
the one under test, but `systemctl` (no services here) and `su postgres` (the test's role makes
the new database instead); `crm` is the test's own (the app's environment, as the current user),
and the test's folders stand in for `/srv/crm/app` and `/var/backups/crm`. So the test follows
the README as it is and fails when its commands change shape."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection, connections
from django.db.utils import load_backend
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from appointments.services import appointment_cancel
from crm.domain import Actor
from crm.roles import Role
from leads.models import Event, EventType, Field, Lead, LeadFile, LeadNote, Tag, Task
from leads.services import (
    field_create,
    lead_delete,
    lead_file_attach,
    lead_update,
    note_delete,
    task_create,
)
from tests.deploy_env import ROOT, production_env
from tests.factories import AppointmentFactory, LeadFactory, NoteFactory, UserFactory

README = ROOT / "README.md"
SECTION = "### Backup and restore"
APP, BACKUPS = "/srv/crm/app", "/var/backups/crm"
# Lines the test does not run: root's tools for what this machine does its own way.
NOT_RUN = ("systemctl ", "su postgres ")
VENDOR_MARK = re.compile(r"\s+# (PostgreSQL|SQLite)$")
VENDORS = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
RESTORED = "restored"  # the second connection's alias

# Bytes no text codec would keep: every byte value, a NUL first.
FILE_BYTES = bytes(range(256)) * 40 + b"\x00end of the quote"

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def readme_blocks() -> list[str]:
    """The ```sh blocks of the README's "Backup and restore" subsection: back up, restore."""
    text = README.read_text()
    assert text.count(SECTION + "\n") == 1, f"README.md has no single {SECTION!r}"
    section = text.split(SECTION + "\n", 1)[1]
    section = re.split(r"^#{2,3} ", section, maxsplit=1, flags=re.MULTILINE)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 2, f"{SECTION} should have two sh blocks (back up, restore): {blocks}"
    return blocks


def lines_for(block: str, vendor: str) -> tuple[list[str], list[str]]:
    """The block's lines for ``vendor`` without their marks: those to run, those not run."""
    run, not_run = [], []
    for line in block.splitlines():
        marked = VENDOR_MARK.search(line)
        if marked and marked.group(1) != VENDORS[vendor]:
            continue
        line = VENDOR_MARK.sub("", line)
        (not_run if line.startswith(NOT_RUN) else run).append(line)
    return run, not_run


def run_block(lines: list[str], machine: Path, backups: Path, env: dict[str, str]) -> str:
    """The lines in one bash, stopping at the first that fails, with the test's folders for
    the machine's app folder and the backups, and ``crm``: the command in the app's
    environment (``env``), from the app's code."""
    script = "\n".join(lines)
    for placeholder in (APP, BACKUPS):
        assert placeholder in script, f"{placeholder} is not in the README's commands"
    script = script.replace(APP, str(machine)).replace(BACKUPS, str(backups))
    script = script.replace("crm .venv/bin/python ", f"crm {sys.executable} ")
    done = subprocess.run(
        ["bash", "-c", 'set -euo pipefail\ncrm() { "$@"; }\n' + script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, f"{script}\n---\n{said}"
    return said


def database_url(settings_dict: dict) -> str:
    """The URL of a database Django has open (the app's DATABASE_URL for it)."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings_dict['NAME']}"
    user, password = (urllib.parse.quote(settings_dict[k], safe="") for k in ("USER", "PASSWORD"))
    host, port = settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{settings_dict['NAME']}"


@contextmanager
def second_database(settings_dict: dict) -> Iterator[None]:
    """The restored database as Django's connection ``RESTORED`` (made here, not named in the
    settings, so the test case lets it connect), closed and forgotten after."""
    connections[RESTORED] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(
        settings_dict, RESTORED
    )
    try:
        yield
    finally:
        connections[RESTORED].close()
        del connections[RESTORED]


@contextmanager
def new_postgresql_database(name: str) -> Iterator[None]:
    """An empty database owned by the test's role, as the README's `createdb -O crm crm`."""
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def populate(media: Path) -> dict:
    """A CRM in use, every row written by the services."""
    manager = UserFactory(username="a-sales-manager", role=Role.SALES_MANAGER)
    salesperson = UserFactory(username="a-salesperson", role=Role.SALESPERSON)
    by_manager, by_salesperson = Actor(user=manager), Actor(user=salesperson)
    fields = {
        "seats": field_create(label="Seats", data_type="number"),
        "renewal": field_create(label="Renewal", data_type="date"),
        "plan": field_create(label="Plan", data_type="picklist", options=["basic", "pro"]),
        "vip": field_create(label="VIP", data_type="boolean"),
        "motto": field_create(label="Motto"),
    }
    given = {"seats": "12", "renewal": "2027-03-01", "plan": "pro", "vip": "yes"}
    given["motto"] = "Zoë's café, naïve: 100 %"
    custom = {fields[key].system_name: value for key, value in given.items()}
    leads = [
        LeadFactory(by=manager, owner=salesperson, custom=custom, company="Analytical Engines"),
        LeadFactory(by=salesperson, first_name="Grace", city="Zürich"),
        LeadFactory(by=manager, owner=manager, assignee=salesperson),
    ]
    lead_update(
        actor=by_manager, lead=leads[1], data={"status": "contact"}, tags=["vip", "Q3 Ünïcode"]
    )
    notes = [NoteFactory(lead=leads[0], by=salesperson, text=f"Call {n}: a quote") for n in (1, 2)]
    note_delete(actor=by_salesperson, note=notes[1])
    first = AppointmentFactory(lead=leads[0], by=salesperson, note="Demo")
    AppointmentFactory(lead=leads[2], by=manager, host=salesperson)
    appointment_cancel(actor=by_salesperson, appointment=first, reason="The lead is away")
    task_create(
        actor=by_salesperson, title="Send the quote", due=timezone.now() + timedelta(days=2),
        lead=leads[0],
    )  # fmt: skip
    attached = lead_file_attach(
        actor=by_salesperson, lead=leads[0], name="C:\\quotes\\quote.pdf", content=FILE_BYTES
    )
    assert (media / attached.file.name).read_bytes() == FILE_BYTES
    lead_delete(actor=by_manager, lead=leads[2])
    # As they are stored: typed by their fields.
    stored = {**given, "seats": 12, "vip": True}
    stored = {fields[key].system_name: value for key, value in stored.items()}
    assert Lead.objects.get(pk=leads[0].pk).custom_fields == stored
    return {"leads": leads, "custom": stored, "file": attached}


def table_rows(alias: str) -> dict[str, list[tuple]]:
    """Every row of every table of the database, in a stable order (sequence of SQLite's
    AUTOINCREMENT and PostgreSQL's sequences included)."""
    db = connections[alias]
    found = {}
    with db.cursor() as cursor:
        tables = db.introspection.table_names(cursor)
        if db.vendor == "sqlite":
            tables.append("sqlite_sequence")
        for table in tables:
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")
            found[table] = sorted(cursor.fetchall(), key=repr)
        if db.vendor == "postgresql":
            cursor.execute("SELECT sequencename, last_value FROM pg_sequences")
            found["pg_sequences"] = sorted(cursor.fetchall())
    return found


def schema(alias: str) -> dict:
    """The database's indexes, constraints, triggers, functions and extensions."""
    db = connections[alias]
    with db.cursor() as cursor:
        found = {
            table: db.introspection.get_constraints(cursor, table)
            for table in db.introspection.table_names(cursor)
        }
        if db.vendor == "sqlite":
            cursor.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")
            found["sqlite_master"] = cursor.fetchall()
        else:
            cursor.execute(
                "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal ORDER BY 1, 2"
            )
            found["triggers"] = cursor.fetchall()
            cursor.execute(
                "SELECT proname, pg_get_function_identity_arguments(oid), prosrc FROM pg_proc "
                "WHERE pronamespace = 'public'::regnamespace ORDER BY 1, 2"
            )
            found["functions"] = cursor.fetchall()
            cursor.execute("SELECT extname, extversion FROM pg_extension ORDER BY 1")
            found["extensions"] = cursor.fetchall()
    return found


def test_the_readme_backup_restores_every_lead_note_appointment_file_and_event(tmp_path, settings):
    vendor = connection.vendor
    tools = ("pg_dump", "pg_restore") if vendor == "postgresql" else ()
    for tool in tools:
        assert shutil.which(tool), f"{tool} is needed: apt-get install postgresql-client"
    backup_block, restore_block = readme_blocks()
    machine, new_machine, backups = tmp_path / "app", tmp_path / "new-app", tmp_path / "backups"
    backups.mkdir()
    new_machine.mkdir()  # the new machine's clone of the app, without media/ yet
    settings.MEDIA_ROOT = machine / "media"
    world = populate(settings.MEDIA_ROOT)

    original = connection.settings_dict
    restored = {**original, "NAME": f"{original['NAME']}_restored"}
    if vendor == "sqlite":
        # A database is there already (the machine's own, or what Deploy made): the restore
        # replaces all of it.
        restored["NAME"] = str(new_machine / "db.sqlite3")
        with closing(sqlite3.connect(restored["NAME"])) as before, before:
            before.execute("PRAGMA journal_mode=WAL")
            before.execute("CREATE TABLE leads_lead (id integer, kept text)")
            before.execute("INSERT INTO leads_lead VALUES (1, 'a row the backup does not have')")

    # Back up the database the suite runs on, then restore on the "new machine".
    run, not_run = lines_for(backup_block, vendor)
    assert not_run == []
    env = production_env(tmp_path, DATABASE_URL=database_url(original))
    run_block(run, machine, backups, env)
    assert {p.name for p in backups.iterdir()} == {
        "crm.dump" if vendor == "postgresql" else "crm.sqlite3",
        "media.tar.gz",
    }

    run, not_run = lines_for(restore_block, vendor)
    expected_not_run = ["systemctl stop crm-web crm-worker", "systemctl start crm-web crm-worker"]
    if vendor == "postgresql":
        expected_not_run.insert(1, next(line for line in not_run if "createdb -O crm" in line))
    assert not_run == expected_not_run
    env = production_env(tmp_path, DATABASE_URL=database_url(restored))
    with (
        new_postgresql_database(restored["NAME"]) if vendor == "postgresql" else nullcontext(),
        second_database(restored),
    ):
        said = run_block(run, new_machine, backups, env)
        # The restored database has every migration of the code: migrate had none to apply.
        assert "No migrations to apply." in said, said

        # Django finds every lead, note, appointment, file and event, field by field.
        for model in (Lead, Field, Tag, LeadNote, Appointment, Task, LeadFile, Event):
            originals = list(model.objects.order_by("pk").values())
            assert originals, f"the populated database has no {model.__name__}"
            assert list(model.objects.using(RESTORED).order_by("pk").values()) == originals
        leads = Lead.objects.using(RESTORED).in_bulk([lead.pk for lead in world["leads"]])
        for lead in world["leads"]:
            assert leads[lead.pk].slug == lead.slug
        assert leads[world["leads"][0].pk].custom_fields == world["custom"]
        deleted = leads[world["leads"][2].pk]
        assert deleted.is_deleted and deleted.status_before_delete_id == "prospect"
        assert Lead.objects.using(RESTORED).alive().count() == 2
        tags = leads[world["leads"][1].pk].tags.values_list("name", flat=True)
        assert sorted(tags) == ["Q3 Ünïcode", "vip"]
        assert LeadNote.objects.using(RESTORED).filter(deleted_at__isnull=False).count() == 1
        statuses = Appointment.objects.using(RESTORED).values_list("status", flat=True)
        assert sorted(statuses) == sorted([AppointmentStatus.CANCELLED, AppointmentStatus.PENDING])
        restored_file = LeadFile.objects.using(RESTORED).get(pk=world["file"].pk)
        assert (restored_file.name, restored_file.size) == ("quote.pdf", len(FILE_BYTES))
        assert (new_machine / "media" / restored_file.file.name).read_bytes() == FILE_BYTES
        types = set(Event.objects.using(RESTORED).values_list("type", flat=True))
        assert {EventType.CREATED, EventType.NOTE_DELETED, EventType.FILE_ATTACHED} <= types
        assert {EventType.DELETED, EventType.APPOINTMENT_CREATED, EventType.TASK_CREATED} <= types

        # And every other row, index, constraint and trigger (the rollups, the search column).
        rows = table_rows(RESTORED)
        assert rows == table_rows("default")
        for model in apps.get_models(include_auto_created=True):
            if not model._meta.proxy and model._meta.managed:
                assert model._meta.db_table in rows
        assert schema(RESTORED) == schema("default")


def manage(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def refused(command: subprocess.Popen) -> str:
    said, _ = command.communicate(timeout=60)
    assert command.returncode == 1, said
    return said


def test_the_sqlite_commands_refuse_another_database_and_a_missing_one(tmp_path):
    """backup_sqlite and restore_sqlite on a PostgreSQL DATABASE_URL (pg_dump's job), and
    backup_sqlite of a database file that is not there, which it does not create."""
    copy = str(tmp_path / "crm.sqlite3")
    postgresql = production_env(tmp_path, DATABASE_URL="postgres://crm:secret@127.0.0.1:1/crm")
    missing = production_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    commands = [manage(postgresql, name, copy) for name in ("backup_sqlite", "restore_sqlite")]
    absent = manage(missing, "backup_sqlite", copy)
    for command in commands:
        said = refused(command)
        assert "DATABASE_URL names a postgresql database, not SQLite" in said
        assert "pg_dump" in said
    assert f"No database file at {tmp_path / 'db.sqlite3'}." in refused(absent)
    assert list(tmp_path.iterdir()) == []
