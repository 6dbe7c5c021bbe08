"""Helpers for the API tests: tokens in one line, and requests that carry them."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlmodel import Session

from portal.api import tokens
from portal.clock import utcnow
from portal.models import Member, Organization
from portal.roles import Role
from tests.factories import make_member

ALL_SCOPES = list(tokens.SCOPES)


def make_token(
    session: Session,
    owner: Member,
    scopes: list[str] | None = None,
    expires_on: date | None = None,
    admin: Member | None = None,
) -> str:
    """A token owned by `owner`, created by an admin of its organisation; the secret."""
    if admin is None:
        org = session.get(Organization, owner.organization_id)
        admin = (
            owner
            if owner.role == Role.ADMIN_TENANT
            else make_member(session, org, Role.ADMIN_TENANT)
        )
    created = tokens.create_token(
        session,
        admin,
        name="Test integration",
        owner_public_id=owner.public_id,
        scopes=ALL_SCOPES if scopes is None else scopes,
        expires_on=expires_on,
        now=utcnow(),
    )
    session.commit()
    return created.secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """A test client that sends one token with every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.token = client, token

    def get(self, path: str, **kwargs: Any):
        return self.client.get(f"/api/v1{path}", headers=bearer(self.token), **kwargs)

    def post(self, path: str, json: Any = None, headers: dict[str, str] | None = None, **kw: Any):
        return self.client.post(
            f"/api/v1{path}", json=json, headers={**bearer(self.token), **(headers or {})}, **kw
        )


def problem(response, status: int, code: str) -> dict[str, Any]:
    """Assert a problem+json answer and return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["type"].endswith(f"/api/docs#problem-{code}")
    return body


def field_errors(body: dict[str, Any]) -> dict[str, str]:
    return {error["field"]: error["message"] for error in body.get("errors", [])}
