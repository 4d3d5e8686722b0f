"""The lead page and the lead create and edit forms (SPEC §8).

The lead page is one template, ``leads/detail.html``, whose parts are fragments: details (with
inline edit), status and people, notes, the activity timeline, and the appointments section.
Every action calls one service; with HTMX it answers the fragment it changed and refreshes the
parts that show the same data out of band, without HTMX it redirects back (PRG) with a message.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from appointments.views import lead_section_context
from crm.domain import DomainError, Forbidden, NotFound
from crm.web import (
    INVALID,
    AuthedRequest,
    actor_of,
    add_domain_errors,
    ask_first,
    is_fragment,
    json_download,
    plain,
    render_page,
)
from leads import access, bulk, privacy, selectors, services
from leads.forms import (
    LEAD_FIELD_GROUPS,
    CallForm,
    FileForm,
    LeadForm,
    NoteForm,
    PeopleForm,
    StatusForm,
    TaskForm,
    field_label,
    people_choices,
    source_choices,
    status_choices,
)
from leads.models import DataType, Lead
from leads.views.common import lead_or_404, new_task_form, task_rows

PAGE = "leads/detail.html"
FORM = "leads/form.html"
TIMELINE_LIMIT = 50


class LeadPage:
    """What the lead page's fragments show; each part is read only when a fragment uses it, so
    a fragment answer runs only its own queries."""

    def __init__(self, request: AuthedRequest, lead: Lead, **forms: Any) -> None:
        self.request = request
        self.lead = lead
        self.actor = actor_of(request)
        self.forms = forms

    @cached_property
    def can(self) -> dict[str, bool]:
        actor, lead, me = self.actor, self.lead, self.actor.user_id
        give = access.can_give(actor)
        return {
            "edit": access.can_edit(actor, lead),
            "merge": access.can_merge_into(actor, lead),
            "give": give,
            "delete": access.can_delete(actor, lead),
            "personal_data": access.can_handle_personal_data(actor),
            "write_activity": access.can_write_activity(actor, lead),
            "claim": not give
            and lead.owner_id is None
            and access.can_change_person(actor, None, me),
            "release": not give
            and lead.owner_id is not None
            and lead.owner_id == me
            and access.can_change_person(actor, me, None),
        }

    @cached_property
    def statuses(self) -> list[tuple[str, str]]:
        return status_choices()

    @cached_property
    def status_form(self) -> StatusForm:
        if "status_form" in self.forms:
            return self.forms["status_form"]
        choices = self.statuses
        if self.lead.status_id not in dict(choices):
            choices = [*choices, (self.lead.status_id, str(self.lead.status))]
        return StatusForm(choices=choices, initial={"status": self.lead.status_id})

    @cached_property
    def people(self) -> list[Any]:
        """Active users, and the lead's own people: whom the lead and its tasks may be given."""
        return people_choices(self.lead)

    @cached_property
    def people_form(self) -> PeopleForm:
        if "people_form" in self.forms:
            return self.forms["people_form"]
        lead = self.lead
        initial = {"owner": str(lead.owner_id or ""), "assignee": str(lead.assignee_id or "")}
        return PeopleForm(people=self.people, initial=initial)

    @cached_property
    def task_form(self) -> TaskForm:
        if "task_form" in self.forms:
            return self.forms["task_form"]
        return new_task_form(self.people if self.can["give"] else None)

    @cached_property
    def tasks(self) -> dict[str, Any]:
        """The lead's tasks (open ones first) with what the user may do, and whether more
        exist."""
        tasks, more = selectors.lead_tasks(self.lead)
        people = self.people if self.can["give"] else None
        rows = task_rows(self.actor, tasks, self.forms.get("snooze_forms"), people)
        return {"rows": rows, "more": more}

    @cached_property
    def note_form(self) -> NoteForm:
        return self.forms.get("note_form") or NoteForm()

    @cached_property
    def notes(self) -> list[tuple[Any, bool]]:
        """Live notes, newest first, each with whether the user may delete it."""
        notes = selectors.live_notes(self.lead)
        return [(n, access.can_delete_note(self.actor, n)) for n in notes]

    @cached_property
    def deleted_note(self) -> Any:
        """The note just deleted, offered back ("Undo") while the page shows it: passed by the
        delete's answer, or named by ``?deleted_note=`` after a delete without JavaScript."""
        note = self.forms.get("deleted_note")
        if note is None:
            pk = self.request.GET.get("deleted_note", "")
            note = (
                selectors.deleted_note(lead=self.lead, pk=int(pk))
                if pk.isdigit() and len(pk) < 10
                else None
            )
        return note if note is not None and access.can_delete_note(self.actor, note) else None

    @cached_property
    def call_form(self) -> CallForm:
        return self.forms.get("call_form") or CallForm()

    @property
    def call_open(self) -> bool:
        """Whether "Log a call" starts open: asked for without JavaScript, or sent with errors."""
        return bool(self.forms.get("call_open") or self.forms.get("call_form"))

    @cached_property
    def tags(self) -> list[str]:
        return selectors.lead_tags(self.lead)

    @cached_property
    def file_form(self) -> FileForm:
        return self.forms.get("file_form") or FileForm()

    @property
    def file_limit(self) -> int:
        return settings.CRM["LEAD_FILE_MAX_BYTES"]

    @cached_property
    def files(self) -> dict[str, Any]:
        """The lead's live files, newest first, each with whether the user may delete it, and
        whether more exist: one query, only when the files card is drawn."""
        files, more = selectors.lead_files(self.lead)
        rows = [(f, access.can_delete_file(self.actor, f, self.lead)) for f in files]
        return {"rows": rows, "more": more}

    @cached_property
    def field_groups(self) -> list[dict[str, Any]]:
        """Every stored field of the lead, grouped (``LEAD_FIELD_GROUPS``): a filled group
        shows its filled fields (and always the email and phone), an empty one is folded
        with its fields as "—". No query: the page's read joins the source and campaign."""
        lead = self.lead
        groups = []
        for key, title, names in LEAD_FIELD_GROUPS:
            rows = [_field_row(lead, name) for name in names]
            filled = [row for row in rows if row["filled"] or row["name"] in ALWAYS_SHOWN]
            empty = not any(row["filled"] for row in rows)
            groups.append(
                {"key": key, "title": title, "rows": rows if empty else filled, "empty": empty}
            )
        return groups

    @cached_property
    def custom(self) -> list[dict[str, Any]]:
        """The custom fields shown to salespeople, with this lead's values."""
        values = self.lead.custom_fields
        return [
            {
                "label": f.label,
                "value": values.get(f.system_name),
                "boolean": f.data_type == DataType.BOOLEAN,
            }
            for f in selectors.active_custom_fields()
            if f.is_available_in_contact_manager
        ]

    @cached_property
    def timeline(self) -> dict[str, Any]:
        """The latest events, newest first, and whether older ones exist."""
        events, more = selectors.latest_events(lead=self.lead, limit=TIMELINE_LIMIT)
        return {"events": selectors.worded_events(events), "more": more}


