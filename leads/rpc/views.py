"""``POST /pubapi/v1/`` and ``/pubapi/v1.2/``: the JSON-RPC endpoint (seeds 000-002).

A request is ``{"method", "params", "id"}`` with ``?accountID=...&secretKey=...`` in the URL;
the answer is ``{"result", "error", "id"}``. v1 reads and writes timestamps in the server's
time zone, v1.2 in UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from crm import outage, ratelimit
from crm.domain import Actor
from crm.services import api_key_check
from leads.rpc import errors
from leads.rpc.methods import METHODS, Call, Reply
from leads.rpc.params import Params

TIME_ZONES = {"v1": None, "v1.2": dt.UTC}  # None: the server's time zone


def _answer(reply: Reply, request_id: Any) -> JsonResponse:
    return JsonResponse({"result": reply.result, "error": reply.error, "id": request_id})


def _refuse(error: errors.ApiError, request_id: Any) -> JsonResponse:
    body = {"result": None, "error": error.as_json(), "id": request_id}
    response = JsonResponse(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _request_id(body: dict[str, Any]) -> Any:
    value = body.get("id")
    return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def _authenticate(request: HttpRequest):
    """The key from the ``X-Account-Id`` and ``X-Secret-Key`` headers (kept out of URLs and
    their logs), or else from the query string's ``accountID`` and ``secretKey``."""
    account_id = (request.headers.get("X-Account-Id") or request.GET.get("accountID", "")).strip()
    secret = (request.headers.get("X-Secret-Key") or request.GET.get("secretKey", "")).strip()
    if not account_id:
        raise errors.ApiError(errors.MISSING_ACCOUNT_ID)
    if not secret:
        raise errors.ApiError(errors.MISSING_SECRET_KEY)
    key = api_key_check(account_id, secret)
    if key is None:
        raise errors.ApiError(errors.AUTHENTICATION_FAILED)
    verdict = ratelimit.hit(key)
    if not verdict.allowed:
        error = errors.ApiError(
            errors.DAILY_LIMIT if verdict.period == "day" else errors.SECOND_LIMIT,
            {"retryAfter": verdict.retry_after},
            status=429,
        )
        error.headers["Retry-After"] = str(verdict.retry_after)
        raise error
    return key


def _parse(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except RequestDataTooBig:
        raise errors.ApiError(
            errors.INVALID_REQUEST, {"detail": "The request body is too large."}, status=413
        ) from None
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to decode
        raise errors.ApiError(errors.INVALID_REQUEST, {"detail": "The body is not JSON."}) from None
    if not isinstance(body, dict):
        raise errors.ApiError(errors.INVALID_REQUEST, {"detail": "Expected a JSON object."})
    return body


@csrf_exempt
def endpoint(request: HttpRequest, version: str) -> JsonResponse:
    request_id = None
    try:
        if request.method != "POST":
            error = errors.ApiError(
                errors.INVALID_REQUEST, {"detail": "Send a POST request."}, status=405
            )
            error.headers["Allow"] = "POST"
            raise error
        key = _authenticate(request)
        body = _parse(request)
        request_id = _request_id(body)
        if request_id is None:
            raise errors.ApiError(errors.MISSING_REQUEST_ID)
        method = body.get("method")
        if method is None or method == "":
            raise errors.ApiError(errors.MISSING_METHOD)
        if not isinstance(method, str) or method not in METHODS:
            raise errors.ApiError(errors.INVALID_METHOD, {"methods": sorted(METHODS)})
        params = body.get("params")
        if params == []:
            params = {}  # PHP's json_encode of an empty array
        if not isinstance(params, dict):
            raise errors.ApiError(errors.MISSING_PARAMS)
        tz = TIME_ZONES[version] or timezone.get_default_timezone()
        call = Call(actor=Actor.for_key(key), api_key=key, tz=tz, params=Params(params, tz=tz))
        reply = METHODS[method](call)
        return _answer(reply if isinstance(reply, Reply) else Reply(reply), request_id)
    except errors.ApiError as error:
        return _refuse(error, request_id)
    except outage.UNAVAILABLE as exc:
        outage.unavailable(exc, "JSON-RPC")
        error = errors.ApiError(errors.UNAVAILABLE, {"detail": outage.MESSAGE}, status=503)
        error.headers["Retry-After"] = str(outage.RETRY_AFTER_SECONDS)
        return _refuse(error, request_id)
