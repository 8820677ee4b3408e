"""One error shape for every failure, ``{"error": message, "error_type": kind}``, and the one table
from error kind to HTTP status.

Kinds and the exceptions that carry them are declared in ``classifier/errors.py``; code below the
routes raises those and knows no status. This module alone turns them into answers.
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from classifier.errors import ClickbaitError, ErrorType
from service.feeds.formats import UnreadableFeed

log = logging.getLogger(__name__)

CLIENT_CLOSED = 499  # nginx's status for a client that went away
# The table: an exception class listed here decides before its kind (one kind, two statuses).
STATUS: dict[ErrorType | type[ClickbaitError], int] = {
    ErrorType.malformed_json: 400,
    ErrorType.validation_error: 422,
    ErrorType.unsupported_media_type: 415,
    ErrorType.payload_too_large: 413,
    ErrorType.too_many_headlines: 413,
    ErrorType.too_many_to_explain: 413,
    ErrorType.headline_too_long: 422,
    ErrorType.too_many_tokens: 422,  # as TEI answers its validation errors
    ErrorType.empty_headline: 422,
    ErrorType.untrusted_host: 400,
    ErrorType.request_timeout: 408,
    ErrorType.page_too_deep: 422,
    ErrorType.too_many_wrong_keys: 429,
    ErrorType.not_found: 404,
    ErrorType.method_not_allowed: 405,
    ErrorType.client_closed_request: CLIENT_CLOSED,
    ErrorType.not_ready: 503,
    ErrorType.missing_extra: 501,
    ErrorType.overloaded: 429,
    ErrorType.unauthorized: 401,
    ErrorType.forbidden: 403,
    ErrorType.rate_limited: 429,
    ErrorType.not_a_feed: 422,
    UnreadableFeed: 415,  # not_a_feed, and neither XML nor JSON: the content type is the problem
    ErrorType.malformed_feed: 400,
    ErrorType.unsafe_xml: 400,
    ErrorType.too_many_items: 413,
    ErrorType.feed_fetch_disabled: 403,
    ErrorType.bad_url: 400,
    ErrorType.host_not_allowed: 403,
    ErrorType.address_not_allowed: 403,
    ErrorType.upstream_unreachable: 502,
    ErrorType.upstream_error: 502,
    ErrorType.upstream_too_large: 413,
    ErrorType.upstream_timeout: 504,
    ErrorType.too_many_redirects: 502,
    # not 503: nothing transient is wrong, and not 501, a server error; the route is absent until set up
    ErrorType.not_configured: 404,
    ErrorType.bad_rules: 422,
    ErrorType.missing_signature: 401,
    ErrorType.bad_signature: 403,
    ErrorType.job_running: 409,
    ErrorType.job_not_started: 500,
    ErrorType.broken_artifact: 409,
    ErrorType.nothing_to_roll_back: 409,
    ErrorType.version_conflict: 409,
    ErrorType.internal_error: 500,
}  # http_error has none of its own: it answers with the status the framework raised
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def status_of(exc: ClickbaitError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return STATUS[exc.error_type]


def error_response(
    status: int, error_type: ErrorType, message: str, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse({"error": message, "error_type": error_type}, status_code=status, headers=headers)


def answer(exc: ClickbaitError) -> JSONResponse:
    """The error shape, its status, and the headers its kind calls for."""
    headers = dict(CHALLENGE) if exc.error_type is ErrorType.unauthorized else {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(math.ceil(exc.retry_after))
    return error_response(status_of(exc), exc.error_type, exc.message, headers or None)


def _describe_validation(exc: RequestValidationError) -> ClickbaitError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return ClickbaitError("the request body is not valid JSON", ErrorType.malformed_json)
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    return ClickbaitError(f"{where}: {first.get('msg', 'invalid request')}", ErrorType.validation_error)


ERROR_BODY_REF = "#/components/schemas/ErrorBody"
# FastAPI raises HTTPException(400) for a JSON body it cannot decode at all (e.g. not UTF-8); the only
# 400s it raises here are those, so they get the same error_type as other malformed JSON.
_STATUS_TYPES = {
    400: ErrorType.malformed_json,
    404: ErrorType.not_found,
    405: ErrorType.method_not_allowed,
    413: ErrorType.payload_too_large,
    415: ErrorType.unsupported_media_type,
}


def document_validation_errors(app: FastAPI) -> None:
    """FastAPI documents its own 422 body (``{"detail": [...]}``) on every route with parameters; this
    app answers 422 in the error shape, so the OpenAPI document says that instead."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    response = operation.get("responses", {}).get("422", {})
                    if "HTTPValidationError" in str(response):
                        response["content"] = {"application/json": {"schema": {"$ref": ERROR_BODY_REF}}}
            components = schema.get("components", {}).get("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        return app.openapi_schema

    app.openapi = openapi


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ClickbaitError)
    async def _known(_: Request, exc: ClickbaitError) -> JSONResponse:
        return answer(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return answer(_describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _STATUS_TYPES.get(exc.status_code, ErrorType.http_error)
        return error_response(exc.status_code, kind, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")  # the trace goes to the log, never to the client
        return error_response(500, ErrorType.internal_error, "internal error; see the server log")