# Shown even when blank: what a salesperson reaches for first.
ALWAYS_SHOWN = frozenset({"email", "phone"})
PHONE_SHOWN = frozenset({"phone", "mobile_phone", "office_phone", "fax"})


def _field_row(lead: Lead, name: str) -> dict[str, Any]:
    """One field of the lead page's details: its label, value, how it is shown (``kind``:
    email, tel, url, yes/no, date, multiline, text) and whether it holds anything. The
    defaults of the two flags (subscribed, active) count as nothing to tell."""
    value = getattr(lead, name)
    kind = "text"
    if name == "email":
        kind = "email"
    elif name in PHONE_SHOWN:
        kind = "tel"
    elif name == "website":
        kind = "url"
    elif name in ("message", "description"):
        kind = "multiline"
    elif isinstance(value, bool):
        kind = "yesno"
    elif name == "followup_date":
        kind = "datetime"
    filled = value not in (None, "")
    if kind == "yesno" and not Lead._meta.get_field(name).null:
        filled = value != Lead._meta.get_field(name).default
    label = field_label(name)
    return {"name": name, "label": label, "value": value, "kind": kind, "filled": filled}


def _context(request: AuthedRequest, lead: Lead, *, appointments: bool, **forms: Any) -> dict:
    context = lead_section_context(request, lead) if appointments else {}
    return {**context, "lead": lead, "page": LeadPage(request, lead, **forms)}


