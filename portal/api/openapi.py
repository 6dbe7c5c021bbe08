"""The OpenAPI 3.1 document for /api/v1, written by hand to say exactly what the views answer.

serializers.py builds the bodies this document describes and problems.py the errors; the
Schemathesis test holds the three together. `for_docs` flattens it for the /api/docs page.
"""

from __future__ import annotations

import copy
from typing import Any

from portal.api import problems as _problems  # noqa: F401  (registers the framework kinds)
from portal.api.idempotency import MAX_KEY
from portal.api.queries import DEFAULT_LIMIT, MAX_LIMIT, STATUS_BUCKETS
from portal.api.tokens import SCOPES
from portal.audit import queries as audit_queries
from portal.audit.service import ACTIONS, CHANNELS
from portal.errors import problem_kinds
from portal.invites.service import MAX_MESSAGE, MAX_NAME, MAX_PART_NAME
from portal.roles import MemberStatus

VERSION = "1.0.0"
REF = "#/components/schemas/"
# Lengths of the ids a body may carry (the views enforce them; no service measures ids).
ID_MAX_LENGTH = 40  # public ids: "iv-"/"mb-"/"tpl-" and 32 hex digits
INVITE_SECRET_MAX_LENGTH = 100  # the link's secret: 43 characters today, room to grow

# Every `code` a problem can carry: HTTP status and what it means, from the DomainError kinds
# (importing problems, tokens and idempotency above brings the API's own kinds in).
PROBLEM_CODES: dict[str, tuple[int, str]] = problem_kinds()


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    result = dict(schema)
    result["type"] = [schema["type"], "null"]
    return result


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


TIMESTAMP = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC (Z)."}
MEMBER_ID = {"type": "string", "description": "A member's public id (`mb-…`)."}

INVITE: dict[str, Any] = {
    "type": "object",
    "description": "An invitation.",
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "description": "Public id (`iv-…`)."},
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
        "invitedAt": {**TIMESTAMP, "description": "When it was last sent (a resend moves it)."},
        "linkedAt": _nullable({**TIMESTAMP, "description": "When the invitee joined."}),
        "expiresAt": TIMESTAMP,
        "fullName": {"type": "string"},
        "firstName": {"type": "string"},
        "lastName": {"type": "string"},
        "email": {"type": "string"},
        "templateId": _nullable({"type": "string", "description": "E-mail template (`tpl-…`)."}),
        "inviterId": MEMBER_ID,
        "userId": _nullable({**MEMBER_ID, "description": "The member who joined through it."}),
        "status": {"type": "string", "enum": list(STATUS_BUCKETS)},
        "delivery": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {"type": "string", "enum": ["queued", "sent", "failed"]},
                "lastError": _nullable(
                    {"type": "string", "description": "Why the last attempt failed."}
                ),
            },
            "required": ["status", "lastError"],
        },
    },
}
INVITE["required"] = list(INVITE["properties"])

CREATED_INVITE = copy.deepcopy(INVITE)
CREATED_INVITE["description"] = "A new invitation, with its link (shown this once only)."
CREATED_INVITE["properties"]["inviteLandingPageUrl"] = {
    "type": "string",
    "format": "uri",
    "description": "The invitee's join link. It carries the secret, which the portal stores "
    "only as a digest: it is never shown again.",
}
CREATED_INVITE["required"] = list(CREATED_INVITE["properties"])


def _body_field(limit: int, description: str) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": limit, "description": description}


NEW_INVITE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["email"],
    "properties": {
        "email": {
            "type": "string",
            "format": "email",
            "maxLength": 320,
            "description": "Who to invite.",
        },
        "fullName": _body_field(MAX_NAME, "Defaults to firstName and lastName."),
        "firstName": _body_field(MAX_PART_NAME, "The invitee's first name."),
        "lastName": _body_field(MAX_PART_NAME, "The invitee's last name."),
        "message": _body_field(MAX_MESSAGE, "A personal message in the e-mail."),
        "templateId": _body_field(
            ID_MAX_LENGTH,
            "An e-mail template (`tpl-…`); default: the organisation's default template.",
        ),
        "inviterId": _body_field(
            ID_MAX_LENGTH,
            "The member who invites (`mb-…`); default: the token's "
            "owner. Another member needs the invite-on-behalf "
            "scope.",
        ),
    },
}

