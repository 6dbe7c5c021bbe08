"""Errors as RFC 9457 problem details (application/problem+json), in one place for the API.

Every refusal carries a stable `code` (the DomainError's), the same `detail` a web form would
show, and for field errors an `errors` list naming the API's own field names.
"""

from __future__ import annotations

import math
import time

from flask import Response, current_app, json
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from portal.api import contract
from portal.errors import DomainError, DuplicatePending, Invalid, LimitReached, NotFound
from portal.extensions import limiter

MEDIA_TYPE = "application/problem+json"
REALM = 'realm="Member Portal API"'

# Services name fields as the web forms do (and as the models do); the API's JSON uses the
# models' camelCase aliases.
API_FIELD_NAMES = {
    name: field.alias
    for model in contract.SCHEMAS
    for name, field in model.model_fields.items()
    if field.alias and field.alias != name
}


class FieldErrors(Invalid):
    """Several field errors at once (request validation before any service runs)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__(errors[0][1], field=errors[0][0])
        self.errors = errors


class BadRequest(DomainError):
    status = 400
    code = "bad_request"
    title = "Bad request"
    meaning = "The body isn't a JSON object (or isn't JSON at all)."


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"
    meaning = "The body isn't sent as application/json."


# Framework refusals (werkzeug's HTTP errors) answer as these kinds, so their codes are
# declared the same way as the services' and the document lists them from one place.
class MethodNotAllowedKind(DomainError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"
    meaning = "The address exists, for other methods (see Allow)."


class TooLarge(DomainError):
    status = 413
    code = "too_large"
    title = "Request too large"
    meaning = "The body is larger than the portal accepts (1 MiB)."


class TooManyRequests(LimitReached):
    title = "Too many requests"


class ServerError(DomainError):
    status = 500
    code = "server_error"
    title = "Something broke"


HTTP_KINDS: dict[int, type[DomainError]] = {
    kind.status: kind
    for kind in (
        BadRequest,
        NotFound,
        MethodNotAllowedKind,
        TooLarge,
        UnsupportedMediaType,
        TooManyRequests,
        ServerError,
    )
}


def api_field(name: str) -> str:
    return API_FIELD_NAMES.get(name, name)


def type_uri(code: str) -> str:
    """Each code is explained on the docs page, so a problem's `type` leads to its meaning."""
    return f"{current_app.config['PORTAL_BASE_URL']}/api/docs#problem-{code}"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    invite_id: str | None = None,
) -> Response:
    body = contract.Problem(
        type=type_uri(code),
        title=title,
        status=status,
        detail=detail,
        code=code,
        errors=[contract.FieldProblem(field=api_field(f), message=m) for f, m in errors]
        if errors
        else None,
        invite_id=invite_id,
    ).model_dump(by_alias=True, exclude_none=True)
    response = current_app.response_class(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


def from_domain(error: DomainError) -> Response:
    if isinstance(error, FieldErrors):
        errors = error.errors
    else:
        errors = [(error.field, error.message)] if error.field else None
    invite_id = None
    if isinstance(error, DuplicatePending) and "invitation" in error.details:
        # The invitation to resend instead: the web form offers that button.
        invite_id = error.details["invitation"].public_id
    headers: dict[str, str] = {}
    if error.status == 401:
        # RFC 6750: say how to authenticate, and why this attempt failed.
        headers["WWW-Authenticate"] = (
            f"Bearer {REALM}"
            if error.code == "unauthorized"
            else f'Bearer {REALM}, error="invalid_token"'
        )
    if error.code == "insufficient_scope":
        headers["WWW-Authenticate"] = (
            f'Bearer {REALM}, error="insufficient_scope", scope="{error.details["scope"]}"'
        )
    return problem(
        error.status,
        error.code,
        error.title,
        error.message,
        errors=errors,
        headers=headers,
        invite_id=invite_id,
    )


def from_http(error: HTTPException) -> Response:
    status = error.code or 500
    kind = HTTP_KINDS.get(status)
    code, title = (kind.code, kind.title) if kind else ("error", error.name)
    detail = {
        400: "The request could not be read. Send a JSON object with Content-Type: "
        "application/json.",
        404: "There is nothing at this address. The operations are listed at /api/docs.",
        413: "The request body is larger than the portal accepts.",
        500: "The portal couldn't finish this request. Nothing was changed; please retry.",
    }.get(status, error.description or title)
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
        detail = f"This address accepts {', '.join(error.valid_methods)} only."
    return problem(status, code, title, detail, headers=headers)


def rate_limited(reason: str = "This token has made too many requests.") -> Response:
    current = limiter.current_limit
    wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    return problem(
        TooManyRequests.status,
        TooManyRequests.code,
        TooManyRequests.title,
        f"{reason} Try again in {wait} seconds.",
        headers={"Retry-After": str(wait)},
    )
