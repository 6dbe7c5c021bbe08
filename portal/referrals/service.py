"""Personal share links (issue 11): a member's multi-use referral links, /r/<code>.

A join through a link records an ACCEPTED invitation (source `link`) and then takes the
e-mail invitation's own accept path (invites.service.complete_acceptance), so counts, the
inviter's e-mail, webhooks and the API treat both alike. Codes are looked up only by their
SHA-256 digest; each is also kept sealed (portal.sealing) so its owner can see it again.

Plain functions over a session: no Flask, no commit; refusals are DomainErrors.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from portal import sealing
from portal.audit import service as audit
from portal.email_addresses import ASCII_ONLY, MailReach, normalise_email
from portal.errors import AccountExists, Gone, Invalid, NotFound
from portal.invites import service as invites
from portal.lookups import find_in_org
from portal.models import (
    DeliveryStatus,
    Invitation,
    InvitationSettings,
    InvitationSource,
    InvitationStatus,
    Member,
    Organization,
    RetiredShareCode,
    ShareLink,
)
from portal.orgs.service import email_taken, settings_for
from portal.policy import (
    may_make_campaign_links,
    may_manage_settings,
    may_send_invitations,
    may_share_links,
    require,
)
from portal.text import day
from portal.validation import check_text

MAX_LABEL = 60
# A member's links are listed whole on the dashboard: this bounds that list.
MAX_LINKS_PER_MEMBER = 20
JOINED_PAGE_SIZE = 25
# The settings' bounds (the form and the service say the same).
MAX_JOINS_CAP = 100_000
MAX_LIFETIME_DAYS = 3650


# --- dead ends: each its own page (410 for a link that existed, 404 for one that never did)


class ShareLinkNotFound(NotFound):
    code = "share_link_not_found"
    title = "Link not found"


class ShareLinkReplaced(Gone):
    code = "share_link_replaced"
    title = "This link was replaced"


class ShareLinkSwitchedOff(Gone):
    code = "share_link_switched_off"
    title = "This link is switched off"


class ShareLinkFull(Gone):
    code = "share_link_full"
    title = "This link has been used up"


class ShareLinkExpired(Gone):
    code = "share_link_expired"
    title = "This link has expired"


class ShareLinkOwnerUnavailable(Gone):
    code = "share_link_owner_unavailable"
    title = "This link no longer works"


# --- codes ------------------------------------------------------------------------------


def new_code() -> tuple[str, str]:
    """A code (128 bits, URL-safe) and its digest."""
    code = secrets.token_urlsafe(16)
    return code, invites.digest(code)


def link_url(base_url: str, code: str) -> str:
    return f"{base_url}/r/{code}"


def code_of(link: ShareLink) -> str:
    """The link's code, for its owner's eyes (and the API's answer about it)."""
    return sealing.unseal(link.sealed_code)


def expires_at(link: ShareLink, settings: InvitationSettings) -> datetime | None:
    """Derived from the organisation's current lifetime, so changing it applies to every
    link at once; counted from the code's (re)generation."""
    if settings.share_link_lifetime_days is None:
        return None
    return link.code_issued_at + timedelta(days=settings.share_link_lifetime_days)


# --- the owner's side ---------------------------------------------------------------------


def _check_label(label: str, required: bool) -> str:
    label = (label or "").strip()
    check_text(label, field="label", what="A label")
    if required and not label:
        raise Invalid(
            "Give the link a label, such as where you will share it (“newsletter”).",
            field="label",
        )
    if len(label) > MAX_LABEL:
        raise Invalid(
            f"A label can be at most {MAX_LABEL} characters (it has {len(label)}).", field="label"
        )
    return label


def _new_link(owner: Member, now: datetime, **fields: object) -> tuple[ShareLink, str]:
    code, code_digest = new_code()
    link = ShareLink(
        organization_id=owner.organization_id,
        owner_id=owner.id,
        code_digest=code_digest,
        sealed_code=sealing.seal(code),
        code_issued_at=now,
        created_at=now,
        updated_at=now,
        **fields,
    )
    return link, code


def ensure_default_link(session: Session, owner: Member, now: datetime) -> ShareLink:
    """The member's personal link, made on first need. A racing first visit loses on the
    partial unique index; the unit of work runs again and finds the winner's."""
    settings = settings_for(session, owner.organization_id)
    require(may_share_links(owner, settings))
    found = session.exec(
        select(ShareLink).where(ShareLink.owner_id == owner.id, ShareLink.is_default)
    ).first()
    if found is not None:
        return found
    link, _code = _new_link(owner, now, is_default=True)
    session.add(link)
    session.flush()
    return link


def create_link(
    session: Session,
    actor: Member,
    *,
    label: str,
    campaign: bool = False,
    now: datetime,
) -> ShareLink:
    """Another labelled link ("newsletter", "spring fair"); admins may mark it a campaign."""
    settings = settings_for(session, actor.organization_id)
    require(may_share_links(actor, settings))
    if campaign:
        require(may_make_campaign_links(actor))
    label = _check_label(label, required=True)
    count = session.exec(
        select(func.count()).select_from(ShareLink).where(ShareLink.owner_id == actor.id)
    ).one()
    if count >= MAX_LINKS_PER_MEMBER:
        raise Invalid(
            f"You already have {MAX_LINKS_PER_MEMBER} links, the most one member can have. "
            "Switch off one you no longer use and relabel it, or reuse one.",
            field="label",
        )
    link, _code = _new_link(actor, now, label=label, campaign=campaign)
    session.add(link)
    session.flush()
    return link


def links_of(session: Session, owner: Member) -> list[ShareLink]:
    """Every link of the member, personal link first, then newest first: one query, the
    counters are on the rows (the list is bounded by MAX_LINKS_PER_MEMBER)."""
    return list(
        session.exec(
            select(ShareLink)
            .where(
                ShareLink.organization_id == owner.organization_id,
                ShareLink.owner_id == owner.id,
            )
            .order_by(ShareLink.is_default.desc(), ShareLink.id.desc())
            .limit(MAX_LINKS_PER_MEMBER)
        ).all()
    )


def get_own_link(session: Session, actor: Member, public_id: str) -> ShareLink:
    """One of the actor's links; anyone else's reads as not there."""
    link = find_in_org(session, ShareLink, actor.organization_id, public_id)
    if link is None or link.owner_id != actor.id:
        raise NotFound("There is no such link, or it isn't yours.")
    return link


def regenerate(session: Session, actor: Member, link: ShareLink, now: datetime) -> ShareLink:
    """A fresh code; the old one stops working and says it was replaced. The link keeps its
    label and its counts, and its lifetime starts again."""
    if link.owner_id != actor.id:
        raise NotFound("There is no such link, or it isn't yours.")
    require(may_share_links(actor, settings_for(session, actor.organization_id)))
    session.add(RetiredShareCode(digest=link.code_digest, share_link_id=link.id, retired_at=now))
    code, link.code_digest = new_code()
    link.sealed_code = sealing.seal(code)
    link.code_issued_at = link.updated_at = now
    session.add(link)
    session.flush()
    return link


def switch(
    session: Session, actor: Member, link: ShareLink, *, enabled: bool, now: datetime
) -> ShareLink:
    """Switch a link off (it answers "switched off"), or on again. Off rather than deleted:
    the members who joined through it keep pointing at it."""
    if link.owner_id != actor.id:
        raise NotFound("There is no such link, or it isn't yours.")
    if enabled:
        require(may_share_links(actor, settings_for(session, actor.organization_id)))
    link.enabled = enabled
    link.updated_at = now
    session.add(link)
    return link


@dataclass(frozen=True)
class Joined:
    invitation: Invitation
    member: Member


@dataclass(frozen=True)
class JoinedPage:
    rows: list[Joined]
    next_after: int | None  # the "Load more" cursor (an invitation id), None at the end


def joined_through(
    session: Session, actor: Member, link: ShareLink, after: int | None = None
) -> JoinedPage:
    """Who joined through the link, newest first, a page at a time (keyset on the
    invitation's id, served by ix_invitation_share_link_id): one query."""
    if link.owner_id != actor.id:
        raise NotFound("There is no such link, or it isn't yours.")
    statement = (
        select(Invitation, Member)
        .join(Member, Member.id == Invitation.member_id)
        .where(
            Invitation.share_link_id == link.id,
            Invitation.organization_id == actor.organization_id,
        )
    )
    if after is not None:
        statement = statement.where(Invitation.id < after)
    found = session.exec(statement.order_by(Invitation.id.desc()).limit(JOINED_PAGE_SIZE + 1))
    rows = [Joined(invitation, member) for invitation, member in found.all()]
    more = len(rows) > JOINED_PAGE_SIZE
    rows = rows[:JOINED_PAGE_SIZE]
    return JoinedPage(rows, rows[-1].invitation.id if more else None)


# --- the visitor's side -------------------------------------------------------------------


@dataclass(frozen=True)
class ShareLanding:
    link: ShareLink
    organization: Organization
    owner: Member
    settings: InvitationSettings


def open_link(
    session: Session, code_digest: str, now: datetime, *, count_open: bool = False
) -> ShareLanding:
    """Check a link, in one query for what its page shows; each dead end has its own
    error. With `count_open`, the visit is counted (one UPDATE, no read-modify-write)."""
    found = session.exec(
        select(ShareLink, Organization, Member, InvitationSettings)
        .join(Organization, Organization.id == ShareLink.organization_id)
        .join(Member, Member.id == ShareLink.owner_id)
        .join(InvitationSettings, InvitationSettings.organization_id == ShareLink.organization_id)
        .where(ShareLink.code_digest == code_digest)
    ).first()
    if found is None:
        retired = session.get(RetiredShareCode, code_digest)
        owner = None
        if retired is not None:
            owner = session.exec(
                select(Member)
                .join(ShareLink, ShareLink.owner_id == Member.id)
                .where(ShareLink.id == retired.share_link_id)
            ).first()
        if owner is not None:
            raise ShareLinkReplaced(
                f"This link was replaced by a newer one — ask {owner.full_name} for the new link."
            )
        raise ShareLinkNotFound(
            "This link isn't valid. Check that you copied the whole link, or ask the person "
            "who shared it for a new one."
        )
    link, organization, owner, settings = found
    if not settings.share_links_enabled:
        raise ShareLinkSwitchedOff(
            f"{organization.name} has switched personal links off, so this link no longer "
            f"works. Ask {owner.full_name} to send you an invitation by e-mail instead."
        )
    if not settings.enabled:
        raise ShareLinkSwitchedOff(
            f"{organization.name} isn't taking new members by invitation at the moment, so "
            f"this link doesn't work now. Ask {owner.full_name} about it."
        )
    if not link.enabled:
        raise ShareLinkSwitchedOff(
            f"{owner.full_name} switched this link off. Ask them for a new link or an "
            "invitation by e-mail."
        )
    if not may_send_invitations(owner, settings):
        # Deactivated, or their role may no longer invite: their links stop with them.
        raise ShareLinkOwnerUnavailable(
            f"This link was shared by {owner.full_name}, who can no longer invite people to "
            f"{organization.name}. Ask another member of {organization.name} to invite you."
        )
    if (ends := expires_at(link, settings)) is not None and ends <= now:
        raise ShareLinkExpired(
            f"This link expired on {day(ends)}. Ask {owner.full_name} for the new link."
        )
    if settings.share_link_max_joins is not None and link.joins >= settings.share_link_max_joins:
        raise ShareLinkFull(
            f"This link has already been used by {link.joins:,} people, the most "
            f"{organization.name} allows for one link. Ask {owner.full_name} for another "
            "link or an invitation by e-mail."
        )
    if count_open:
        session.execute(
            update(ShareLink).where(ShareLink.id == link.id).values(opens=ShareLink.opens + 1)
        )
    return ShareLanding(link, organization, owner, settings)


def join(
    session: Session,
    code_digest: str,
    *,
    email: str,
    full_name: str,
    password: str | None,
    now: datetime,
    reach: MailReach = ASCII_ONLY,
    device_digest: str | None = None,
) -> Member:
    """Join through a share link: the link's join count is raised by one conditional UPDATE
    (enabled, under the cap), so concurrent joins can't pass the cap; then an ACCEPTED
    invitation (source `link`) is recorded and the e-mail invitation's accept path does
    the rest. Any refusal rolls all of it back."""
    landing = open_link(session, code_digest, now)
    link, settings = landing.link, landing.settings
    email = normalise_email(email, reach=reach, purpose="used")
    if email_taken(session, email):
        raise AccountExists(f"{email} already has an account. Log in instead.", field="email")
    conditions = [ShareLink.id == link.id, ShareLink.code_digest == code_digest, ShareLink.enabled]
    if (cap := settings.share_link_max_joins) is not None:
        conditions.append(ShareLink.joins < cap)
    claimed = session.execute(
        update(ShareLink).where(*conditions).values(joins=ShareLink.joins + 1)
    ).rowcount
    if claimed != 1:
        session.refresh(link)
        open_link(session, code_digest, now)  # says why (full, switched off, replaced)
        raise ShareLinkFull("This link has just been used up. Ask for another link.")
    owner = landing.owner
    invitation = Invitation(
        organization_id=link.organization_id,
        unit_id=owner.unit_id,
        inviter_id=owner.id,
        email=email,
        full_name=(full_name or "").strip()[: invites.MAX_NAME],
        # A link join has no secret of its own; the column is unique and never empty.
        secret_digest=invites.digest(secrets.token_urlsafe(32)),
        status=InvitationStatus.ACCEPTED.value,
        created_at=now,
        updated_at=now,
        sent_at=now,
        expires_at=now,
        first_visited_at=now,
        accepted_at=now,
        delivery_status=DeliveryStatus.SENT.value,  # nothing to deliver
        source=InvitationSource.LINK.value,
        share_link_id=link.id,
    )
    session.add(invitation)
    session.flush()
    return invites.complete_acceptance(
        session,
        invitation,
        landing.organization,
        email=email,
        full_name=full_name,
        password=password,
        now=now,
        reach=None,  # checked above, with the link's own words
        device_digest=device_digest,
    )


# --- the organisation's settings ----------------------------------------------------------


@dataclass(frozen=True)
class ShareLinkSettingsInput:
    enabled: bool
    max_joins: int | None
    lifetime_days: int | None


def _check_optional_count(value: object, highest: int, field: str, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"Enter a whole number of {what}, or leave it empty.", field=field)
    if not 1 <= value <= highest:
        raise Invalid(
            f"Choose between 1 and {highest:,} {what}, or leave it empty for no limit.",
            field=field,
        )
    return value


def update_settings(
    session: Session, actor: Member, values: ShareLinkSettingsInput, now: datetime
) -> InvitationSettings:
    require(may_manage_settings(actor))
    max_joins = _check_optional_count(values.max_joins, MAX_JOINS_CAP, "max_joins", "joins")
    lifetime = _check_optional_count(
        values.lifetime_days, MAX_LIFETIME_DAYS, "lifetime_days", "days"
    )
    settings = settings_for(session, actor.organization_id)
    org = session.get(Organization, actor.organization_id)
    assert org is not None
    before = _audited(settings)
    settings.share_links_enabled = bool(values.enabled)
    settings.share_link_max_joins = max_joins
    settings.share_link_lifetime_days = lifetime
    settings.updated_at = now
    session.add(settings)
    audit.record(
        session,
        actor,
        "settings.share_links.updated",
        audit.Target("organization", org.slug, org.name),
        before=before,
        after=_audited(settings),
        now=now,
    )
    return settings


def _audited(settings: InvitationSettings) -> dict[str, object]:
    return {
        "share_links_enabled": settings.share_links_enabled,
        "share_link_max_joins": settings.share_link_max_joins,
        "share_link_lifetime_days": settings.share_link_lifetime_days,
    }


# --- the API's view of a member's link ----------------------------------------------------


@dataclass(frozen=True)
class LinkSummary:
    link: ShareLink
    code: str
    expires_at: datetime | None


def default_link_of(session: Session, member: Member, now: datetime) -> LinkSummary:
    """The member's personal link (made now if they have none yet), for a headless front
    end. Refused (not_allowed) when the member may not have one."""
    link = ensure_default_link(session, member, now)
    settings = settings_for(session, member.organization_id)
    return LinkSummary(link, code_of(link), expires_at(link, settings))
