"""An API operation's contract on its view: `@operation` declares what the view takes and
answers (models from contract.py, the scope it needs, the problem codes it can answer
with), checks the request against it before the view runs, and leaves the declaration on
the view for openapi.py to publish. `@idempotent` replays the first answer to a repeated
Idempotency-Key."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Response, current_app, g, request
from pydantic import ValidationError
from werkzeug.exceptions import BadRequest as WerkzeugBadRequest

from portal.api import idempotency, problems
from portal.api.contract import ApiModel
from portal.clock import utcnow
from portal.db import get_session
from portal.web.unit_of_work import commit

REQUIRED = "This field is required."
NO_SUCH_FIELD = "There is no such field. The accepted fields are listed at /api/docs."
NO_SUCH_PARAMETER = "There is no such parameter. The accepted ones are listed at /api/docs."


@dataclass(frozen=True)
class Operation:
    """What the document says about one view; see `operation`."""

    operation_id: str
    summary: str
    description: str
    scope: str
    answers: dict[int, tuple[type[ApiModel], str]]
    refusals: tuple[str, ...]
    body: type[ApiModel] | None = None
    query: type[ApiModel] | None = None
    path_id: str | None = None
    idempotent: bool = False


def operation(
    operation_id: str,
    *,
    scope: str,
    answers: dict[int, tuple[type[ApiModel], str]],
    refusals: tuple[str, ...] = (),
    body: type[ApiModel] | None = None,
    query: type[ApiModel] | None = None,
    path_id: str | None = None,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a view as an API operation. The view's docstring is its summary (first line)
    and description. Before the view runs: the token must hold `scope`, then the body and
    query are validated into `body=` and `query=` arguments."""

    def declare(view: Callable[..., Response]) -> Callable[..., Response]:
        summary, _, description = inspect.getdoc(view).partition("\n\n")  # type: ignore[union-attr]

        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            g.api.require(scope)
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                kwargs["query"] = parse(query, request.args.to_dict(), NO_SUCH_PARAMETER)
            return view(*args, **kwargs)

        checked.operation = Operation(  # type: ignore[attr-defined]
            operation_id=operation_id,
            summary=summary,
            description=" ".join(description.split()),
            scope=scope,
            answers=answers,
            refusals=refusals,
            body=body,
            query=query,
            path_id=path_id,
            idempotent=getattr(view, "idempotent", False),
        )
        return checked

    return declare


def parse_body(model: type[ApiModel]) -> ApiModel:
    """The JSON body as `model`. The object as sent is kept on `g.sent_as` (what an
    Idempotency-Key is compared with)."""
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
    g.sent_as = data
    return parse(model, data, NO_SUCH_FIELD)


def parse(model: type[ApiModel], data: dict[str, Any], unknown: str) -> ApiModel:
    """`data` as `model`, or FieldErrors naming each refused field in the API's words, in
    the order the fields were sent, then the required ones that are missing."""
    accepted = {field.alias or name for name, field in model.model_fields.items()}
    # Unknown names are found here rather than by Pydantic, which can't name a field whose
    # name holds a lone surrogate; such a name is echoed JSON-escaped in the answer.
    errors = [(name, unknown) for name in data if name not in accepted]
    try:
        parsed = model.model_validate({k: v for k, v in data.items() if k in accepted})
    except ValidationError as invalid:
        errors += _field_errors(invalid)
    if errors:
        sent = list(data)
        missing = [error for error in errors if error[1] == REQUIRED]
        given = [error for error in errors if error[1] != REQUIRED]
        given.sort(key=lambda error: sent.index(error[0]))
        raise problems.FieldErrors(given + missing)
    return parsed


def _field_errors(invalid: ValidationError) -> list[tuple[str, str]]:
    errors = []
    for error in invalid.errors(include_url=False):
        name = str(error["loc"][0])
        if error["type"] == "missing" or (
            error["type"] == "string_type" and error["input"] is None
        ):
            errors.append((name, REQUIRED))  # a null counts as not given
        elif error["type"] == "string_type":
            errors.append((name, "Must be a string."))
        else:
            errors.append((name, error["msg"]))
    return errors


def json_answer(
    model: ApiModel, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return _respond(model.model_dump(mode="json", by_alias=True), status, headers or {})


def _respond(body: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    response = current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/json"
    )
    response.headers.update(headers)
    return response


def idempotent(
    *sealed: str,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """The view's work as one unit of work that an Idempotency-Key makes happen once: the
    first successful answer is kept (the `sealed` fields encrypted) and replayed to a
    retry with the same key and body; a concurrent retry loses on the key's unique index
    and, run once more, finds the winner's answer. Without a key, a plain unit of work."""

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def once(*args: Any, **kwargs: Any) -> Response:
            raw_key = request.headers.get("Idempotency-Key")
            if raw_key is None:
                return commit(lambda: view(*args, **kwargs))
            key = idempotency.check_key(raw_key)
            session, token_id, now = get_session(), g.api.token.id, utcnow()
            operation = f"{request.method} {request.path.removeprefix('/api')}"
            request_hash = idempotency.request_hash(operation, g.sent_as)

            def answer() -> Response:
                if replay := idempotency.find(session, token_id, key, request_hash, now):
                    headers = {**replay.headers, "Idempotent-Replayed": "true"}
                    return _respond(replay.body, replay.status, headers)
                response = view(*args, **kwargs)
                idempotency.remember(
                    session,
                    token_id,
                    key,
                    request_hash,
                    idempotency.Answer(
                        response.status_code, response.get_json(), _kept_headers(response)
                    ),
                    now,
                    sealed,
                )
                return response

            return commit(answer)

        once.idempotent = True  # type: ignore[attr-defined]
        return once

    return decorate


def _kept_headers(response: Response) -> dict[str, str]:
    return {name: response.headers[name] for name in ("Location",) if name in response.headers}
