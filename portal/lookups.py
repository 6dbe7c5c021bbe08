"""Finding a row by its public id inside one organisation: the one tenant-scoped lookup.

A row of another organisation is indistinguishable from a row that doesn't exist, so no
request can learn another organisation's ids."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlmodel import Session, select

from portal.errors import NotFound
from portal.models import ApiToken, EmailTemplate, Invitation, Member, WebhookEndpoint


class _PublicRow(Protocol):
    public_id: str
    organization_id: int


Row = TypeVar("Row", bound=_PublicRow)

# What a person reads when the id names nothing in their organisation.
NOT_FOUND: dict[type, str] = {
    Invitation: "There is no invitation with this id in your organisation.",
    Member: "There is no member with this id in your organisation.",
    EmailTemplate: "There is no such e-mail template. It may have been deleted.",
    WebhookEndpoint: "There is no such webhook endpoint.",
    ApiToken: "There is no such API token.",
}


def find_in_org(
    session: Session, model: type[Row], organization_id: int, public_id: str
) -> Row | None:
    return session.exec(
        select(model).where(
            model.public_id == public_id,  # type: ignore[arg-type]
            model.organization_id == organization_id,  # type: ignore[arg-type]
        )
    ).first()


def get_in_org(
    session: Session,
    model: type[Row],
    organization_id: int,
    public_id: str,
    message: str | None = None,
) -> Row:
    """The row, or NotFound with the model's sentence (or `message`)."""
    row = find_in_org(session, model, organization_id, public_id)
    if row is None:
        raise NotFound(message or NOT_FOUND.get(model, "There is nothing with this id."))
    return row
