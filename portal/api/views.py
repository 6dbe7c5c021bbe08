"""The JSON API under /api/v1, and its documentation (DESIGN §1, issue 5).

Bearer tokens only: the API never reads the session cookie, so a logged-in browser can't be
made to call it (which is also why CSRF protection is off here). Every view follows the same
order as the pages: authenticate (before_request) → check scope → call the same services as
the web → commit once → serialise. Errors become problem+json in problems.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest as WerkzeugBadRequest
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from portal.api import idempotency, openapi, problems, queries, serializers, tokens
from portal.api import service as api_service
from portal.audit import queries as audit_queries
from portal.audit import service as audit
from portal.clock import utcnow
from portal.db import get_session
from portal.delivery.smtp import reach
from portal.email_addresses import normalise_email
from portal.errors import DomainError, NotAllowed
from portal.extensions import client_ip, csrf, limiter
from portal.invites import service as invites
from portal.invites.mail import join_url
from portal.models import Member
from portal.policy import may_read_audit_log
from portal.validation import text_problem

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)

DEFAULT_RATE_LIMIT = "120 per minute"
DEFAULT_AUTH_FAILURE_LIMIT = "10 per minute"
AUTH_FAILURE_SCOPE = "api-auth-failures"
PUBLIC_ENDPOINTS = {"api.openapi_document", "api.docs", "api.unknown"}
SECRET_FIELDS = ("inviteLandingPageUrl",)


@dataclass(frozen=True)
class BodyField:
    """A field of a request body, as the boundary checks it: its characters (every string,
    see portal.validation) and, for ids that no service measures, its length. Everything
    else (an address's syntax, a name's length) is the services' rule, shared with the web."""

    what: str  # the field in plain words, for messages: "A name"
    required: bool = False
    multiline: bool = False
    max_length: int | None = None


# Request bodies, by field name. Anything else is refused, so a typo such as "fullname" is
# an error rather than a silently ignored name.
INVITE_FIELDS = {
    "email": BodyField("An e-mail address", required=True),
    "fullName": BodyField("A name"),
    "firstName": BodyField("A first name"),
    "lastName": BodyField("A last name"),
    "message": BodyField("The personal message", multiline=True),
    "templateId": BodyField("A template id", max_length=openapi.ID_MAX_LENGTH),
    "inviterId": BodyField("A member id", max_length=openapi.ID_MAX_LENGTH),
}
MEMBER_FIELDS = {
    "inviteId": BodyField(
        "An invitation id", required=True, max_length=openapi.INVITE_SECRET_MAX_LENGTH
    ),
    "email": BodyField("An e-mail address", required=True),
    "fullName": BodyField("A name", required=True),
    # A new password: an invisible control character in it would make it one nobody types.
    "password": BodyField("A password"),
}
# Path parameters by the view's name; the document calls each of them `id`.
PATH_PARAMETERS = {"invite_id": "id", "member_id": "id"}
LIST_PARAMETERS = {
    "status",
    "email",
    "inviterId",
    "createdAfter",
    "createdBefore",
    "limit",
    "cursor",
}

AUDIT_PARAMETERS = {"action", "actorId", "createdAfter", "createdBefore", "limit", "cursor"}


# --- authentication and rate limiting ------------------------------------------------------


def presented_token() -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _rate_limit_key() -> str:
    # Limits run before authentication, so the key is the presented token's digest (the
    # same value the database stores): one bucket per token, without a query.
    if presented := presented_token():
        return "api-token:" + tokens.digest(presented)
    return "api-ip:" + client_ip()


limiter.shared_limit(
    lambda: current_app.config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT),
    scope="api",
    key_func=_rate_limit_key,
)(bp)


def _refused(response: Response) -> bool:
    return response.status_code == 401


# Every made-up token has a fresh bucket above, so refusals also count per client: past the
# limit, a client is refused before its token is even looked up, whatever token it sends.
limiter.shared_limit(
    lambda: current_app.config.get("API_AUTH_FAILURE_LIMIT", DEFAULT_AUTH_FAILURE_LIMIT),
    scope=AUTH_FAILURE_SCOPE,
    key_func=lambda: "api-auth-failures:" + client_ip(),
    deduct_when=_refused,
    exempt_when=lambda: request.endpoint in PUBLIC_ENDPOINTS,
)(bp)


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    session = get_session()
    g.api = tokens.authenticate(session, presented_token(), utcnow())
    audit.set_context(session, channel="api", api_token_id=g.api.token.public_id)
    # last_used_at in a transaction of its own: a request that then fails still used the token.
    session.commit()
    _check_parameters()