def answer(
    request: AuthedRequest,
    lead: Lead,
    main: str,
    *,
    oob: tuple[str, ...] = (),
    status: int = 200,
    **forms: Any,
) -> HttpResponse:
    """The whole lead page; for HTMX, the fragment ``main`` and, out of band, the ``oob`` ones."""
    if not is_fragment(request):
        context = _context(request, lead, appointments=True, **forms)
        return render_page(request, PAGE, context, status=status)
    context = _context(request, lead, appointments="appointments" in (main, *oob), **forms)
    html = render_to_string(f"{PAGE}#{main}", context, request=request)
    for name in oob:
        html += render_to_string(f"{PAGE}#{name}", {**context, "oob": True}, request=request)
    return HttpResponse(html, status=status)


def _reload(request: AuthedRequest, slug: str) -> Lead:
    return lead_or_404(request, slug)


def _redirect(request: AuthedRequest, url: str) -> HttpResponse:
    """After a successful POST: HTMX follows ``HX-Redirect``, a plain form a 302."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def refused(request: AuthedRequest, message: str, back: str) -> HttpResponse:
    """The user may not do this: 403 with the reason for HTMX (app.js tells the user), else
    back with the reason as a message."""
    message = plain(message)
    if request.htmx:
        return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return redirect(back)


def _detail_url(lead: Lead) -> str:
    return reverse("leads:detail", args=[lead.slug])


def _form_kwargs(request: AuthedRequest, lead: Lead | None = None, inline: bool = False) -> dict:
    return {
        "actor": actor_of(request),
        "statuses": status_choices(),
        "sources": source_choices(),
        "custom_fields": selectors.active_custom_fields(),
        "lead": lead,
        "tags": selectors.lead_tags(lead) if lead is not None else None,
        "inline": inline,
    }


# --- the lead page ------------------------------------------------------------------------


@require_GET
@login_required
def lead_detail(request: AuthedRequest, slug: str) -> HttpResponse:
    """The lead page; for HTMX its details card (what the inline edit's Cancel swaps back), or
    with ``?part=timeline`` its timeline (refreshed when the appointments section changes)."""
    part = "timeline" if request.GET.get("part") == "timeline" else "details"
    return answer(request, _reload(request, slug), part, call_open=request.GET.get("call") == "1")


@require_POST
@login_required
def lead_status(request: AuthedRequest, slug: str) -> HttpResponse:
    lead = _reload(request, slug)
    form = StatusForm(request.POST, choices=status_choices())
    if form.is_valid():
        try:
            services.lead_update(
                actor=actor_of(request), lead=lead, data={"status": form.cleaned_data["status"]}
            )
        except Forbidden as exc:
            return refused(request, exc.message, _detail_url(lead))
        except (ValidationError, DomainError) as exc:
            add_domain_errors(form, exc)
        else:
            lead = _reload(request, slug)
            messages.success(request, f"Status changed to {lead.status}.")
            if not is_fragment(request):
                return redirect(_detail_url(lead))
            return answer(request, lead, "controls", oob=("lead_head", "timeline"))
    return answer(request, _reload(request, slug), "controls", status=INVALID, status_form=form)


@require_POST
@login_required
def lead_assign(request: AuthedRequest, slug: str) -> HttpResponse:
    """Owner and assignee: managers give the lead to anyone; a salesperson claims a pool lead
    or releases its own (the service decides)."""
    lead = _reload(request, slug)
    form = PeopleForm(request.POST, people=people_choices(lead))
    if form.is_valid():
        try:
            services.lead_assign(actor=actor_of(request), lead=lead, people=form.people())
        except Forbidden as exc:
            return refused(request, exc.message, _detail_url(lead))
        except (ValidationError, DomainError) as exc:
            add_domain_errors(form, exc)
        else:
            try:
                lead = _reload(request, slug)
            except Http404:  # released a lead this user saw only as its owner
                messages.success(request, "Lead released. You no longer see it.")
                return _redirect(request, reverse("leads:list"))
            owner = lead.owner or "nobody (pool)"
            messages.success(request, f"Owner: {owner}. Assignee: {lead.assignee or 'nobody'}.")
            if not is_fragment(request):
                return redirect(_detail_url(lead))
            # Who owns the lead decides what the user may do on every part of the page.
            parts = ("lead_head", "details", "timeline", "tasks", "notes", "appointments")
            return answer(request, lead, "controls", oob=parts)
    return answer(request, _reload(request, slug), "controls", status=INVALID, people_form=form)


@require_POST
@login_required
def lead_delete(request: AuthedRequest, slug: str) -> HttpResponse:
    """Delete the lead (soft: an administrator can restore it), once confirmed (ask_first)."""
    lead = lead_or_404(request, slug)
    actor = actor_of(request)
    if access.can_delete(actor, lead):
        asked = ask_first(
            request,
            question=f"Delete lead {lead}?",
            consequence="It leaves every list and search; an administrator can restore it.",
            button="Delete lead",
            back=_detail_url(lead),
        )
        if asked is not None:
            return asked
    try:
        services.lead_delete(actor=actor, lead=lead)
    except Forbidden as exc:
        return refused(request, exc.message, _detail_url(lead))
    messages.success(request, f"Lead {lead} deleted. An administrator can restore it.")
    return _redirect(request, reverse("leads:list"))


@require_GET
@login_required
def personal_data_export(request: AuthedRequest, slug: str) -> HttpResponse:
    """The lead's personal data as a JSON file (administrators and company managers)."""
    lead = lead_or_404(request, slug)
    try:
        exported = privacy.personal_data(actor=actor_of(request), lead=lead)
    except Forbidden as exc:  # a download link: no page to go back to
        return HttpResponse(exc.message, status=403, content_type="text/plain; charset=utf-8")
    return json_download(exported, f"lead-{lead.slug}-personal-data.json")


@require_POST
@login_required
def personal_data_erase(request: AuthedRequest, slug: str) -> HttpResponse:
    """Erase the lead's personal data everywhere. Irreversible: the lead page asks first, and
    a form sent without ``confirmed`` (no JavaScript) gets a page that asks."""
    lead = lead_or_404(request, slug)
    if request.POST.get("confirmed") != "1":
        if not access.can_handle_personal_data(actor_of(request)):
            return refused(request, privacy.NOT_ALLOWED, _detail_url(lead))
        return render_page(request, "leads/erase_confirm.html", {"lead": lead})
    try:
        privacy.personal_data_erase(actor=actor_of(request), lead=lead)
    except Forbidden as exc:
        return refused(request, exc.message, _detail_url(lead))
    messages.success(request, "Personal data erased. The lead keeps its status and history.")
    return _redirect(request, _detail_url(lead))


def _add_activity(
    request: AuthedRequest,
    slug: str,
    form: Any,
    write: Any,
    *,
    part: str,
    anchor: str,
    form_name: str,
    **renames: str,
) -> HttpResponse:
    """Add a note, a call or a file from its card on the lead page: ``write(actor, lead,
    cleaned_data)`` calls the service; the card (and the timeline) answers, or its errors."""
    lead = _reload(request, slug)
    if form.is_valid():
        try:
            said = write(actor_of(request), lead, form.cleaned_data)
        except Forbidden as exc:
            return refused(request, exc.message, _detail_url(lead))
        except (ValidationError, DomainError) as exc:
            add_domain_errors(form, exc, **renames)
        else:
            messages.success(request, said)
            if not is_fragment(request):
                return redirect(f"{_detail_url(lead)}#{anchor}")
            return answer(request, _reload(request, slug), part, oob=("timeline",))
    return answer(request, lead, part, status=INVALID, **{form_name: form})


def _write_note(actor: Any, lead: Lead, data: dict[str, Any]) -> str:
    services.note_create(actor=actor, lead=lead, text=data["note"])
    return "Note added."


def _write_call(actor: Any, lead: Lead, data: dict[str, Any]) -> str:
    bulk.call_log(actor=actor, lead=lead, call=CallForm.call_of(data))
    return "Call logged."


def _write_file(actor: Any, lead: Lead, data: dict[str, Any]) -> str:
    upload = data["file"]
    services.lead_file_check_size(upload.size)  # before reading it into memory
    attached = services.lead_file_attach(
        actor=actor, lead=lead, name=upload.name, content=upload.read()
    )
    return f"File {attached.name} attached."


@require_POST
@login_required
def note_add(request: AuthedRequest, slug: str) -> HttpResponse:
    form = NoteForm(request.POST)
    return _add_activity(
        request, slug, form, _write_note,
        part="notes", anchor="lead-notes", form_name="note_form", text="note",
    )  # fmt: skip


@require_POST
@login_required
def call_add(request: AuthedRequest, slug: str) -> HttpResponse:
    """Log a call with the lead: the JSON-RPC ``logCalls`` service, for one call."""
    form = CallForm(request.POST)
    return _add_activity(
        request, slug, form, _write_call,
        part="notes", anchor="lead-timeline", form_name="call_form", duration="minutes",
    )  # fmt: skip


@require_POST
@login_required
def file_add(request: AuthedRequest, slug: str) -> HttpResponse:
    """Attach a file to the lead: lead_set's upload service, size limit and storage."""
    form = FileForm(request.POST, request.FILES)
    return _add_activity(
        request, slug, form, _write_file,
        part="files", anchor="lead-files", form_name="file_form", name="file",
    )  # fmt: skip


@require_POST
@login_required
def file_delete(request: AuthedRequest, slug: str, file_id: int) -> HttpResponse:
    lead = lead_or_404(request, slug)
    attached = selectors.attached_file(lead=lead, pk=file_id)
    if attached is None:
        raise Http404("No such file.")
    if access.can_delete_file(actor_of(request), attached, lead):
        asked = ask_first(
            request,
            question=f"Delete the file {attached.name}?",
            consequence=f"It is removed from {lead} and from the storage.",
            button="Delete file",
            back=f"{_detail_url(lead)}#lead-files",
        )
        if asked is not None:
            return asked
    try:
        services.lead_file_delete(actor=actor_of(request), lead=lead, lead_file=attached)
    except DomainError as exc:  # refused, or deleted meanwhile
        return refused(request, exc.message, _detail_url(lead))
    messages.success(request, f"File {attached.name} deleted.")
    if not is_fragment(request):
        return redirect(f"{_detail_url(lead)}#lead-files")
    return answer(request, _reload(request, slug), "files", oob=("timeline",))


@require_GET
@login_required
def lead_file(request: AuthedRequest, slug: str, file_id: int) -> FileResponse:
    """A file attached to the lead, to anyone who sees the lead."""
    lead = lead_or_404(request, slug)
    attached = selectors.attached_file(lead=lead, pk=file_id)
    if attached is None:
        raise Http404("No such file.")
    try:
        stream = attached.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from the storage.") from None
    return FileResponse(stream, as_attachment=True, filename=attached.name)


@require_POST
@login_required
def note_delete(request: AuthedRequest, slug: str, note_id: int) -> HttpResponse:
    lead = lead_or_404(request, slug)
    actor = actor_of(request)
    try:
        note = access.note_for_actor(actor, pk=note_id)
    except NotFound:
        raise Http404("No such note.") from None
    if note.lead_id != lead.pk:
        raise Http404("No such note.")
    try:
        services.note_delete(actor=actor, note=note)
    except Forbidden as exc:
        return refused(request, exc.message, _detail_url(lead))
    messages.success(request, "Note deleted.")
    if not is_fragment(request):
        # The page offers "Undo" in place of the note (?deleted_note=).
        return redirect(f"{_detail_url(lead)}?deleted_note={note.pk}#lead-notes")
    return answer(request, _reload(request, slug), "notes", oob=("timeline",), deleted_note=note)


@require_POST
@login_required
def note_restore(request: AuthedRequest, slug: str, note_id: int) -> HttpResponse:
    """Undo a note's deletion: the note is back on the lead page and the timeline says so."""
    lead = lead_or_404(request, slug)
    note = selectors.deleted_note(lead=lead, pk=note_id)
    if note is None:
        raise Http404("No such note.")
    try:
        services.note_restore(actor=actor_of(request), note=note)
    except DomainError as exc:
        return refused(request, exc.message, _detail_url(lead))
    messages.success(request, "Note restored.")
    if not is_fragment(request):
        return redirect(f"{_detail_url(lead)}#note-{note.pk}")
    return answer(request, _reload(request, slug), "notes", oob=("timeline",))


# --- create and edit ----------------------------------------------------------------------

# What makes a lead another's duplicate: an edit that changes none of these is not checked again.
DUPLICATE_INPUTS = {"first_name", "last_name", "email", "phone"}


def _duplicates(
    request: AuthedRequest, form: LeadForm, lead: Lead | None = None
) -> list[tuple[Lead, str]]:
    """The leads the one being created or edited would duplicate (same email, or same name and
    phone), to warn of before saving; none once the user chose "Save anyway", or when an edit
    changes none of the fields that decide it."""
    if request.POST.get("save_anyway") == "1":
        return []
    if lead is not None and not DUPLICATE_INPUTS & set(form.changed_data):
        return []
    return selectors.possible_duplicates(
        actor=actor_of(request), values=form.cleaned_data, exclude=lead
    )


def _every_error(form: LeadForm) -> None:
    """A posted lead form its own checks refused: the fields that passed are checked by the
    domain's rules too, and their refusals shown beside the form's, so every error shows at
    once (a missing phone does not hide an invalid email)."""
    data, custom, tags = form.domain_input()
    refused = services.lead_values_refused(lead=form.lead, data=data, custom=custom, tags=tags)
    if refused is not None:
        add_domain_errors(form, refused)


@require_http_methods(["GET", "POST"])
@login_required
def lead_create(request: AuthedRequest) -> HttpResponse:
    form = LeadForm(request.POST if request.method == "POST" else None, **_form_kwargs(request))
    duplicates: list[tuple[Lead, str]] = []
    if request.method == "POST" and form.is_valid():
        duplicates = _duplicates(request, form)
    elif request.method == "POST":
        _every_error(form)
    if request.method == "POST" and form.is_valid() and not duplicates:
        data, custom, tags = form.domain_input()
        try:
            lead = services.lead_create(
                actor=actor_of(request), data=data, custom=custom, tags=tags
            )
        except Forbidden as exc:
            return refused(request, exc.message, reverse("leads:create"))
        except (ValidationError, DomainError) as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, f"Lead {lead} created.")
            return _redirect(request, _detail_url(lead))
    context = {"form": form, "lead": None, "action": reverse("leads:create")}
    context["duplicates"] = duplicates
    status = INVALID if form.errors or duplicates else 200
    return render_page(request, FORM, context, partial="form", status=status)


