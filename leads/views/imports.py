"""CSV import (SPEC §8): upload a file, review it (column mapping, duplicates, errors), run it.

Each step is a page of its own URL; the file waits in the database between them
(``leads.imports``), so the steps work on any app server and without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from crm.domain import DomainError, NotFound
from crm.web import INVALID, AuthedRequest, actor_of, add_domain_errors, is_fragment, render_page
from leads import imports
from leads.models import ImportStatus, LeadImport
from leads.services import lead_choices

# The main navigation marks "Import" (these pages live in the ``leads`` URL namespace).
NAV = {"nav_section": "import"}
PREVIEW_ROWS = 10
LISTED = 200  # duplicates and failing rows listed one by one, at most


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        allow_empty_file=True,  # the domain says "The file is empty." like every other refusal
        help_text=(
            "A .csv file whose first line names the columns, up to 5 MB and "
            f"{imports.MAX_ROWS:,} rows. UTF-8 is best; other text is read as Latin-1."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv,text/plain"}),
    )


class ReviewForm(forms.Form):
    """A target per column (``col_<i>``) and a choice per duplicate row (``row_<number>``)."""

    def __init__(self, imp: LeadImport, targets: dict[str, str], *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.imp = imp
        choices = [("", "Ignore this column"), *targets.items()]
        for index, header in enumerate(imp.headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header, choices=choices, required=False
            )
        numbers = {str(number) for number, _ in imp.rows}
        for key in self.data:
            if key.startswith("row_") and key[4:] in numbers:
                self.fields[key] = forms.ChoiceField(
                    choices=list(imports.DECISIONS.items()), required=False
                )

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}", "") for i in range(len(self.imp.headers))]

    def decisions(self) -> dict[str, str]:
        return {
            key[4:]: value
            for key, value in self.cleaned_data.items()
            if key.startswith("row_") and value
        }

    def column_renames(self) -> dict[str, str]:
        """Domain errors come keyed by column index."""
        return {str(i): f"col_{i}" for i in range(len(self.imp.headers))}


def _import_or_404(request: AuthedRequest, pk: int) -> LeadImport:
    try:
        return imports.import_for_actor(actor_of(request), pk)
    except NotFound:
        raise Http404("No such import.") from None


@require_http_methods(["GET", "POST"])
@login_required
def upload(request: AuthedRequest) -> HttpResponse:
    """Step 1: choose a CSV file."""
    actor = actor_of(request)
    is_post = request.method == "POST"
    form = UploadForm(request.POST, request.FILES) if is_post else UploadForm()
    if is_post and form.is_valid():
        try:
            imp = imports.import_create(actor=actor, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(
                request,
                ngettext(
                    "Read %(n)s row from %(file)s.", "Read %(n)s rows from %(file)s.", len(imp.rows)
                )
                % {"n": f"{len(imp.rows):,}", "file": imp.file_name}
                + " Check the columns and the duplicates, then import.",
            )
            if imp.encoding not in ("utf-8", "utf-16"):
                messages.warning(
                    request,
                    "The file is not UTF-8, so it was read as Latin-1 (Windows-1252). Check that "
                    "accented letters look right in the preview.",
                )
            return redirect("leads:import-review", pk=imp.pk)
    context = {**NAV, "form": form, "recent": imports.recent_imports(actor)}
    status = INVALID if form.errors else 200
    return render_page(request, "leads/import.html", context, partial="upload_form", status=status)


def _review_context(imp: LeadImport, form: ReviewForm, review: imports.Review) -> dict:
    duplicates, failures = review.duplicates, review.failures
    columns = [
        {
            "field": form[f"col_{i}"],
            "example": next((c[i] for _, c in imp.rows[:20] if i < len(c) and c[i].strip()), ""),
        }
        for i in range(len(imp.headers))
    ]
    shown = [(i, review.targets.get(t, "")) for i, t in enumerate(review.mapping) if t]
    return {
        **NAV,
        "imp": imp,
        "kept_until": imp.created_at + imports.PENDING_KEEP,
        "kept_days": imports.PENDING_KEEP.days,
        "form": form,
        "columns": columns,
        "shown_columns": shown,
        "preview": [
            {"row": row, "cells": [row.cells[i] if i < len(row.cells) else "" for i, _ in shown]}
            for row in review.rows[:PREVIEW_ROWS]
        ],
        "review": review,
        "count": {"rows": len(review.rows), "new": len(review.new)},
        "duplicates": duplicates[:LISTED],
        "duplicates_more": max(0, len(duplicates) - LISTED),
        "duplicate_count": len(duplicates),
        "failures": failures[:LISTED],
        "failures_more": max(0, len(failures) - LISTED),
        "failure_count": len(failures),
        "decisions": imports.DECISIONS,
    }


@require_http_methods(["GET", "POST"])
@login_required
def review(request: AuthedRequest, pk: int) -> HttpResponse:
    """Step 2: map the columns, see the first rows, choose what to do with each duplicate.

    A POST keeps the mapping and choices (``Update preview``; htmx sends it on each mapping
    change and gets the form back); once the file is imported, the page shows the result."""
    actor = actor_of(request)
    imp = _import_or_404(request, pk)
    if imp.status == ImportStatus.DONE:
        if request.method == "POST":
            messages.info(request, "This file was already imported.")
            return redirect("leads:import-review", pk=imp.pk)
        return _result(request, imp)
    choices = lead_choices()
    targets = imports.column_targets(choices)
    data = request.POST if request.method == "POST" else None
    form = ReviewForm(imp, targets, data, initial=_initial(imp))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                imports.import_save(
                    actor=actor, imp=imp, mapping=form.mapping(), decisions=form.decisions()
                )
            except (ValidationError, DomainError) as exc:
                add_domain_errors(form, exc, **form.column_renames())
            else:
                if not is_fragment(request):
                    messages.success(request, "Preview updated.")
                    return redirect("leads:import-review", pk=imp.pk)
                form = ReviewForm(imp, targets, initial=_initial(imp))
        status = INVALID if form.errors else 200
    checked = imports.review(actor=actor, imp=imp, choices=choices)
    context = _review_context(imp, form, checked)
    return render_page(
        request, "leads/import_review.html", context, partial="review_form", status=status
    )


def _initial(imp: LeadImport) -> dict[str, str]:
    return {f"col_{i}": target for i, target in enumerate(imp.mapping)}


@require_POST
@login_required
def run(request: AuthedRequest, pk: int) -> HttpResponse:
    """Step 3: import the rows as reviewed, then show the counts."""
    actor = actor_of(request)
    imp = _import_or_404(request, pk)
    if imp.status != ImportStatus.PENDING:
        messages.info(request, "This file was already imported.")
        return redirect("leads:import-review", pk=imp.pk)
    targets = imports.column_targets()
    form = ReviewForm(imp, targets, request.POST)
    if form.is_valid() and form.mapping() != imp.mapping:
        # The columns were changed without updating the preview (no JavaScript): the duplicates
        # and errors shown were for the old mapping, so show the new ones before importing.
        try:
            imports.import_save(
                actor=actor, imp=imp, mapping=form.mapping(), decisions=form.decisions()
            )
        except (ValidationError, DomainError) as exc:
            add_domain_errors(form, exc, **form.column_renames())
        else:
            messages.warning(
                request,
                "You changed the columns: check the preview and the duplicates again, then import.",
            )
            return redirect("leads:import-review", pk=imp.pk)
    if form.errors:
        checked = imports.review(actor=actor, imp=imp)
        context = _review_context(imp, form, checked)
        return render_page(request, "leads/import_review.html", context, status=INVALID)
    try:
        result = imports.import_run(actor=actor, imp=imp, decisions=form.decisions())
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("leads:import-review", pk=imp.pk)
    counts = (
        f"{result['created']:,} created, {result['updated']:,} updated, "
        f"{result['skipped']:,} skipped, {result['failed']:,} not imported"
    )
    level = messages.warning if result["failed"] else messages.success
    level(request, f"Import finished: {counts}.")
    return redirect("leads:import-review", pk=imp.pk)


@require_POST
@login_required
def discard(request: AuthedRequest, pk: int) -> HttpResponse:
    """Throw away a file waiting for review: its stored rows are deleted, nothing is imported."""
    imp = _import_or_404(request, pk)
    try:
        name = imports.import_discard(actor=actor_of(request), imp=imp)
    except DomainError as exc:
        messages.info(request, exc.message)
        return redirect("leads:import-review", pk=imp.pk)
    messages.success(request, f"Discarded {name}: nothing was imported, and the file is deleted.")
    return redirect("leads:import")


def _result(request: AuthedRequest, imp: LeadImport) -> HttpResponse:
    context = {
        **NAV,
        "imp": imp,
        "result": imp.result,
        "leads": imports.imported_leads(actor=actor_of(request), imp=imp),
        "started_at": imp.result.get("started_at", ""),
    }
    return render_page(request, "leads/import_result.html", context)