def _check_parameters() -> None:
    """No query or path parameter holds a control character or a lone surrogate: refused
    before any lookup (a NUL would make PostgreSQL fail), with the document's names."""
    errors = []
    for name, value in request.args.items(multi=True):
        for problem in (
            text_problem(name, what="A parameter's name"),
            text_problem(value, what=f"The {name} parameter"),
        ):
            if problem:
                errors.append((name, problem))
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and (problem := text_problem(value, what="The id")):
            errors.append((PATH_PARAMETERS.get(name, name), problem))
    if errors:
        raise problems.FieldErrors(errors)


def _auth() -> tokens.Authenticated:
    return g.api


# --- errors --------------------------------------------------------------------------------


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    return problems.from_domain(error)


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded) -> Response:
    if error.limit.scope == AUTH_FAILURE_SCOPE:
        return problems.rate_limited("Too many requests from your address failed to authenticate.")
    return problems.rate_limited()


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return problems.from_http(error)


@bp.route("/v1", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Response:
    """Anything under /api/v1 that no operation serves: 405 (with Allow) when the address
    exists for another method, else 404, both as problem+json rather than HTML pages."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "api.unknown":
            allowed.append(method)
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFound()


# --- helpers -------------------------------------------------------------------------------


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None):
    response = current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/json"
    )
    response.headers.update(headers or {})
    return response


def _body(fields: dict[str, BodyField]) -> tuple[dict[str, Any], dict[str, str]]:
    """The JSON object sent (as sent, for idempotency) and its values, checked against
    `fields`: strings, or null for "not given"."""
    if not request.is_json:
        raise problems.UnsupportedMediaType(
            "Send the body as JSON, with the header Content-Type: application/json."
        )
    try:
        data = request.get_json()
    except (WerkzeugBadRequest, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise problems.BadRequest("The body isn't valid JSON.") from exc
    if not isinstance(data, dict):
        raise problems.BadRequest("The body must be a JSON object.")
    errors = []
    for name, value in data.items():
        field = fields.get(name)
        if field is None:
            # A name with a lone surrogate is echoed JSON-escaped, so it can't break the answer.
            errors.append(
                (name, "There is no such field. The accepted fields are listed at /api/docs.")
            )
        elif value is None:
            continue
        elif not isinstance(value, str):
            errors.append((name, "Must be a string."))
        elif problem := text_problem(value, what=field.what, multiline=field.multiline):
            errors.append((name, problem))
        elif field.max_length is not None and len(value) > field.max_length:
            errors.append((name, f"{field.what} can be at most {field.max_length} characters."))
    for name, field in fields.items():
        if field.required and data.get(name) is None:
            errors.append((name, "This field is required."))
    if errors:
        raise problems.FieldErrors(errors)
    return data, {name: value for name, value in data.items() if value is not None}


def _timestamp(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(value)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise problems.FieldErrors(
            [(name, "Use an RFC 3339 timestamp with a time zone, such as 2026-01-01T10:00:00Z.")]
        ) from exc


def _unknown_parameters(accepted: set[str]) -> list[tuple[str, str]]:
    return [
        (name, "There is no such parameter. The accepted ones are listed at /api/docs.")
        for name in request.args
        if name not in accepted
    ]


def _limit(errors: list[tuple[str, str]], default: int, most: int) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= most:
        errors.append(("limit", f"Use a whole number from 1 to {most}."))
        return default
    return int(raw)


def _created_range(errors: list[tuple[str, str]]) -> dict[str, datetime]:
    values = {}
    for name, key in (("createdAfter", "created_after"), ("createdBefore", "created_before")):
        if (raw := request.args.get(name)) is not None:
            try:
                values[key] = _timestamp(name, raw)
            except problems.FieldErrors as error:
                errors.extend(error.errors)
    return values


def _list_filters() -> tuple[queries.InviteFilters, int, str | None]:
    args = request.args
    errors = _unknown_parameters(LIST_PARAMETERS)
    values: dict[str, Any] = {}
    limit = _limit(errors, queries.DEFAULT_LIMIT, queries.MAX_LIMIT)
    if (status := args.get("status")) is not None:
        if status not in queries.STATUS_BUCKETS:
            errors.append(("status", f"Use one of {', '.join(queries.STATUS_BUCKETS)}."))
        values["status"] = status
    values.update(_created_range(errors))
    if (email := args.get("email")) is not None:
        try:
            values["email"] = normalise_email(email)
        except DomainError as error:
            errors.append(("email", error.message))
    if (inviter := args.get("inviterId")) is not None:
        values["inviter_id"] = inviter
    cursor = args.get("cursor")
    if cursor is not None:
        try:
            queries.decode_cursor(cursor)
        except DomainError as error:
            errors.append(("cursor", error.message))
    if errors:
        raise problems.FieldErrors(errors)
    return queries.InviteFilters(**values), limit, cursor


def _invite_location(body: dict[str, Any]) -> dict[str, str]:
    return {"Location": url_for("api.get_invite", invite_id=body["id"])}


def _invite_response(invite_public_id: str, now: datetime) -> Response:
    row = queries.invite_row(get_session(), _auth().token.organization_id, invite_public_id)
    return _json(serializers.invite(row, now))


# --- invitations ---------------------------------------------------------------------------


def _send(inviter: Member, data: dict[str, str], now: datetime) -> dict[str, Any]:
    session, auth = get_session(), _auth()
    sent = invites.send_invitation(
        session,
        inviter,
        email=data["email"],
        full_name=data.get("fullName", ""),
        first_name=data.get("firstName", ""),
        last_name=data.get("lastName", ""),
        message=data.get("message", ""),
        template_public_id=data.get("templateId"),
        now=now,
        reach=reach(current_app),
        # No double-submit guard: a repeated request is 409 duplicate_pending, and a client
        # that retries says so with an Idempotency-Key, which replays the exact first answer
        # (the link included) instead of a look-alike without it.
        double_submit=False,
    )
    assert sent.created and sent.secret is not None
    row = queries.invite_row(session, auth.token.organization_id, sent.invitation.public_id)
    body = serializers.invite(row, now)
    body["inviteLandingPageUrl"] = join_url(current_app.config["PORTAL_BASE_URL"], sent.secret)
    return body


@bp.post("/v1/invites")
def create_invite() -> Response:
    auth = _auth()
    auth.require("create-invites")
    sent_as, data = _body(INVITE_FIELDS)
    session, now = get_session(), utcnow()
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = idempotency.check_key(key)
        request_hash = idempotency.request_hash("POST /v1/invites", sent_as)
    inviter = api_service.acting_inviter(session, auth, data.get("inviterId"))
    for attempt in (1, 2):
        if key is not None and (
            replay := idempotency.find(session, auth.token.id, key, request_hash, now)
        ):
            headers = {"Idempotent-Replayed": "true"}
            if replay.status == 201:
                headers.update(_invite_location(replay.body))
            return _json(replay.body, replay.status, headers)
        try:
            body = _send(inviter, data, now)
            if key is not None:
                idempotency.remember(
                    session, auth.token.id, key, request_hash, 201, body, now, SECRET_FIELDS
                )
            session.commit()
        except IntegrityError:
            # A concurrent request won a race (for this address, or this Idempotency-Key):
            # answer as things now stand, which is what the web does too.
            session.rollback()
            if attempt == 2:
                raise
            continue
        except DomainError as error:
            session.rollback()
            if invites.counts_against_limit(error):
                # As on the web: in a transaction of its own, the refusal rolled back.
                invites.record_refused_send(session, inviter, error, now)
                session.commit()
            raise
        return _json(body, 201, _invite_location(body))
    raise AssertionError("unreachable")  # pragma: no cover


@bp.get("/v1/invites")
def list_invites() -> Response:
    auth = _auth()
    auth.require("read-invites")
    filters, limit, cursor = _list_filters()
    now = utcnow()
    page = queries.list_invites(
        get_session(), auth.token.organization_id, filters, now, limit=limit, cursor=cursor
    )
    return _json(
        {
            "data": [serializers.invite(row, now) for row in page.rows],
            "nextCursor": page.next_cursor,
        }
    )


@bp.get("/v1/invites/<invite_id>")
def get_invite(invite_id: str) -> Response:
    _auth().require("read-invites")
    return _invite_response(invite_id, utcnow())


def _act(invite_id: str, operation: Any) -> Response:
    auth = _auth()
    auth.require("create-invites")
    session, now = get_session(), utcnow()
    invitation = api_service.invitation_in_org(session, auth.token.organization_id, invite_id)
    actor = api_service.managing_actor(session, auth, invitation)
    operation(session, actor, invitation, now)
    session.commit()
    return _invite_response(invite_id, now)


@bp.post("/v1/invites/<invite_id>/resend")
def resend_invite(invite_id: str) -> Response:
    return _act(invite_id, invites.resend)


@bp.post("/v1/invites/<invite_id>/revoke")
def revoke_invite(invite_id: str) -> Response:
    return _act(invite_id, invites.revoke)


# --- members -------------------------------------------------------------------------------


@bp.post("/v1/members")
def create_member() -> Response:
    """Headless join: what the join page does, for an organisation's own front end."""
    auth = _auth()
    auth.require("create-profiles")
    _sent_as, data = _body(MEMBER_FIELDS)
    session, now = get_session(), utcnow()
    secret_digest = invites.digest(data["inviteId"])
    for attempt in (1, 2):
        try:
            member = invites.accept(
                session,
                secret_digest,
                email=data["email"],
                full_name=data["fullName"],
                password=data.get("password"),  # none: the member signs in elsewhere
                now=now,
                organization_id=auth.token.organization_id,
                reach=reach(current_app),
            )
            audit.member_created(session, auth.owner, member, now)
            session.commit()
        except IntegrityError:
            # Someone registered this address at the same moment: the retry says so.
            session.rollback()
            if attempt == 2:
                raise
            continue
        row = queries.member_row(session, auth.token.organization_id, member.public_id)
        location = url_for("api.get_member", member_id=member.public_id)
        return _json(serializers.member(row), 201, {"Location": location})
    raise AssertionError("unreachable")  # pragma: no cover


@bp.get("/v1/members/<member_id>")
def get_member(member_id: str) -> Response:
    auth = _auth()
    auth.require("read-profiles")
    row = queries.member_row(get_session(), auth.token.organization_id, member_id)
    return _json(serializers.member(row))


# --- the audit log -------------------------------------------------------------------------


def _audit_filters() -> tuple[audit_queries.AuditFilters, int, str | None]:
    args = request.args
    errors = _unknown_parameters(AUDIT_PARAMETERS)
    limit = _limit(errors, audit_queries.DEFAULT_LIMIT, audit_queries.MAX_LIMIT)
    values: dict[str, Any] = _created_range(errors)
    if (action := args.get("action")) is not None:
        if action not in audit.ACTIONS:
            errors.append(
                ("action", "There is no such action. The actions are listed at /api/docs.")
            )
        values["action"] = action
    if (actor_id := args.get("actorId")) is not None:
        actor = audit_queries.member_by_public_id(
            get_session(), _auth().token.organization_id, actor_id
        )
        if actor is None:
            errors.append(("actorId", "There is no member with this id in your organisation."))
        else:
            values["actor_id"] = actor.id
    cursor = args.get("cursor")
    if cursor is not None:
        try:
            audit_queries.decode_cursor(cursor)
        except DomainError as error:
            errors.append(("cursor", error.message))
    if errors:
        raise problems.FieldErrors(errors)
    return audit_queries.AuditFilters(**values), limit, cursor


@bp.get("/v1/audit-events")
def list_audit_events() -> Response:
    auth = _auth()
    auth.require("read-audit")
    if not may_read_audit_log(auth.owner):
        # A token never reads more than its owner could on the settings page.
        raise NotAllowed(
            f"This token's owner, {auth.owner.full_name}, isn't an organisation admin, and "
            "only organisation admins can read the audit log."
        )
    filters, limit, cursor = _audit_filters()
    page = audit_queries.list_events(
        get_session(), auth.token.organization_id, filters, limit=limit, cursor=cursor
    )
    return _json(
        {
            "data": [serializers.audit_event(row) for row in page.rows],
            "nextCursor": page.next_cursor,
        }
    )


# --- documentation -------------------------------------------------------------------------


@bp.get("/v1/openapi.json")
def openapi_document() -> Response:
    return _json(openapi.document(current_app.config["PORTAL_BASE_URL"]))


@bp.get("/docs")
def docs() -> str:
    document = openapi.document(current_app.config["PORTAL_BASE_URL"])
    return render_template("api/docs.html", doc=openapi.for_docs(document))