NEW_MEMBER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["inviteId", "email", "fullName"],
    "properties": {
        "inviteId": {
            "type": "string",
            "maxLength": INVITE_SECRET_MAX_LENGTH,
            "description": "The secret from the invitation link (its invite_id parameter).",
        },
        "email": {
            "type": "string",
            "format": "email",
            "maxLength": 320,
            "description": "Must be the invited address when the organisation binds it.",
        },
        "fullName": {"type": "string", "maxLength": MAX_NAME},
        "password": _body_field(
            1024,
            "At least 8 characters; leave out (or null) for members "
            "who sign in through another system.",
        ),
    },
}

MEMBER = {
    "type": "object",
    "description": "A member.",
    "additionalProperties": False,
    "properties": {
        "id": MEMBER_ID,
        "email": {"type": "string"},
        "fullName": {"type": "string"},
        "status": {"type": "string", "enum": [status.value for status in MemberStatus]},
        "createdAt": TIMESTAMP,
        "invitedBy": {
            "description": "The member who invited them, if they joined by invitation.",
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"id": MEMBER_ID, "fullName": {"type": "string"}},
                    "required": ["id", "fullName"],
                },
            ],
        },
        "inviteId": _nullable({"type": "string", "description": "The invitation used (`iv-…`)."}),
    },
}
MEMBER["required"] = list(MEMBER["properties"])

INVITE_LIST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "data": {"type": "array", "items": _ref("Invite"), "maxItems": MAX_LIMIT},
        "nextCursor": _nullable(
            {
                "type": "string",
                "description": "Pass as `cursor` for the next page; null at the end.",
            }
        ),
    },
    "required": ["data", "nextCursor"],
}

CHANGED_FIELDS = {
    "type": "object",
    "additionalProperties": True,
    "description": "The changed fields only, by the portal's own field names. A secret "
    "(signing secret, token, password) is never shown: its value is the word `changed`.",
}

AUDIT_EVENT = {
    "type": "object",
    "description": "One change: who made it, when, to what, from where.",
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "description": "Public id (`ae-…`)."},
        "createdAt": TIMESTAMP,
        "action": {"type": "string", "enum": list(ACTIONS)},
        "actor": {
            "description": "The member who made the change, with the name and address they "
            "had then; null for the command line and the portal's own work.",
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "id": MEMBER_ID,
                        "fullName": {"type": "string"},
                        "email": {"type": "string"},
                    },
                    "required": ["id", "fullName", "email"],
                },
            ],
        },
        "channel": {
            "type": "string",
            "enum": list(CHANNELS),
            "description": "Through the web, the API, the command line, or the portal itself.",
        },
        "apiTokenId": _nullable(
            {"type": "string", "description": "With channel api: the token used (`tk-…`)."}
        ),
        "ip": _nullable({"type": "string", "description": "The client's address."}),
        "target": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "type": {"type": "string", "description": "organization, template, webhook, …"},
                "id": _nullable({"type": "string", "description": "Its public id."}),
                "label": {"type": "string", "description": "Its name, as it was."},
            },
            "required": ["type", "id", "label"],
        },
        "before": CHANGED_FIELDS,
        "after": CHANGED_FIELDS,
    },
}
AUDIT_EVENT["required"] = list(AUDIT_EVENT["properties"])

