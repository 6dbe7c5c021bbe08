"""The OpenAPI document against the API itself (Schemathesis), and the docs page."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from portal.api.openapi import PROBLEM_CODES, document
from tests.web.api_support import bearer, make_token


@pytest.fixture
def api_token(app, session, admin) -> str:
    # Generated requests arrive far faster than any real client's; the limit has its own test.
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    return make_token(session, admin)


def problem_code_is_documented(published: dict):
    """A check: a refusal's `code` is one the document lists for that operation and status."""

    def check(_ctx, response, case) -> bool | None:
        if response.status_code < 400:
            return None
        operation = published["paths"][case.operation.path]
        documented = operation[case.method.lower()]["responses"].get(str(response.status_code))
        if documented is None:
            return None  # status_code_conformance reports undocumented statuses
        code = response.json()["code"]
        assert code in documented["x-codes"], (
            f"{case.method} {case.operation.path} answered {response.status_code} {code}, "
            f"documented: {documented['x-codes']}"
        )
        return True

    return check


OPERATIONS = [
    ("POST", "/invites"),
    ("GET", "/invites"),
    ("GET", "/invites/{id}"),
    ("POST", "/invites/{id}/resend"),
    ("POST", "/invites/{id}/revoke"),
    ("POST", "/members"),
    ("GET", "/members/{id}"),
    ("GET", "/audit-events"),
]


# Schemathesis' own pytest plumbing (from_fixture) doesn't run on pytest 9, so each
# operation's strategy is driven by Hypothesis here: valid requests, then invalid ones.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_answer_matches_the_document_and_none_is_a_server_error(
    app, api_token, method, path, mode
):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    with app.app_context():
        codes_documented = problem_code_is_documented(document("http://portal.test"))

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=25,
        # Fixed examples in CI, so a submission's result doesn't depend on luck; run with
        # API_FUZZ_RANDOM=1 to explore new ones (that is how the NUL-byte 500 was found).
        derandomize=os.environ.get("API_FUZZ_RANDOM") != "1",
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        # Every built-in check but one: "schema-valid data must be accepted" can't hold for
        # business rules (an address that is already a member, a cursor the API never gave).
        case.call_and_validate(
            headers=bearer(api_token),
            excluded_checks=[positive_data_acceptance],
            additional_checks=[codes_documented],
        )

    check()


def test_the_document_is_openapi_3_1_with_every_operation_of_the_issue(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "http://portal.test/api/v1"}]
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("/invites", "post"),
        ("/invites", "get"),
        ("/invites/{id}", "get"),
        ("/invites/{id}/resend", "post"),
        ("/invites/{id}/revoke", "post"),
        ("/members", "post"),
        ("/members/{id}", "get"),
        ("/members/{id}/referral-link", "get"),
        ("/audit-events", "get"),
        ("/reward-definitions", "get"),
        ("/benefit-definitions", "get"),
        ("/members/{id}/rewards", "get"),
        ("/applications", "get"),
        ("/applications/{id}/decision", "post"),
        ("/events", "get"),
        ("/events", "post"),
        ("/events/{id}/guests", "get"),
    }
    invite = document["components"]["schemas"]["Invite"]["properties"]
    assert set(invite) == {
        "id",
        "createdAt",
        "updatedAt",
        "invitedAt",
        "linkedAt",
        "expiresAt",
        "fullName",
        "firstName",
        "lastName",
        "email",
        "templateId",
        "inviterId",
        "userId",
        "status",
        "delivery",
        "remindedAt",
        "source",
    }


def test_the_docs_page_lists_operations_parameters_schemas_and_codes(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in (
        "<code>POST /api/v1/invites</code>",
        "<code>GET /api/v1/members/{id}</code>",
        "<code>createdAfter</code>",
        "<code>Idempotency-Key</code>",
        'id="schema-Invite"',
        'id="schema-Problem"',
        'id="schema-AuditEvent"',
        "<code>GET /api/v1/audit-events</code>",
        "<code>read-audit</code>",
        "<code>invite-on-behalf</code>",
    ):
        assert text in page, text
    for code in PROBLEM_CODES:
        assert f'id="problem-{code}"' in page
    assert "<script" not in page.replace(
        '<script src="/static/vendor/htmx.min.js" defer></script>', ""
    ).replace('<script src="/static/js/portal.js" defer></script>', "")
