"""Every error code the JSON-RPC API answers (the table in docs/jsonrpc.md lists the same).

API-level errors fail the whole call: ``{"result": null, "error": {"code", "message", "data"},
"id"}``. Object-level errors sit in the result list, one per object, and never fail the others:
``{"success": "false", "error": {"code", "message", "data": [{"field", "message"}]}}``; the
call's top-level ``error`` then lists them again (``methods.Reply``).
"""

from __future__ import annotations

from typing import Any

# API level: (code, message).
INVALID_REQUEST = (101, "Invalid request data format.")
MISSING_REQUEST_ID = (102, "Header missing request ID.")
MISSING_ACCOUNT_ID = (103, "Header missing account ID.")
MISSING_SECRET_KEY = (104, "Header missing Secret Key.")
AUTHENTICATION_FAILED = (105, "User authentication failed.")
DAILY_LIMIT = (106, "Exceeded daily method call limit.")
SECOND_LIMIT = (107, "Exceeded per second method call limit.")
MISSING_METHOD = (201, "Missing method signature.")
MISSING_PARAMS = (202, "Missing params array.")
INVALID_METHOD = (204, "Invalid method signature.")
INVALID_PARAMETERS = (205, "Invalid parameters")
MISSING_PARAMETERS = (206, "Missing parameters")
MISSING_OBJECTS = (207, "Missing objects array.")
TOO_MANY_OBJECTS = (209, "Attempting to execute an excess amount of queries.")
UNAVAILABLE = (503, "Service temporarily unavailable.")

# Object level.
MALFORMED_OBJECT = (208, "Object is malformed (expected array, got scalar).")
ENTRY_EXISTS = (301, "Entry already exists")
INVALID_VALUES = (302, "Invalid field values")
ENTRY_MISSING = (404, "Entry does not exist")
KEY_READ_ONLY = (403, "This API key is read-only.")  # ours: a key an administrator scoped


class ApiError(Exception):
    """An API-level error: the call fails as a whole."""

    def __init__(self, error: tuple[int, str], data: Any = None, *, status: int = 200) -> None:
        super().__init__(error[1])
        self.code, self.message = error
        self.data = data if data is not None else []
        self.status = status
        self.headers: dict[str, str] = {}

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}


def param_error(error: tuple[int, str], param: str, message: str, fmt: dict[str, Any]) -> ApiError:
    """Seed 000's shape: ``data.params`` lists the parameter, what is wrong and its format."""
    return ApiError(error, {"params": [{"param": param, "message": message, "validFormat": fmt}]})


def object_error(
    error: tuple[int, str], fields: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    code, message = error
    data = [
        {"field": name, "message": text}
        for name, messages in (fields or {}).items()
        for text in messages
    ]
    return {"success": "false", "error": {"code": code, "message": message, "data": data}}
