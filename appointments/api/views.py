"""REST endpoints for appointments: parse, call one service or selector, map its errors to the
documented messages."""

from __future__ import annotations

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments import selectors, services
from appointments.api.serializers import (
    AppointmentCreateSerializer,
    AppointmentIdSerializer,
    AppointmentSerializer,
    AppointmentUpdateSerializer,
)
from crm.api.authentication import actor_of
from crm.api.envelope import ok, refused, request_failed, validation_error
from crm.api.fields import validated
from crm.api.pagination import paginated
from crm.api.schema import page_of, page_parameters
from crm.domain import Forbidden, NotFound, RuleViolation
from leads import access

NO_BODY = "Body data not found."
CANNOT_BOOK = "You can't take appointment under this lead."
DATE_SETTINGS = ("on", "before", "after")
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
        raise validation_error("slug", "Requested slug is invalid.") from None
    if lead.is_deleted:
        raise validation_error("slug", CANNOT_BOOK)
    return lead


def _appointment(request: Request, pk: int):
    try:
        return selectors.appointment_for_actor(actor_of(request), pk)
    except NotFound:
        raise validation_error("appointment_id", "Requested appointment not found.") from None


def _changes(data: dict) -> dict:
    return {domain: data[wire] for domain, wire in WIRE_FIELDS.items() if wire in data}


class AppointmentListView(APIView):
    @extend_schema(
        parameters=[
            *page_parameters(),
            OpenApiParameter("datesetting", enum=DATE_SETTINGS),
            OpenApiParameter("ondate", str, description="MM/DD/YYYY"),
            OpenApiParameter("status", str),
            OpenApiParameter("lead", str, description="The lead's first name."),
            OpenApiParameter("slug", str),
        ],
        responses=page_of(AppointmentSerializer, "AppointmentPage"),
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        setting = params.get("datesetting") or None
        day = None
        if setting is not None:
            if setting not in DATE_SETTINGS:
                raise validation_error("datesetting", f'"{setting}" is not a valid choice.')
            ondate = (params.get("ondate") or "").strip()
            if not ondate:
                raise validation_error("ondate", "This field is required.")
            try:
                day = datetime.strptime(ondate, "%m/%d/%Y").date()  # noqa: DTZ007 - a date
            except ValueError:
                raise validation_error("ondate", "Invalid date format.") from None
        qs = selectors.appointment_list(
            actor=actor_of(request), filters=params, day=day, relation=setting or "on"
        )
        return paginated(self, qs.only(*AppointmentSerializer.reads), AppointmentSerializer)


class CreateAppointmentView(APIView):
    @extend_schema(request=AppointmentCreateSerializer, responses={201: AppointmentSerializer})
    def post(self, request: Request) -> Response:
        _require_body(request)
        data = validated(AppointmentCreateSerializer, request).validated_data
        lead = _bookable_lead(request, data["slug"])
        try:
            appointment = services.appointment_create(
                actor=actor_of(request), lead=lead, **_changes(data)
            )
        except Forbidden as exc:
            if exc.code == "cannot_book":
                raise validation_error("slug", CANNOT_BOOK) from None
            raise refused(exc) from None
        except RuleViolation as exc:
            raise request_failed(exc.message) from None
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
        try:
            appointment = services.appointment_update(
                actor=actor_of(request), appointment=appointment, changes=changes
            )
        except Forbidden as exc:
            if exc.code == "cannot_book":
                raise validation_error("slug", CANNOT_BOOK) from None
            raise refused(exc, "You can't update this appointment.") from None
        except RuleViolation as exc:
            raise request_failed(exc.message) from None
        return ok(AppointmentSerializer(appointment).data)


class DeleteAppointmentView(APIView):
    @extend_schema(request=AppointmentIdSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        appointment = _appointment(
            request, validated(AppointmentIdSerializer, request).validated_data["appointment_id"]
        )
        try:
            services.appointment_delete(actor=actor_of(request), appointment=appointment)
        except Forbidden as exc:
            raise refused(exc, "You can't delete this appointment.") from None
        return ok({"appointment_id": appointment.pk})
