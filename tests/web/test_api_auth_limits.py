"""The API counts failed authentications per client, so made-up tokens get no fresh buckets."""

from __future__ import annotations

from tests.web.api_support import bearer, make_token, problem


def test_failed_authentications_are_limited_per_client_whatever_token_is_sent(app, session, admin):
    app.config["API_AUTH_FAILURE_LIMIT"] = "3 per minute"
    valid = make_token(session, admin)
    guesser, neighbour = app.test_client(), app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    neighbour.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for n in range(3):
        response = guesser.get("/api/v1/invites", headers=bearer(f"mpt_made-up-{n}"))
        problem(response, 401, "invalid_token")
    response = guesser.get("/api/v1/invites", headers=bearer("mpt_yet-another-made-up-one"))
    body = problem(response, 429, "rate_limited")
    assert "failed to authenticate" in body["detail"] and "Try again in" in body["detail"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    problem(guesser.get("/api/v1/invites"), 429, "rate_limited")  # no token at all: the same
    # The docs stay readable, and other clients aren't affected.
    assert guesser.get("/api/v1/openapi.json").status_code == 200
    assert neighbour.get("/api/v1/invites", headers=bearer(valid)).status_code == 200


def test_successful_requests_do_not_count_as_failed_authentications(app, client, session, admin):
    app.config["API_AUTH_FAILURE_LIMIT"] = "2 per minute"
    valid = make_token(session, admin)
    for _ in range(5):
        assert client.get("/api/v1/invites", headers=bearer(valid)).status_code == 200
    problem(client.get("/api/v1/invites", headers=bearer("mpt_made-up")), 401, "invalid_token")
    # A refusal for scope is an authenticated request, not a failed authentication.
    reader = make_token(session, admin, scopes=["read-invites"])
    for _ in range(3):
        response = client.post("/api/v1/invites", headers=bearer(reader), json={"email": "a@b.org"})
        problem(response, 403, "insufficient_scope")
    assert client.get("/api/v1/invites", headers=bearer(valid)).status_code == 200


def test_the_document_says_failed_authentications_are_rate_limited(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert "fail to authenticate per client address" in document["info"]["description"]
    for item in document["paths"].values():
        for operation in item.values():
            assert "rate_limited" in operation["responses"]["429"]["x-codes"]
