"""What the API adds to the invitation services: acting for a token, public ids, org checks.

The rules themselves (who may invite, limits, the lifecycle) stay in portal.invites.service;
this module only decides *who* acts and translates the API's public ids. Plain functions
over a session: no Flask, no commit.
"""

from __future__ import annotations

from sqlmodel import Session, select

from portal.api.tokens import Authenticated
from portal.errors import Invalid
from portal.lookups import get_in_org
from portal.models import Invitation, Member
from portal.policy import may_manage_invitation

ON_BEHALF = "invite-on-behalf"


def acting_inviter(session: Session, auth: Authenticated, inviter_public_id: str | None) -> Member:
    """Who sends: the token's owner, or (with invite-on-behalf) another member of its org."""
    owner = auth.owner
    if not inviter_public_id or inviter_public_id == owner.public_id:
        return owner
    auth.require(ON_BEHALF)
    inviter = session.exec(
        select(Member).where(
            Member.public_id == inviter_public_id,
            Member.organization_id == auth.token.organization_id,
        )
    ).first()
    if inviter is None:
        raise Invalid("There is no member with this id in your organisation.", field="inviter_id")
    return inviter


def invitation_in_org(session: Session, organization_id: int, invite_public_id: str) -> Invitation:
    return get_in_org(session, Invitation, organization_id, invite_public_id)


def managing_actor(session: Session, auth: Authenticated, invitation: Invitation) -> Member:
    """Who resends or revokes: the owner, when the policy lets them; otherwise, for a token
    that may act on behalf of members, the invitation's own inviter. The service then
    applies the usual rules to whoever acts."""
    if may_manage_invitation(auth.owner, invitation) or not auth.has(ON_BEHALF):
        return auth.owner
    inviter = session.get(Member, invitation.inviter_id)
    if inviter is not None and inviter.organization_id == auth.token.organization_id:
        return inviter
    return auth.owner


def member_in_org(session: Session, organization_id: int, member_public_id: str) -> Member:
    return get_in_org(session, Member, organization_id, member_public_id)