AUDIT_EVENT_LIST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "data": {
            "type": "array",
            "items": _ref("AuditEvent"),
            "maxItems": audit_queries.MAX_LIMIT,
        },
        "nextCursor": _nullable(
            {
                "type": "string",
                "description": "Pass as `cursor` for older events; null at the end.",
            }
        ),
    },
    "required": ["data", "nextCursor"],
}

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details (application/problem+json).",
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "Explains the code."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What happened and what to do, in words."},
        "code": {"type": "string", "enum": list(PROBLEM_CODES)},
        "errors": {
            "type": "array",
            "description": "Field errors: which field (by its API name) and why.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
        "inviteId": {
            "type": "string",
            "description": "With duplicate_pending: the pending invitation to resend.",
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
}

# --- responses -----------------------------------------------------------------------------

HEADERS = {
    401: {
        "WWW-Authenticate": {
            "required": True,
            "schema": {"type": "string"},
            "description": 'Bearer, with error="invalid_token" when a token was sent.',
        }
    },
    429: {
        "Retry-After": {
            "schema": {"type": "string"},
            "description": "Seconds to wait (when rate limited).",
        }
    },
    201: {
        "Location": {
            "required": True,
            "schema": {"type": "string"},
            "description": "The new resource's address.",
        }
    },
}


def _problem(status: int, summary: str, codes: list[str]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": f"{summary} Codes: {', '.join(codes)}.",
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
        "x-codes": codes,
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def _ok(schema: str, description: str, status: int = 200) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema)}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


ERRORS = {
    400: "The body couldn't be read.",
    401: "No valid token.",
    403: "The token or the acting member may not do this.",
    404: "Not found in the token's organisation.",
    409: "Conflicts with the current state.",
    410: "The invitation can no longer be used.",
    413: "The body is too large.",
    415: "The body isn't JSON.",
    422: "Invalid input.",
    429: "A limit was reached.",
}


# Every operation can answer these: no valid token, a missing scope, too many requests,
# and a parameter holding a control character (refused before anything is looked up).
COMMON_CODES = (
    "invalid",
    "unauthorized",
    "invalid_token",
    "token_expired",
    "token_revoked",
    "insufficient_scope",
    "rate_limited",
)
BODY_CODES = ("bad_request", "too_large", "unsupported_media_type", "invalid")


def _errors(*codes: str) -> dict[str, Any]:
    """The error responses of an operation, from the codes it can answer with."""
    chosen = set(codes) | set(COMMON_CODES)
    by_status: dict[int, list[str]] = {}
    for code, (status, _meaning) in PROBLEM_CODES.items():  # in the table's order
        if code in chosen:
            by_status.setdefault(status, []).append(code)
    return {
        str(status): _problem(status, ERRORS[status], found)
        for status, found in sorted(by_status.items())
    }


def _operation(
    operation_id: str,
    summary: str,
    description: str,
    scope: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": f"{description}\n\nNeeds the `{scope}` scope.",
        "x-required-scope": scope,
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


def _path_id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


INVITE_ID = _path_id("id", "The invitation's public id (`iv-…`).")
MEMBER_ID_PARAMETER = _path_id("id", "The member's public id (`mb-…`).")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
    "description": "Any unique string (a UUID). Retrying with the same key and body within "
    "24 hours returns the first answer and sends nothing new; the same key with another "
    "body is refused (idempotency_key_reused).",
}

LIST_PARAMETERS = [
    _query("status", {"type": "string", "enum": list(STATUS_BUCKETS)}, "Only this status."),
    _query("email", {"type": "string", "format": "email"}, "Only invitations to this address."),
    _query("inviterId", {"type": "string"}, "Only invitations sent by this member (`mb-…`)."),
    _query(
        "createdAfter",
        {"type": "string", "format": "date-time"},
        "Only invitations created at or after this time (RFC 3339).",
    ),
    _query(
        "createdBefore",
        {"type": "string", "format": "date-time"},
        "Only invitations created before this time (RFC 3339).",
    ),
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        f"Page size, at most {MAX_LIMIT}.",
    ),
    _query("cursor", {"type": "string"}, "The previous page's nextCursor."),
]

AUDIT_PARAMETERS = [
    _query("action", {"type": "string", "enum": list(ACTIONS)}, "Only this action."),
    _query("actorId", {"type": "string"}, "Only changes made by this member (`mb-…`)."),
    _query(
        "createdAfter",
        {"type": "string", "format": "date-time"},
        "Only changes at or after this time (RFC 3339).",
    ),
    _query(
        "createdBefore",
        {"type": "string", "format": "date-time"},
        "Only changes before this time (RFC 3339).",
    ),
    _query(
        "limit",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": audit_queries.MAX_LIMIT,
            "default": audit_queries.DEFAULT_LIMIT,
        },
        f"Page size, at most {audit_queries.MAX_LIMIT}.",
    ),
    _query("cursor", {"type": "string"}, "The previous page's nextCursor."),
]


