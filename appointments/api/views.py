"""REST endpoints for appointments: parse, call one service or selector, map its errors to the
documented messages."""

from __future__ import annotations

import re
from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments import selectors, services
from appointments.api.serializers import (
    YEAR,
    AppointmentCreateSerializer,
    AppointmentIdSerializer,
    AppointmentSerializer,
    AppointmentUpdateSerializer,
)
from crm.api.authentication import actor_of
from crm.api.envelope import ok, request_failed, validation_error
from crm.api.fields import validated
from crm.api.pagination import paginated
from crm.api.schema import filter_parameters, page_of, page_parameters
from crm.domain import NOT_A_CHOICE, NotFound
from crm.replica import heavy_read
from leads import access
from leads.api.views import SLUG_INVALID

NO_BODY = "Body data not found."
APPOINTMENT_NOT_FOUND = "Requested appointment not found."
DATE_SETTINGS = ("on", "before", "after")
# ``ondate``: MM/DD/YYYY, the format ``DAY_FORMAT`` names (a real day of the years 1 to 9999).
DAY = re.compile(rf"(0[1-9]|1[0-2])/(0[1-9]|[12][0-9]|3[01])/{YEAR}")
DAY_FORMAT = "MM/DD/YYYY"
ONDATE_REQUIRED = "This field is required."
# Domain field names -> this API's parameter names.
WIRE_FIELDS = {
    "start": "appointment_date",
    "end": "appointment_to",
    "note": "appointment_note",
    "status": "appointment_status",
}


def _require_body(request: Request) -> None:
    if not isinstance(request.data, dict) or not request.data:
        raise request_failed(NO_BODY)


def _bookable_lead(request: Request, slug: str):
    try:
        lead = access.lead_for_actor(actor_of(request), slug=slug, include_deleted=True)
    except NotFound:
        raise validation_error("slug", SLUG_INVALID) from None
    if lead.is_deleted:
        raise validation_error("slug", services.CANNOT_BOOK)
    return lead


def _appointment(request: Request, pk: int):
    try:
        return selectors.appointment_for_actor(actor_of(request), pk)
    except NotFound:
        raise validation_error("appointment_id", APPOINTMENT_NOT_FOUND) from None


def _changes(data: dict) -> dict:
    return {domain: data[wire] for domain, wire in WIRE_FIELDS.items() if wire in data}


class AppointmentListView(APIView):
    @extend_schema(
        parameters=[
            *page_parameters(),
            OpenApiParameter(
                "datesetting",
                enum=DATE_SETTINGS,
                description="Appointments on, before or after ``ondate`` (required with it).",
            ),
            OpenApiParameter(
                "ondate",
                {"type": "string", "format": DAY_FORMAT, "pattern": f"^{DAY.pattern}$"},
                description="MM/DD/YYYY: a day in the server's time zone (alone: on that day).",
            ),
            *filter_parameters(
                selectors.AppointmentFilter,
                {"lead": "The lead's first name.", "slug": "The lead's slug."},
            ),
        ],
        responses=page_of(AppointmentSerializer, "AppointmentPage"),
    )
    @heavy_read
    def get(self, request: Request) -> Response:
        params = request.query_params
        setting = params.get("datesetting") or None
        if setting is not None and setting not in DATE_SETTINGS:
            raise validation_error("datesetting", NOT_A_CHOICE.format(setting))
        ondate = params.get("ondate") or ""
        if setting is not None and not ondate:
            raise validation_error("ondate", ONDATE_REQUIRED)
        day = None
        if ondate:
            found = DAY.fullmatch(ondate)
            try:
                day = date(*(int(found[n]) for n in (3, 1, 2))) if found else None
            except ValueError:
                day = None
            if day is None:
                raise validation_error("ondate", "Invalid date format.")
        qs = selectors.appointment_list_columns(
            actor=actor_of(request),
            filters=params,
            day=day,
            relation=setting or "on",
            columns=AppointmentSerializer.reads,
        )
        return paginated(self, qs, AppointmentSerializer)


class CreateAppointmentView(APIView):
    @extend_schema(request=AppointmentCreateSerializer, responses={201: AppointmentSerializer})
    def post(self, request: Request) -> Response:
        _require_body(request)
        data = validated(AppointmentCreateSerializer, request).validated_data
        lead = _bookable_lead(request, data["slug"])
        appointment = services.appointment_create(
            actor=actor_of(request), lead=lead, **_changes(data)
        )
        return ok(AppointmentSerializer(appointment).data, 201)


class UpdateAppointmentView(APIView):
    @extend_schema(request=AppointmentUpdateSerializer, responses=AppointmentSerializer)
    def post(self, request: Request) -> Response:
        _require_body(request)
        data = validated(AppointmentUpdateSerializer, request).validated_data
        appointment = _appointment(request, data["appointment_id"])
        changes = _changes(data)
        if "slug" in data:
            changes["lead"] = _bookable_lead(request, data["slug"])
        appointment = services.appointment_update(
            actor=actor_of(request), appointment=appointment, changes=changes
        )
        return ok(AppointmentSerializer(appointment).data)


class DeleteAppointmentView(APIView):
    @extend_schema(request=AppointmentIdSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        appointment = _appointment(
            request, validated(AppointmentIdSerializer, request).validated_data["appointment_id"]
        )
        services.appointment_delete(actor=actor_of(request), appointment=appointment)
        return ok({"appointment_id": appointment.pk})
