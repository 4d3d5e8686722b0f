"""One lead inserted or updated with everything that comes with it (the ``lead_set`` command,
seed 003, SPEC §6): the lead named by id or external id, or the one lead duplicate matching
finds, or a new lead; then its notes, its follow-up and a file. All in one transaction: any
refusal writes nothing, and a file already stored is removed from storage again.

Refusals are the domain's, for the adapter to word: ``ValidationError`` keyed by lead field,
custom field, a note's key, ``FOLLOWUP`` or ``UPLOAD_NAME`` / ``UPLOAD_CONTENT``; ``NotFound``
for a lead that is not there (or not visible); ``RuleViolation`` with ``REFERENCE_REQUIRED``
or ``AMBIGUOUS`` (``Ambiguous.matches``); and whatever the services called refuse, their
``field`` renamed the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from crm.domain import Actor, DomainError, NotFound, RuleViolation
from leads.access import lead_for_actor
from leads.bulk import lock_emails
from leads.models import Lead, LeadFile
from leads.selectors import duplicate_leads, leads_with_external_id
from leads.services import (
    LeadChoices,
    lead_choices,
    lead_create,
    lead_errors,
    lead_file_attach,
    lead_followup_set,
    lead_update,
    note_create,
)

INSERT, UPDATE = "insert", "update"
LISTED_MATCHES = 20  # the ids an ambiguous match lists, oldest first
REFERENCE_REQUIRED = "lead_reference_required"
AMBIGUOUS = "ambiguous_lead"
# What a step's errors are keyed by: the command's names for what the step was given.
FOLLOWUP = "followup_date"
UPLOAD_NAME, UPLOAD_CONTENT = "upload_name", "upload_content"


class Ambiguous(RuleViolation):
    """Several leads fit the command; ``matches`` holds the first ids, oldest first."""

    def __init__(self, message: str, *, matches: list[int]) -> None:
        super().__init__(message, code=AMBIGUOUS)
        self.matches = matches


@dataclass
class LeadUpsert:
    """What to write, already read from the wire: ``data`` as ``lead_create`` / ``lead_update``
    take it (status and source by key, the owner as a user), custom values by system name,
    ``tags`` (None: leave them), notes as ``(key, text)`` (``key`` names the note in errors),
    the follow-up date (``followup_given``; None clears it) and a file ``(name, bytes)``.

    ``mode`` ``UPDATE`` names the lead by ``lead_id`` or else ``data["external_id"]``;
    ``INSERT`` with ``match_kinds`` (``selectors.DUPLICATE_KINDS``) updates the one lead they
    match, if any."""

    mode: str
    lead_id: int | None = None
    match_kinds: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[str] | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)
    followup_given: bool = False
    followup: dt.datetime | None = None
    upload: tuple[str, bytes] | None = None

    @property
    def external_id(self) -> str:
        return self.data.get("external_id") or ""


def upsert_errors(command: LeadUpsert, choices: LeadChoices) -> dict[str, list[str]]:
    """What the services would refuse in the command's values, found without a query or a
    write (``lead_errors``), taking an insert for a new lead."""
    return lead_errors(
        data=command.data,
        custom=command.custom,
        creating=command.mode == INSERT,
        choices=choices,
        tags=command.tags,
    )


def find_target(actor: Actor, command: LeadUpsert) -> Lead | None:
    """The lead to update: by lead_id, else by external_id (mode update), or the one lead
    duplicate matching finds (mode insert with ``match_kinds``); None: insert."""
    if command.mode == UPDATE:
        if command.lead_id is not None:
            try:
                return lead_for_actor(actor, pk=command.lead_id)
            except NotFound:
                raise NotFound("No lead has this lead_id.", code="lead_not_found") from None
        if not command.external_id:
            raise RuleViolation(
                "mode=update needs lead_id or external_id.", code=REFERENCE_REQUIRED
            )
        leads = leads_with_external_id(
            actor=actor, external_id=command.external_id, limit=LISTED_MATCHES + 1
        )
        if not leads:
            raise NotFound("No lead has this external_id.", code="lead_not_found")
        if len(leads) > 1:
            raise Ambiguous(
                "Several leads have this external_id; update one by its lead_id.",
                matches=[lead.pk for lead in leads[:LISTED_MATCHES]],
            )
        return leads[0]
    if not command.match_kinds:
        return None
    email = str(command.data.get("email") or "").strip().lower()
    if email:
        # Two calls matching on one email at the same moment: the second waits for the first
        # to commit, then finds (and updates) the lead it made.
        lock_emails({email})
    found = duplicate_leads(actor=actor, values=command.data, kinds=command.match_kinds)
    if len(found) > 1:
        raise Ambiguous(
            f"{len(found)} leads match; nothing was written. Update one by its lead_id.",
            matches=[lead.pk for lead in found[:LISTED_MATCHES]],
        )
    return found[0] if found else None


def lead_upsert(
    *, actor: Actor, command: LeadUpsert, choices: LeadChoices | None = None
) -> tuple[Lead, bool]:
    """Carry out the command in one transaction; returns the lead and whether it is new.
    ``choices`` (``lead_choices()``) saves their queries when the caller has them."""
    stored: list[LeadFile] = []
    try:
        with transaction.atomic():
            return _upsert(actor, command, choices or lead_choices(), stored)
    except BaseException:
        for lead_file in stored:  # the database rolled back; the stored bytes go too
            lead_file.file.storage.delete(lead_file.file.name)
        raise


def _upsert(
    actor: Actor, command: LeadUpsert, choices: LeadChoices, stored: list[LeadFile]
) -> tuple[Lead, bool]:
    target = find_target(actor, command)
    errors = lead_errors(
        data=command.data,
        custom=command.custom,
        creating=target is None,
        choices=choices,
        tags=command.tags,
    )
    if errors:
        raise ValidationError(errors)
    values = {"data": command.data, "custom": command.custom, "tags": command.tags}
    if target is None:
        lead = lead_create(actor=actor, **values)
    else:
        lead = lead_update(actor=actor, lead=target, **values)
    for key, text in command.notes:
        with _keyed({"text": key}):
            note_create(actor=actor, lead=lead, text=text)
    if command.followup_given:
        lead_followup_set(actor=actor, lead=lead, when=command.followup)
    if command.upload is not None:
        name, content = command.upload
        with _keyed({"name": UPLOAD_NAME, "file": UPLOAD_CONTENT}):
            stored.append(lead_file_attach(actor=actor, lead=lead, name=name, content=content))
    return lead, target is None


@contextmanager
def _keyed(names: dict[str, str]) -> Iterator[None]:
    """A step's refusals keyed by ``names`` (the step's field -> the command's name)."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        keyed: dict[str, list[str]] = {}
        for name, messages in exc.message_dict.items():
            keyed.setdefault(names.get(name, name), []).extend(messages)
        raise ValidationError(keyed) from None
    except DomainError as exc:
        exc.field = names.get(exc.field or "", exc.field)
        raise
