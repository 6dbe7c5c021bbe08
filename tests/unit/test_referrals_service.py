"""Share links as a service: make, regenerate, switch off, open, join, caps and lifetimes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from portal import sealing
from portal.clock import utcnow
from portal.errors import AccountExists, DomainError, Invalid, NotAllowed
from portal.invites import service as invites
from portal.models import (
    AuditEvent,
    Invitation,
    Member,
    OutboxItem,
    ShareLink,
    WebhookEndpoint,
)
from portal.referrals import service as referrals
from portal.roles import MemberStatus, Role
from tests.factories import make_member, make_org, make_unit, settings


@pytest.fixture(autouse=True)
def _sealing() -> None:
    sealing.configure("test-secret-key")  # what create_app does; these tests run without one


@pytest.fixture
def org(session):
    return make_org(session, "Link Club")


@pytest.fixture
def owner(session, org):
    return make_member(
        session, org, Role.USER, unit=make_unit(session, org), full_name="Olga Owner"
    )


def digest_of(link: ShareLink) -> str:
    return invites.digest(referrals.code_of(link))


def personal(session: Session, owner: Member) -> ShareLink:
    link = referrals.ensure_default_link(session, owner, utcnow())
    session.commit()
    return link


def join(session: Session, link_or_digest, email: str = "new@example.org", **kwargs) -> Member:
    digest = link_or_digest if isinstance(link_or_digest, str) else digest_of(link_or_digest)
    member = referrals.join(
        session,
        digest,
        email=email,
        full_name=kwargs.pop("full_name", "New Person"),
        password="long enough password",
        now=kwargs.pop("now", utcnow()),
    )
    session.commit()
    return member


# --- making links ---------------------------------------------------------------------------


def test_a_member_gets_one_personal_link_whose_code_is_kept_only_as_digest_and_sealed(
    session, owner
):
    first = personal(session, owner)
    again = personal(session, owner)
    assert first.id == again.id and first.is_default
    code = referrals.code_of(first)
    assert first.code_digest == invites.digest(code)
    assert code not in first.sealed_code  # sealed, not stored in the clear


def test_labelled_links_need_a_label_of_at_most_60_characters(session, owner):
    with pytest.raises(Invalid, match="Give the link a label"):
        referrals.create_link(session, owner, label="  ", now=utcnow())
    with pytest.raises(Invalid, match="at most 60 characters"):
        referrals.create_link(session, owner, label="x" * 61, now=utcnow())
    link = referrals.create_link(session, owner, label=" Spring fair ", now=utcnow())
    assert link.label == "Spring fair" and not link.is_default


def test_only_admins_make_campaign_links(session, org, owner):
    with pytest.raises(NotAllowed, match="Only admins"):
        referrals.create_link(session, owner, label="Poster", campaign=True, now=utcnow())
    admin = make_member(session, org, Role.ADMIN_LOCAL, unit=make_unit(session, org))
    assert referrals.create_link(session, admin, label="Poster", campaign=True, now=utcnow())


def test_members_who_may_not_invite_get_no_link(session, org, owner):
    settings(session, org, min_inviter_role=Role.HR_LOCAL.value)
    with pytest.raises(NotAllowed):
        referrals.ensure_default_link(session, owner, utcnow())
    settings(session, org, min_inviter_role=Role.USER.value, share_links_enabled=False)
    with pytest.raises(NotAllowed, match="switched off"):
        referrals.ensure_default_link(session, owner, utcnow())


# --- joining --------------------------------------------------------------------------------


def test_a_join_records_an_accepted_link_invitation_like_an_email_one(session, org, owner):
    session.add(
        WebhookEndpoint(
            organization_id=org.id,
            url="https://example.org/hooks",
            event_types=["INVITE_LINKED"],
            sealed_secret=sealing.seal("s"),
            created_at=utcnow(),
            updated_at=utcnow(),
        )
    )
    link = personal(session, owner)
    member = join(session, link)
    invitation = session.exec(select(Invitation).where(Invitation.member_id == member.id)).one()
    assert invitation.status == "ACCEPTED"
    assert (invitation.source, invitation.share_link_id) == ("link", link.id)
    assert invitation.inviter_id == owner.id and invitation.unit_id == owner.unit_id
    assert member.invited_by_id == owner.id and member.invitation_id == invitation.id
    assert member.unit_id == owner.unit_id
    topics = set(session.exec(select(OutboxItem.topic)).all())
    assert {"invite_accepted", "INVITE_LINKED"} <= topics  # the owner's e-mail, the webhook
    session.refresh(link)
    assert link.joins == 1


def test_an_address_with_an_account_is_refused_and_nothing_is_counted(session, owner):
    link = personal(session, owner)
    with pytest.raises(AccountExists):
        join(session, link, email=owner.email)
    session.rollback()
    session.refresh(link)
    assert link.joins == 0
    assert session.exec(select(func.count()).select_from(Invitation)).one() == 0


def test_opening_counts_only_when_asked(session, owner):
    link = personal(session, owner)
    referrals.open_link(session, digest_of(link), utcnow())
    referrals.open_link(session, digest_of(link), utcnow(), count_open=True)
    referrals.open_link(session, digest_of(link), utcnow(), count_open=True)
    session.commit()
    session.refresh(link)
    assert link.opens == 2


# --- regenerating and switching off ---------------------------------------------------------


def test_regenerate_retires_the_old_code_and_keeps_the_counts(session, owner):
    link = personal(session, owner)
    old = digest_of(link)
    join(session, link)
    referrals.regenerate(session, owner, link, utcnow())
    session.commit()
    with pytest.raises(referrals.ShareLinkReplaced) as replaced:
        referrals.open_link(session, old, utcnow())
    assert replaced.value.message == (
        "This link was replaced by a newer one — ask Olga Owner for the new link."
    )
    assert replaced.value.status == 410
    assert referrals.open_link(session, digest_of(link), utcnow()).link.joins == 1


def test_a_switched_off_link_stops_and_can_be_switched_on(session, owner):
    link = personal(session, owner)
    referrals.switch(session, owner, link, enabled=False, now=utcnow())
    session.commit()
    with pytest.raises(referrals.ShareLinkSwitchedOff, match="Olga Owner switched this link off"):
        referrals.open_link(session, digest_of(link), utcnow())
    referrals.switch(session, owner, link, enabled=True, now=utcnow())
    session.commit()
    assert referrals.open_link(session, digest_of(link), utcnow())


def test_another_members_link_is_not_theirs_to_change(session, org, owner):
    link = personal(session, owner)
    other = make_member(session, org, Role.USER)
    with pytest.raises(DomainError, match="isn't yours"):
        referrals.regenerate(session, other, link, utcnow())
    with pytest.raises(DomainError, match="isn't yours"):
        referrals.get_own_link(session, other, link.public_id)


# --- dead ends ------------------------------------------------------------------------------


def test_an_unknown_code_is_not_found(session):
    with pytest.raises(referrals.ShareLinkNotFound) as unknown:
        referrals.open_link(session, invites.digest("nonsense"), utcnow())
    assert unknown.value.status == 404


def test_a_link_expires_after_the_organisations_lifetime_and_regenerating_renews_it(
    session, org, owner
):
    link = personal(session, owner)
    settings(session, org, share_link_lifetime_days=7)
    later = utcnow() + timedelta(days=8)
    with pytest.raises(referrals.ShareLinkExpired, match="Ask Olga Owner for the new link"):
        referrals.open_link(session, digest_of(link), later)
    referrals.regenerate(session, owner, link, later)
    session.commit()
    assert referrals.open_link(session, digest_of(link), later + timedelta(days=6))


def test_the_owner_deactivated_or_no_longer_allowed_stops_the_link(session, org, owner):
    link = personal(session, owner)
    settings(session, org, min_inviter_role=Role.HR_LOCAL.value)
    with pytest.raises(referrals.ShareLinkOwnerUnavailable, match="can no longer invite"):
        referrals.open_link(session, digest_of(link), utcnow())
    settings(session, org, min_inviter_role=Role.USER.value)
    owner.status = MemberStatus.DISABLED.value
    session.add(owner)
    session.commit()
    with pytest.raises(referrals.ShareLinkOwnerUnavailable):
        referrals.open_link(session, digest_of(link), utcnow())


def test_the_organisation_switching_links_off_stops_every_link(session, org, owner):
    link = personal(session, owner)
    settings(session, org, share_links_enabled=False)
    with pytest.raises(referrals.ShareLinkSwitchedOff, match="switched personal links off"):
        referrals.open_link(session, digest_of(link), utcnow())


def test_the_cap_stops_joins_once_reached(session, org, owner):
    link = personal(session, owner)
    settings(session, org, share_link_max_joins=1)
    join(session, link, email="first@example.org")
    with pytest.raises(referrals.ShareLinkFull, match="already been used by 1 people"):
        join(session, link, email="second@example.org")


def test_concurrent_joins_never_pass_the_cap(session, engine, org, owner):
    """Ten people at once through a link capped at three: the conditional UPDATE lets
    exactly three in (PostgreSQL re-checks the cap after each row lock is released)."""
    link = personal(session, owner)
    settings(session, org, share_link_max_joins=3)
    digest = digest_of(link)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        with Session(engine) as own:
            barrier.wait()
            try:
                join(own, digest, email=f"racer{n}@example.org", full_name=f"Racer {n}")
                result = "joined"
            except DomainError as error:
                own.rollback()
                result = error.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes.count("joined") == 3, outcomes
    assert set(outcomes) - {"joined"} == {"share_link_full"}, outcomes
    session.expire_all()
    assert session.get(ShareLink, link.id).joins == 3
    linked = select(func.count()).select_from(Invitation).where(Invitation.share_link_id == link.id)
    assert session.exec(linked).one() == 3


# --- settings -------------------------------------------------------------------------------


def test_settings_refuse_out_of_range_limits_and_are_audited(session, org):
    admin = make_member(session, org, Role.ADMIN_TENANT)
    with pytest.raises(Invalid, match="between 1 and 100,000 joins"):
        referrals.update_settings(
            session, admin, referrals.ShareLinkSettingsInput(True, 0, None), utcnow()
        )
    referrals.update_settings(
        session, admin, referrals.ShareLinkSettingsInput(False, 50, 30), utcnow()
    )
    session.commit()
    event = session.exec(select(AuditEvent)).one()
    assert event.action == "settings.share_links.updated"
    assert event.after == {
        "share_links_enabled": False,
        "share_link_max_joins": 50,
        "share_link_lifetime_days": 30,
    }