def _paths() -> dict[str, Any]:
    return {
        "/invites": {
            "post": _operation(
                "createInvite",
                "Invite someone",
                "Creates an invitation and queues its e-mail, with the same rules as the "
                "dashboard. The 201 answer is the only one that shows the join link. A "
                "second request for an address that is already invited is 409 "
                "duplicate_pending, however soon it comes: to retry safely, send an "
                "Idempotency-Key. Refusals about the address (already_member, "
                "duplicate_pending) count towards the inviter's daily limit like sends.",
                "create-invites",
                {
                    "201": _ok("CreatedInvite", "Invited; the e-mail is queued.", 201),
                    **_errors(
                        *BODY_CODES,
                        "not_allowed",
                        "invitations_disabled",
                        "already_member",
                        "duplicate_pending",
                        "invalid_email",
                        "idempotency_key_reused",
                        "daily_limit",
                    ),
                },
                parameters=[IDEMPOTENCY_KEY],
                body="NewInvite",
            ),
            "get": _operation(
                "listInvites",
                "List invitations",
                "The organisation's invitations, newest first, a page at a time.",
                "read-invites",
                {"200": _ok("InviteList", "A page of invitations."), **_errors("invalid")},
                parameters=LIST_PARAMETERS,
            ),
        },
        "/invites/{id}": {
            "get": _operation(
                "getInvite",
                "Read an invitation",
                "One invitation of the organisation.",
                "read-invites",
                {"200": _ok("Invite", "The invitation."), **_errors("not_found")},
                parameters=[INVITE_ID],
            ),
        },
        "/invites/{id}/resend": {
            "post": _operation(
                "resendInvite",
                "Resend an invitation",
                "Sends a fresh link with a fresh expiry; the previous link stops working. "
                "Acts as the token's owner, or (with invite-on-behalf) as the inviter.",
                "create-invites",
                {
                    "200": _ok("Invite", "Resent."),
                    **_errors(
                        "not_found", "not_allowed", "conflict", "duplicate_pending", "daily_limit"
                    ),
                },
                parameters=[INVITE_ID],
            ),
        },
        "/invites/{id}/revoke": {
            "post": _operation(
                "revokeInvite",
                "Revoke an invitation",
                "The link stops working. Only pending invitations can be revoked. Acts as the "
                "token's owner, or (with invite-on-behalf) as the inviter.",
                "create-invites",
                {
                    "200": _ok("Invite", "Revoked."),
                    **_errors("not_found", "not_allowed", "conflict"),
                },
                parameters=[INVITE_ID],
            ),
        },
        "/members": {
            "post": _operation(
                "createMember",
                "Join through an invitation (headless)",
                "Registers the invitee exactly as the join page does, for an organisation's "
                "own front end: the new member is linked to the inviter and INVITE_LINKED is "
                "sent to webhooks.",
                "create-profiles",
                {
                    "201": _ok("Member", "Joined.", 201),
                    **_errors(
                        *BODY_CODES,
                        "invalid_invite",
                        "account_exists",
                        "invite_expired",
                        "invite_revoked",
                        "invite_used",
                        "invite_superseded",
                        "invalid_email",
                    ),
                },
                body="NewMember",
            ),
        },
        "/audit-events": {
            "get": _operation(
                "listAuditEvents",
                "List the audit log",
                "Changes to the organisation's settings, e-mail templates, webhooks, API "
                "tokens and members, and invitations revoked by someone other than their "
                "inviter, newest first, a page at a time. The token's owner must be an "
                "organisation admin (not_allowed otherwise).",
                "read-audit",
                {
                    "200": _ok("AuditEventList", "A page of audit events."),
                    **_errors("invalid", "not_allowed"),
                },
                parameters=AUDIT_PARAMETERS,
            ),
        },
        "/members/{id}": {
            "get": _operation(
                "getMember",
                "Read a member",
                "One member of the organisation, with who invited them.",
                "read-profiles",
                {"200": _ok("Member", "The member."), **_errors("not_found")},
                parameters=[MEMBER_ID_PARAMETER],
            ),
        },
    }


