"""Schemathesis, told what an OpenAPI schema cannot say about this API. Loaded by
tests/test_schemathesis.py, and by hand with ``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``
(see the README):

- The two date formats the schema names, ``yyyy-mm-dd HH:MM`` (appointment times) and
  ``MM/DD/YYYY`` (``ondate``): their patterns give the shape, these draw real dates and times.
- ``positive_data_acceptance_by_data``: schemathesis's ``positive_data_acceptance``, except for
  the answers that depend on the stored rows or on another parameter. A schema-valid request
  may name a lead, appointment, note or user that does not exist, or a status or source key
  the administrators have not listed; it may send ``datesetting`` without ``ondate``, or
  several orderings with a cursor. The API refuses those with 400 and the source API's
  message, verbatim. Any other 400 to a schema-valid request stays a failure.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime

import django
import schemathesis
from hypothesis import strategies as st
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
django.setup()

from appointments import services as appointment_services  # noqa: E402
from appointments.api import views as appointment_api  # noqa: E402
from appointments.api.serializers import APPOINTMENT_TIME_FORMAT  # noqa: E402
from crm.api.pagination import CURSOR_ORDERING  # noqa: E402
from leads.api import serializers as lead_serializers  # noqa: E402
from leads.api import views as lead_api  # noqa: E402
from leads.services import NOT_A_CHOICE  # noqa: E402


def _template(text: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in text.split("{}")))


# Per field: the messages of a 400 that a schema-valid request may get.
BY_DATA: dict[str, list[re.Pattern]] = {
    "slug": [
        _template(message)
        for message in (
            lead_api.SLUG_INVALID,
            lead_api.LEAD_NOT_FOUND,
            lead_api.LEAD_DELETED,
            appointment_services.CANNOT_BOOK,
        )
    ],
    "appointment_id": [_template(appointment_api.APPOINTMENT_NOT_FOUND)],
    "note_id": [_template(lead_api.NOTE_NOT_FOUND)],
    "assignee": [_template(lead_serializers.ASSIGNEE_NOT_FOUND)],
    "status": [_template(NOT_A_CHOICE)],
    "source": [_template(NOT_A_CHOICE)],
    "ordering": [_template(CURSOR_ORDERING)],
}


def _depends_on_data(case, errors: dict) -> bool:
    if not isinstance(errors, dict) or not errors:
        return False
    query = case.query or {}
    for field, messages in errors.items():
        if field == "ondate" and messages == [appointment_api.ONDATE_REQUIRED]:
            if query.get("datesetting"):
                continue
            return False
        patterns = BY_DATA.get(field, [])
        if not all(any(p.fullmatch(m) for p in patterns) for m in messages):
            return False
    return True


@schemathesis.check
def positive_data_acceptance_by_data(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400:
            try:
                errors = json.loads(response.content).get("errors")
            except (ValueError, AttributeError):
                errors = None
            if _depends_on_data(case, errors):
                return None
        raise


# --- the date formats -------------------------------------------------------------------------

# A day's margin at both ends: with any offset, the time is one the database stores (UTC).
_MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - naive: a wall-clock time, as the API takes it
    max_value=datetime(9999, 12, 30, 23, 59, 59),  # noqa: DTZ001
)
_OFFSETS = st.one_of(
    st.just(""),
    st.just("Z"),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
        lambda m: f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
    ),
)


@st.composite
def appointment_times(draw) -> str:
    """``yyyy-mm-dd HH:MM`` mostly; now and then seconds, a fraction, ``T`` or an offset."""
    moment = draw(_MOMENTS)
    text = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    text += draw(st.sampled_from(" T")) + f"{moment.hour:02d}:{moment.minute:02d}"
    if draw(st.booleans()):
        text += f":{moment.second:02d}"
        digits = draw(st.integers(0, 6))
        if digits:
            text += "." + f"{moment.microsecond:06d}"[:digits]
    return text + draw(_OFFSETS)


def _day(value: date) -> str:
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


schemathesis.openapi.format(APPOINTMENT_TIME_FORMAT, appointment_times())
schemathesis.openapi.format(appointment_api.DAY_FORMAT, st.dates().map(_day))
