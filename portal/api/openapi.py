"""The OpenAPI 3.1 document for /api/v1, generated: the schemas from the models in
contract.py (through Pydantic's JSON Schema generator), the operations from the `@operation`
declarations on the views, the problem codes from the DomainError kinds. Nothing in it is
written twice; `for_docs` flattens it for the /api/docs page.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from portal.api import contract
from portal.api import problems as _problems  # noqa: F401  (registers the framework kinds)
from portal.api.idempotency import MAX_KEY
from portal.api.operations import Operation
from portal.api.tokens import SCOPES
from portal.errors import problem_kinds

VERSION = "1.0.0"
PREFIX = "/api/v1"
REF = "#/components/schemas/"

# Every `code` a problem can carry: HTTP status and what it means, from the DomainError kinds
# (importing problems, tokens and idempotency above brings the API's own kinds in).
PROBLEM_CODES: dict[str, tuple[int, str]] = problem_kinds()

# Request models are published as what a client may send, answers as what it receives.
REQUESTS = (contract.NewInvite, contract.NewMember)


class _Generator(GenerateJsonSchema):
    """Pydantic's JSON Schema, in the document's plainer spelling: no generated titles, and
    `["string", "null"]` (or oneOf with null for objects) rather than anyOf."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: Any) -> dict[str, Any]:
        inner = self.generate_inner(schema["schema"])
        if isinstance(inner.get("type"), str) and "$ref" not in inner:
            return {**inner, "type": [inner["type"], "null"]}
        return {"oneOf": [{"type": "null"}, inner]}


def _tidy(schema: Any, nested: dict[str, Any]) -> Any:
    """Inline the nested models that aren't components of their own (`delivery`, `actor`…),
    and drop what Pydantic adds that the document doesn't say: model titles, null defaults."""
    if isinstance(schema, list):
        return [_tidy(item, nested) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref", "").removeprefix(REF)
    if ref in nested:
        return _tidy(nested[ref], nested)
    tidied = {}
    for key, value in schema.items():
        if key == "properties":
            tidied[key] = {name: _tidy(prop, nested) for name, prop in value.items()}
        elif key == "title" or (key == "default" and value is None):
            continue
        else:
            tidied[key] = _tidy(value, nested)
    return tidied


def component_schemas() -> dict[str, Any]:
    models = [
        (model, "validation" if model in REQUESTS else "serialization")
        for model in contract.SCHEMAS
    ]
    modes: list[tuple[type[contract.ApiModel], JsonSchemaMode]] = models  # type: ignore[assignment]
    _, generated = models_json_schema(
        modes, ref_template=REF + "{model}", schema_generator=_Generator
    )
    defs = generated["$defs"]
    names = [model.__name__ for model in contract.SCHEMAS]
    nested = {name: schema for name, schema in defs.items() if name not in names}
    return {name: _tidy(defs[name], nested) for name in names}


def query_parameters(model: type[contract.ApiModel]) -> list[dict[str, Any]]:
    """A query model's fields as OpenAPI parameters."""
    schema = model.model_json_schema(schema_generator=_Generator)
    parameters = []
    for name, prop in _tidy(schema, {})["properties"].items():
        description = prop.pop("description", "")
        if isinstance(prop.get("type"), list):  # a parameter is left out, never null
            prop["type"] = next(kind for kind in prop["type"] if kind != "null")
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": prop,
                "description": description,
            }
        )
    return parameters


# --- operations ------------------------------------------------------------------------------

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

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
    "description": "Any unique string (a UUID). Retrying with the same key and body within "
    "24 hours returns the first answer and sends nothing new; the same key with another "
    "body is refused (idempotency_key_reused).",
}


def _with_headers(response: dict[str, Any], status: int) -> dict[str, Any]:
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def _errors(codes: tuple[str, ...]) -> dict[str, Any]:
    """The error responses of an operation, from the codes it can answer with."""
    chosen = set(codes) | set(COMMON_CODES)
    by_status: dict[int, list[str]] = {}
    for code, (status, _meaning) in PROBLEM_CODES.items():  # in the table's order
        if code in chosen:
            by_status.setdefault(status, []).append(code)
    return {
        str(status): _with_headers(
            {
                "description": f"{ERRORS[status]} Codes: {', '.join(found)}.",
                "content": {"application/problem+json": {"schema": _ref("Problem")}},
                "x-codes": found,
            },
            status,
        )
        for status, found in sorted(by_status.items())
    }


def _ref(model: type[contract.ApiModel] | str) -> dict[str, str]:
    return {"$ref": REF + (model if isinstance(model, str) else model.__name__)}


def _operation(declared: Operation) -> dict[str, Any]:
    responses = {
        str(status): _with_headers(
            {"description": description, "content": {"application/json": {"schema": _ref(model)}}},
            status,
        )
        for status, (model, description) in declared.answers.items()
    }
    parameters = []
    if declared.path_id:
        parameters.append(
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": declared.path_id,
            }
        )
    if declared.idempotent:
        parameters.append(IDEMPOTENCY_KEY)
    if declared.query:
        parameters.extend(query_parameters(declared.query))
    operation: dict[str, Any] = {
        "operationId": declared.operation_id,
        "summary": declared.summary,
        "description": f"{declared.description}\n\nNeeds the `{declared.scope}` scope.",
        "x-required-scope": declared.scope,
        "responses": {**responses, **_errors(declared.refusals)},
    }
    if parameters:
        operation["parameters"] = parameters
    if declared.body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(declared.body)}},
        }
    return operation


def _paths() -> dict[str, Any]:
    """Every view declared with `@operation`, by its route (the path parameter is the
    resource's `id`), in the order the views are registered."""
    paths: dict[str, Any] = {}
    for rule in current_app.url_map.iter_rules():
        declared = getattr(current_app.view_functions[rule.endpoint], "operation", None)
        if declared is None:
            continue
        path = re.sub(r"<[^>]+>", "{id}", rule.rule.removeprefix(PREFIX))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(declared)
    return paths


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
        "servers": [{"url": f"{base_url}{PREFIX}"}],
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
            "schemas": component_schemas(),
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