def document(base_url: str) -> dict[str, Any]:
    scopes = "\n".join(f"- `{name}`: {meaning}" for name, meaning in SCOPES.items())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Member Portal API",
            "version": VERSION,
            "description": "Invite people and follow their invitations from other systems.\n\n"
            "Authenticate with `Authorization: Bearer <token>`; an organisation admin creates "
            "tokens on Settings → API tokens. A token sees its own organisation only. "
            f"Scopes:\n\n{scopes}\n\nErrors are RFC 9457 problem details with a stable `code`. "
            "Requests are rate limited per token, and requests that fail to authenticate per "
            "client address (429 with Retry-After).",
        },
        "servers": [{"url": f"{base_url}/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from Settings → API tokens.",
                }
            },
            "schemas": {
                "Invite": INVITE,
                "CreatedInvite": CREATED_INVITE,
                "InviteList": INVITE_LIST,
                "NewInvite": NEW_INVITE,
                "Member": MEMBER,
                "NewMember": NEW_MEMBER,
                "AuditEvent": AUDIT_EVENT,
                "AuditEventList": AUDIT_EVENT_LIST,
                "Problem": PROBLEM,
            },
        },
    }


# --- the docs page -------------------------------------------------------------------------


def type_label(schema: dict[str, Any]) -> str:
    """A schema in a few words: `string (date-time) or null`, `array of Invite`…"""
    if "$ref" in schema:
        return schema["$ref"].removeprefix(REF)
    if "oneOf" in schema:
        return " or ".join(type_label(option) for option in schema["oneOf"])
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    labels = []
    for kind in kinds:
        if kind == "array":
            labels.append(f"array of {type_label(schema['items'])}")
        elif kind == "object" and "properties" in schema:
            inner = ", ".join(schema["properties"])
            labels.append(f"object ({inner})")
        else:
            labels.append(kind + (f" ({schema['format']})" if "format" in schema else ""))
    label = " or ".join(labels)
    if "enum" in schema:
        label += ": " + ", ".join(str(value) for value in schema["enum"])
    limits = [
        f"{word} {schema[key]}"
        for key, word in (("maxLength", "at most"), ("minimum", "from"), ("maximum", "to"))
        if key in schema
    ]
    return label + (f" ({', '.join(limits)})" if limits else "")


def for_docs(doc: dict[str, Any]) -> dict[str, Any]:
    """The document flattened into rows the template can print without logic."""
    operations = []
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            operations.append(
                {
                    "anchor": operation["operationId"],
                    "method": method.upper(),
                    "path": "/api/v1" + path,
                    "summary": operation["summary"],
                    "description": operation["description"].split("\n\n")[0],
                    "scope": operation["x-required-scope"],
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p["required"],
                            "type": type_label(p["schema"]),
                            "description": p.get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "body": type_label(body["schema"]) if body else None,
                    "responses": [
                        {
                            "status": status,
                            "description": response["description"],
                            "schema": type_label(
                                next(iter(response["content"].values()))["schema"]
                            ),
                            "headers": list(response.get("headers", {})),
                        }
                        for status, response in operation["responses"].items()
                    ],
                }
            )
    schemas = [
        {
            "name": name,
            "description": schema.get("description", ""),
            "properties": [
                {
                    "name": prop,
                    "type": type_label(prop_schema),
                    "required": prop in schema.get("required", []),
                    "description": prop_schema.get("description", ""),
                }
                for prop, prop_schema in schema["properties"].items()
            ],
        }
        for name, schema in doc["components"]["schemas"].items()
    ]
    problems = [
        {"code": code, "status": status, "meaning": meaning}
        for code, (status, meaning) in PROBLEM_CODES.items()
    ]
    return {
        "info": doc["info"],
        "server": doc["servers"][0]["url"],
        "operations": operations,
        "schemas": schemas,
        "problems": problems,
        "scopes": list(SCOPES.items()),
    }