@require_http_methods(["GET", "POST"])
@login_required
def lead_edit(request: AuthedRequest, slug: str) -> HttpResponse:
    """The full edit page, or (HTMX with ``?inline=1``) the form swapped into the lead page's
    details card, whose Save swaps the details back."""
    lead = _reload(request, slug)
    actor = actor_of(request)
    if not access.can_edit(actor, lead):
        return refused(request, "You may not edit this lead.", _detail_url(lead))
    inline = is_fragment(request) and request.GET.get("inline") == "1"
    posted = request.POST if request.method == "POST" else None
    form = LeadForm(posted, **_form_kwargs(request, lead, inline=inline))
    duplicates: list[tuple[Lead, str]] = []
    if posted is not None and form.is_valid():
        duplicates = _duplicates(request, form, lead)
    elif posted is not None:
        _every_error(form)
    if posted is not None and form.is_valid() and not duplicates:
        data, custom, tags = form.domain_input()
        try:
            services.lead_update(actor=actor, lead=lead, data=data, custom=custom, tags=tags)
        except Forbidden as exc:
            return refused(request, exc.message, _detail_url(lead))
        except (ValidationError, DomainError) as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, "Lead saved.")
            if inline:
                oob = ("lead_head", "controls", "timeline")
                return answer(request, _reload(request, slug), "details", oob=oob)
            return _redirect(request, _detail_url(lead))
    context = {"form": form, "lead": lead, "action": reverse("leads:edit", args=[slug])}
    context |= {"inline": inline, "duplicates": duplicates}
    # "Merge" only where the merge would not be refused: the other lead kept, this one deleted.
    context["mergeable"] = {
        other.pk
        for other, _ in duplicates
        if access.can_merge_into(actor, other) and access.can_delete(actor, lead)
    }
    status = INVALID if form.errors or duplicates else 200
    return render_page(request, FORM, context, partial="form", status=status)
