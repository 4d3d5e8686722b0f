"""Reading a call's ``params``: each getter checks one parameter's presence, type and range,
and raises seed 000's API-level error (205 wrong value, 206 missing) naming it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils import timezone

from crm.domain import unstorable, yes_no
from leads.lead_objects import TIMESTAMP
from leads.rpc import errors

MAX_INT = 2**63 - 1


def _fmt(type_: str, length: int | None, required: bool) -> dict[str, Any]:
    fmt: dict[str, Any] = {"type": type_, "required": required}
    if length is not None:
        fmt["length"] = length
    return fmt


class Params:
    def __init__(self, params: dict[str, Any], *, tz: dt.tzinfo) -> None:
        self.params = params
        self.tz = tz

    def _missing(self, name: str, fmt: dict[str, Any]) -> errors.ApiError:
        return errors.param_error(
            errors.MISSING_PARAMETERS, name, "This parameter is required.", fmt
        )

    def _invalid(self, name: str, message: str, fmt: dict[str, Any]) -> errors.ApiError:
        return errors.param_error(errors.INVALID_PARAMETERS, name, message, fmt)

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        default: int | None = None,
        minimum: int = 0,
        maximum: int = MAX_INT,
    ) -> int | None:
        fmt = _fmt("int", 20, required)
        value = self.params.get(name)
        if value is None or value == "":
            if required:
                raise self._missing(name, fmt)
            return default
        number = as_int(value)
        if number is None:
            raise self._invalid(name, "Expected data of type integer", fmt)
        if not minimum <= number <= maximum:
            raise self._invalid(name, f"Expected an integer from {minimum} to {maximum}", fmt)
        return number

    def limit(self) -> int:
        most = settings.CRM["RPC_MAX_OBJECTS"]
        return self.integer("limit", default=most, minimum=1, maximum=most)  # type: ignore[return-value]

    def offset(self) -> int:
        return self.integer("offset", default=0)  # type: ignore[return-value]

    def hash(
        self, name: str, *, required: bool = False, keys: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """A hash parameter; with ``keys``, any other key is refused (205, naming it)."""
        fmt = _fmt("hash", None, required)
        if keys is not None:
            fmt["keys"] = sorted(keys)
        value = self.params.get(name)
        if value is None:
            if required:
                raise self._missing(name, fmt)
            return {}
        if value == []:
            return {}  # an empty JSON array is how PHP encodes an empty hash
        if not isinstance(value, dict):
            raise self._invalid(name, "Expected data of type hash", fmt)
        unknown = [key for key in value if keys is not None and key not in keys]
        if unknown:
            raise self._invalid(name, f"Unknown {name} key: {unknown[0][:100]}", fmt)
        return value

    def text(self, name: str, *, required: bool = False, length: int = 255) -> str:
        fmt = _fmt("string", length, required)
        value = self.params.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self._missing(name, fmt)
            return ""
        if not isinstance(value, str) or not storable(value):
            raise self._invalid(name, "Expected data of type string", fmt)
        if len(value) > length:
            raise self._invalid(
                name, f"Ensure this value has no more than {length} characters", fmt
            )
        return value.strip()

    def timestamp(self, name: str, *, required: bool = False) -> dt.datetime | None:
        fmt = _fmt("timestamp", 19, required)
        value = self.params.get(name)
        if value is None or value == "":
            if required:
                raise self._missing(name, fmt)
            return None
        parsed = parse_timestamp(value, self.tz)
        if parsed is None:
            raise self._invalid(name, "Expected a timestamp as Y-m-d H:i:s", fmt)
        return parsed

    def id_list(self, name: str, *, most: int) -> list[int]:
        fmt = _fmt("list<int>", most, True)
        value = self.params.get(name)
        if value is None:
            raise self._missing(name, fmt)
        if not isinstance(value, list):
            raise self._invalid(name, "Expected data of type list", fmt)
        if len(value) > most:
            raise self._invalid(name, f"Expected at most {most} ids", fmt)
        ids = [as_int(item) for item in value]
        if any(item is None for item in ids):
            raise self._invalid(name, "Expected a list of integers", fmt)
        return ids  # type: ignore[return-value]

    def fields(self, known: tuple[str, ...]) -> list[str] | None:
        fmt = _fmt("list<systemName>", None, False)
        value = self.params.get("fields")
        if value is None or value == []:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._invalid("fields", "Expected a list of field system names", fmt)
        unknown = [v for v in value if v not in known]
        if unknown:
            raise self._invalid("fields", f"Unknown field: {unknown[0][:100]}", fmt)
        return list(dict.fromkeys(value))

    def objects(self) -> list[Any]:
        """The ``objects`` list of a batch call: present, a list, at most RPC_MAX_OBJECTS."""
        value = self.params.get("objects")
        if not isinstance(value, list):
            raise errors.ApiError(errors.MISSING_OBJECTS)
        most = settings.CRM["RPC_MAX_OBJECTS"]
        if len(value) > most:
            raise errors.ApiError(
                errors.TOO_MANY_OBJECTS,
                {"params": [{"param": "objects", "message": f"At most {most} objects per call."}]},
            )
        return value


def storable(text: str) -> bool:
    return unstorable(text) is None


def as_flag(value: Any) -> bool | None:
    """A flag given as true/false, 1/0 or a string of those ("1", "true", "yes"...), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return yes_no(value)
    return None


def as_int(value: Any) -> int | None:
    """An integer given as a JSON number or a string of digits ("123"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) <= MAX_INT else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) <= MAX_INT else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) <= 19:
            return int(text)
    return None


def parse_timestamp(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """``Y-m-d H:i:s`` (``Y-m-d`` alone is midnight) in the API version's time zone."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    for pattern in (TIMESTAMP, "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(text, pattern)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
        try:
            return timezone.make_aware(parsed, tz)
        except (OverflowError, ValueError):
            return None
    return None
